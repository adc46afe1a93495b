import { z } from 'zod';
import { orderingSchema, type OrderingConfig } from '../ordering/config';
import { payloadSchemaFromJSONSchema } from './payload-schema';
import type { Filter } from '../routing/filter';
import { validateFilter } from '../routing/filter-validation';
import { transformSchema, type Transform } from '../transform';
import type { Destination } from '../deliver/destinations';
import { MAX_BODY_BYTES_CEILING } from './env/web';

/** What a source does with its events after they are stored (config-file keys beside the provider's). */
export interface ProcessingConfig {
  /** As the forwarding handler takes them; a file destination has no rule version. */
  destinations: Omit<Destination, 'ruleVersion'>[];
  retry?: { maxAttempts?: number; baseMs?: number; maxMs?: number };
  /** Topic ('*' for any) → payload schema, converted from JSON Schema. */
  schemas: Record<string, z.ZodType>;
  mask: string[];
  tenantContext?: Record<string, unknown>;
  aggregateIdPath?: string;
  /** Ingest rate limit for this source (overrides RATE_LIMIT_PER_SECOND). */
  rateLimit?: { perSecond: number; burst: number };
  /** Per-key ordering of this source's events (docs/ordering.md). */
  ordering?: OrderingConfig;
  /** Computes the payload routing sees, before routing (docs/destinations.md#a-sources-transformation). */
  transform?: Transform;
  /** Largest request body ingest reads for this source (overrides MAX_BODY_BYTES). */
  maxBodyBytes?: number;
}

const NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const MASK_PATH = /^(?:[^.\s]+)(?:\.[^.\s]+)*$/;

/**
 * A destination's `filter` (src/routing/filter.ts), checked when saved (filter-validation.ts). The
 * message starts with the JSON path of the first problem (`filter.body.total.$gtx: unknown
 * operator`), also kept in `params.at` so the API's 400 does not name the field twice.
 */
export const filterSchema = z.custom<Filter>().superRefine((value, ctx) => {
  const check = validateFilter(value);
  if (!check.ok)
    ctx.addIssue({ code: 'custom', message: `${check.path}: ${check.message}`, params: { at: check.path } });
});

/** One destination entry (config file `destinations`, and the ops API's /api/destinations). */
export function destinationEntry(secretText: z.ZodType<string, string>) {
  return z.strictObject({
    name: z.string().regex(NAME, 'must be 1-63 characters of a-z, 0-9, "-" and "_"'),
    // Credentials in a URL end up in every error text that quotes it (fetch refuses such URLs and
    // quotes them whole): they belong in headers, which are never stored or shown.
    url: z
      .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
      .refine(
        (url) => !URL.canParse(url) || (new URL(url).username === '' && new URL(url).password === ''),
        'must not contain credentials (user:password@); send them in headers instead, e.g. headers: { authorization: "Basic <base64 of user:password>" }',
      ),
    secret: secretText.refine(
      (s) => /^whsec_[A-Za-z0-9+/]{16,}={0,2}$/.test(s),
      'must be a Standard Webhooks secret: whsec_ followed by base64 (at least 12 bytes)',
    ),
    timeout_ms: z.number().int().min(100).max(120_000).default(10_000),
    // fetch refuses a value with CR, LF or NUL at every delivery: refused here, naming the header.
    headers: z
      .record(
        z.string().regex(/^[A-Za-z0-9-]+$/),
        z.string().regex(/^[^\r\n\0]*$/, 'must not contain a line break or NUL (no HTTP header can carry one)'),
      )
      .optional(),
    filter: filterSchema.optional(),
    // docs/destinations.md#transformations: the body posted is what it computes.
    transform: transformSchema.optional(),
    rate_limit: rateLimitSchema.optional(),
    circuit: circuitSchema.optional(),
  });
}

/** A destination's rate limit (docs/destinations.md#protecting-destinations): at least one of the two. */
export const rateLimitSchema = z
  .strictObject({
    per_second: z.number().int().min(1).max(100_000).optional(),
    per_minute: z.number().int().min(1).max(6_000_000).optional(),
  })
  .refine((r) => r.per_second !== undefined || r.per_minute !== undefined, 'give per_second, per_minute or both');

/** A destination's circuit-breaker settings; each defaults (5 failures, 30 s). */
export const circuitSchema = z.strictObject({
  failure_threshold: z.number().int().min(1).max(1000).default(5),
  cooldown_seconds: z.number().int().min(1).max(86_400).default(30),
});

export type RateLimitInput = z.output<typeof rateLimitSchema>;
export type CircuitInput = z.output<typeof circuitSchema>;

/** The runtime form of a destination's protection keys (snake_case in files and the API). */
export const toProtection = (d: { rate_limit?: RateLimitInput | null; circuit?: CircuitInput | null }) => ({
  ...(d.rate_limit ? { rateLimit: { perSecond: d.rate_limit.per_second, perMinute: d.rate_limit.per_minute } } : {}),
  ...(d.circuit
    ? { circuit: { failureThreshold: d.circuit.failure_threshold, cooldownSeconds: d.circuit.cooldown_seconds } }
    : {}),
});

