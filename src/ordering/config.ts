import { z } from 'zod';

/**
 * A source's per-key ordering (docs/ordering.md): events with the same key are processed one at a
 * time, in the order the gateway stored them. Keys are the contract's (camelCase) in the config
 * file, the runtime source API and `apply -f` alike.
 */
export interface OrderingConfig {
  key: { jsonPath: string } | { header: string };
  /** A head that fails for good: 'continue' lets the rest of its key proceed, 'block' holds it until skipped or replayed. */
  onFailure: 'continue' | 'block';
  /** An event without the key: processed on its own, unordered ('own_lane'), or in the source's shared no-key lane. */
  missingKey: 'own_lane' | 'no_key_lane';
}

/** One step of a parsed JSON path: an object member or an array index. */
export type PathStep = string | number;

const MAX_PATH_CHARS = 256;
const MAX_PATH_STEPS = 32;

/**
 * Parses `$.order.id`, `$.items[0].sku`, `$["odd key"]`: the subset of JSONPath that names one value
 * (no wildcards, filters or recursion — an ordering key is one value). Throws with the offset of
 * the first problem.
 */
export function parseJsonPath(path: string): PathStep[] {
  if (path.length > MAX_PATH_CHARS) throw new Error(`longer than ${MAX_PATH_CHARS} characters`);
  if (!path.startsWith('$')) throw new Error('must start with $ (e.g. $.order_id) at offset 0');
  const steps: PathStep[] = [];
  let i = 1;
  while (i < path.length) {
    if (steps.length >= MAX_PATH_STEPS) throw new Error(`more than ${MAX_PATH_STEPS} steps`);
    const at = i;
    if (path[i] === '.') {
      const name = /^[^.[\]\s]+/.exec(path.slice(i + 1))?.[0];
      if (!name) throw new Error(`expected a member name after "." at offset ${at}`);
      steps.push(name);
      i += 1 + name.length;
    } else if (path[i] === '[') {
      const index = /^\[(\d{1,9})\]/.exec(path.slice(i));
      const quoted = /^\[("(?:[^"\\]|\\.)*"|'[^'\\]*')\]/.exec(path.slice(i));
      if (index) {
        steps.push(Number(index[1]));
        i += index[0].length;
      } else if (quoted) {
        const text = quoted[1]!;
        steps.push(text.startsWith('"') ? (JSON.parse(text) as string) : text.slice(1, -1));
        i += quoted[0].length;
      } else throw new Error(`expected [<index>] or ["<name>"] at offset ${at}`);
    } else throw new Error(`unexpected "${path[i]}" at offset ${at}: use .name, [0] or ["name"]`);
  }
  if (steps.length === 0) throw new Error('names the whole body; name one value, e.g. $.order_id');
  return steps;
}

const jsonPath = z.string().superRefine((path, ctx) => {
  try {
    parseJsonPath(path);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `not a usable JSON path: ${(err as Error).message}` });
  }
});

/** The `ordering` key of a source entry (config file, runtime source API, apply -f). */
export const orderingSchema = z.strictObject({
  key: z.union(
    [
      z.strictObject({ jsonPath }),
      z.strictObject({
        header: z
          .string()
          .regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$/, 'must be an HTTP header name (e.g. x-order-id)')
          .transform((name) => name.toLowerCase()),
      }),
    ],
    { error: 'must be { "jsonPath": "$.order_id" } or { "header": "x-order-id" }' },
  ),
  onFailure: z.enum(['continue', 'block']).default('continue'),
  missingKey: z.enum(['own_lane', 'no_key_lane']).default('own_lane'),
});
