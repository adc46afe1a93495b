import { isLosslessNumber } from 'lossless-json';
import { numberOrExact } from '../json/exact-values';

// A source's tenant_context is stored, shown (GET /api/sources/{name}) and written into every
// envelope as the plain numbers JSON.parse reads: a number no double holds (a Shopify id,
// 820982911946154508) silently became another (820982911946154500). Such a number is refused when
// the source is saved instead (API and config file alike); numbers a double holds exactly
// (820982911946154, 1.5, 1e3) pass unchanged. Keeping the digits end to end would need exact
// numbers in the stored spec, its views, the audit log, apply's comparisons, the CLI and the UI.
// JSON Schemas (`schemas`) are left as they are: their rounding is documented
// (docs/destinations.md#payload-schemas-and-big-numbers), and a bound written as a string is no bound.
/**
 * Each number under an entry's tenant_context that a JavaScript number does not hold
 * exactly, as "path: what to do". `entry` is read exactly: a LosslessNumber (JSON, parseExact) or a
 * bigint (YAML's intAsBigInt) holds such a number. Empty when there is none.
 */
export function inexactNumbers(entry: unknown): string[] {
  const found: string[] = [];
  if (isObject(entry) && entry.tenant_context !== undefined) walk(entry.tenant_context, 'tenant_context', found);
  return found;
}

function walk(value: unknown, path: string, found: string[]): void {
  const literal = isLosslessNumber(value) ? value.value : typeof value === 'bigint' ? value.toString() : undefined;
  if (literal !== undefined) {
    if (typeof numberOrExact(literal) !== 'number') found.push(problem(path, literal));
  } else if (Array.isArray(value)) {
    value.forEach((item, i) => walk(item, `${path}[${i}]`, found));
  } else if (isObject(value)) {
    for (const [key, item] of Object.entries(value)) walk(item, `${path}.${key}`, found);
  }
}

const problem = (path: string, literal: string) =>
  `${path}: ${literal} is beyond what a JSON number holds exactly and would be stored as ${stored(literal)}; write it as a string, e.g. "${literal}"`;

/** What JSON.parse makes of it, as JSON writes it back (1e400: null). */
const stored = (literal: string) => JSON.stringify(Number(literal));

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !isLosslessNumber(v);