/**
 * The processing keys of a source, in snake_case like the rest of the file. `secretText` resolves
 * `env:VAR` exactly as source secrets do. JSON Schemas are turned into zod schemas at start-up, so a
 * schema that cannot be used stops the gateway instead of failing events later.
 */
export function processingShape(secretText: z.ZodType<string, string>) {
  const destination = destinationEntry(secretText);
  const jsonSchema = z.record(z.string(), z.unknown()).transform((schema, ctx) => {
    try {
      // Patterns run over senders' strings on the one JS thread: matched by RE2, in linear time.
      return payloadSchemaFromJSONSchema(schema);
    } catch (err) {
      ctx.addIssue({
        code: 'custom',
        message: `not a usable JSON Schema: ${err instanceof Error ? err.message : String(err)}`,
      });
      return z.NEVER;
    }
  });
  return {
    destinations: z
      .array(destination)
      .default([])
      .refine((list) => new Set(list.map((d) => d.name)).size === list.length, 'destination names must be unique'),
    retry: z
      .strictObject({
        max_attempts: z.number().int().min(1).max(100).optional(),
        base_ms: z.number().int().min(1).optional(),
        max_ms: z.number().int().min(1).optional(),
      })
      .optional(),
    schemas: z.record(z.string().min(1), jsonSchema).default({}),
    mask: z
      .array(z.string().regex(MASK_PATH, 'must be a dotted path like customer.email or items.*.price'))
      .default([]),
    tenant_context: z.record(z.string(), z.unknown()).optional(),
    aggregate_id_path: z.string().regex(MASK_PATH, 'must be a dotted path like data.object.id').optional(),
    rate_limit: z
      .strictObject({ per_second: z.number().positive(), burst: z.number().int().min(1).optional() })
      .optional(),
    ordering: orderingSchema.optional(),
    // Run by the worker before routing: filters, destinations and handlers see what it computes.
    transform: transformSchema.optional(),
    // Checked against INGEST_BODY_BUDGET_BYTES where the budget is known (src/config/body-limit-range.ts).
    max_body_bytes: z
      .number({ error: 'must be a whole number of bytes, e.g. 26214400 for 25 MiB' })
      .int('must be a whole number of bytes, e.g. 26214400 for 25 MiB')
      .min(1, 'must be at least 1 byte')
      .max(MAX_BODY_BYTES_CEILING, {
        error: `must be at most ${MAX_BODY_BYTES_CEILING} (MAX_BODY_BYTES_CEILING, 256 MiB): a larger body cannot be stored`,
      })
      .optional(),
  };
}

export const PROCESSING_KEYS = [
  'destinations',
  'retry',
  'schemas',
  'mask',
  'tenant_context',
  'aggregate_id_path',
  'rate_limit',
  'ordering',
  'transform',
  'max_body_bytes',
] as const;

type ParsedProcessing = { [K in (typeof PROCESSING_KEYS)[number]]?: unknown };

/** A parsed source's processing keys (PROCESSING_KEYS) apart from the rest (its provider's options). */
export function splitProcessingKeys(source: Record<string, unknown>): {
  processing: ParsedProcessing;
  rest: Record<string, unknown>;
} {
  const processing: Record<string, unknown> = {};
  const rest: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(source)) {
    ((PROCESSING_KEYS as readonly string[]).includes(key) ? processing : rest)[key] = value;
  }
  return { processing, rest };
}

/** A destination as the config schema parses it (snake_case, validated). */
type ParsedDestination = {
  name: string;
  url: string;
  secret: string;
  timeout_ms: number;
  headers?: Record<string, string>;
  filter?: Filter;
  transform?: Transform;
} & Parameters<typeof toProtection>[0];

/** A parsed destination in its runtime form: a source's own and the file's top-level ones alike. */
export function toDestinationConfig(d: ParsedDestination) {
  return {
    name: d.name,
    url: d.url,
    secret: d.secret,
    timeoutMs: d.timeout_ms,
    headers: d.headers,
    filter: d.filter,
    transform: d.transform,
    ...toProtection(d),
  };
}

/** Converts a source's parsed processing keys (splitProcessingKeys) to their runtime form. */
export function toProcessingConfig(parsed: ParsedProcessing): ProcessingConfig {
  const p = parsed as {
    destinations: ParsedDestination[];
    retry?: { max_attempts?: number; base_ms?: number; max_ms?: number };
    schemas: Record<string, z.ZodType>;
    mask: string[];
    tenant_context?: Record<string, unknown>;
    aggregate_id_path?: string;
    rate_limit?: { per_second: number; burst?: number };
    ordering?: OrderingConfig;
    transform?: Transform;
    max_body_bytes?: number;
  };
  return {
    destinations: p.destinations.map(toDestinationConfig),
    retry: p.retry && { maxAttempts: p.retry.max_attempts, baseMs: p.retry.base_ms, maxMs: p.retry.max_ms },
    schemas: p.schemas,
    mask: p.mask,
    tenantContext: p.tenant_context,
    aggregateIdPath: p.aggregate_id_path,
    rateLimit: p.rate_limit && {
      perSecond: p.rate_limit.per_second,
      burst: p.rate_limit.burst ?? Math.max(1, Math.ceil(p.rate_limit.per_second)),
    },
    ordering: p.ordering,
    transform: p.transform,
    maxBodyBytes: p.max_body_bytes,
  };
}
