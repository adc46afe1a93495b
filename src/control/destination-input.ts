import { z } from 'zod';
import { circuitSchema, destinationEntry, filterSchema, rateLimitSchema } from '../config/processing';
import { badRequest } from '../errors';
import { transformSchema } from '../transform';

// What the destination API accepts: the create and patch bodies, and their problems as 400s
// with a code (src/control/destination-service.ts).

export const entry = destinationEntry(z.string());
const sourcesList = z
  .array(z.string())
  .max(1000)
  .refine((l) => new Set(l).size === l.length, 'list each source once');
export const CreateInput = entry.extend({ secret: entry.shape.secret.optional(), sources: sourcesList.default([]) });
export const PatchInput = z.strictObject({
  url: entry.shape.url.optional(),
  timeout_ms: z.number().int().min(100).max(120_000).optional(),
  headers: entry.shape.headers.nullable(),
  filter: filterSchema.nullable().optional(),
  transform: transformSchema.nullable().optional(),
  rate_limit: rateLimitSchema.nullable().optional(),
  circuit: circuitSchema.nullable().optional(),
  sources: sourcesList.optional(),
});

/** A patch as parsed (every field optional; null removes headers, filter, transform, rate_limit, circuit). */
export type DestinationPatch = z.infer<typeof PatchInput>;

/** Zod's first problem as "field: what is wrong" (400 invalid_destination). */
export function parse<T>(schema: z.ZodType<T>, input: unknown): T {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = issue.path.length ? issue.path.join('.') : 'destination';
  const params = issue.code === 'custom' ? (issue.params as { code?: string } | undefined) : undefined;
  if (params?.code === 'invalid_transform' || issue.path[0] === 'transform')
    throw badRequest('invalid_transform', `${field}: ${issue.message}`);
  // A filter's message already starts with its own JSON path: "filter.body.total.$gtx: unknown operator".
  if (issue.code === 'custom' && (issue.params as { at?: string } | undefined)?.at)
    throw badRequest('invalid_destination', issue.message);
  const message =
    issue.code === 'unrecognized_keys'
      ? `unknown key(s) ${issue.keys.join(', ')}; name and secret are set at creation (rotate with POST /api/destinations/{name}/rotate-secret)`
      : issue.message;
  throw badRequest('invalid_destination', `${field}: ${message}`);
}
