import { z } from '@hono/zod-openapi';
import { decimalId } from '../ops/schema-fields';
import { errorResponses } from '../ops/schemas';
import { error } from './route-openapi';
import { DEFAULT_OVERLAP_SECONDS } from './secret-service';

// The OpenAPI schemas of `/api/sources…`: path parameters, bodies and the source as answered.
export const NameParam = z.object({
  name: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'must be a source name (a-z, 0-9, "-", "_")')
    .openapi({ param: { name: 'name', in: 'path' }, example: 'acme-shop' }),
});
export const SecretParam = NameParam.extend({
  id: decimalId(7).openapi({ param: { name: 'id', in: 'path' }, example: 7 }),
});
const Secret = z
  .object({
    id: z.number().nullable(),
    fingerprint: z.string(),
    created_at: z.string().nullable(),
    age_seconds: z.number().nullable(),
    not_after: z.string().nullable(),
    expired: z.boolean(),
  })
  .openapi('SourceSecret');
export const Source = z
  .object({
    name: z.string(),
    provider: z.string(),
    managed_by: z.enum(['file', 'database']),
    origin: z.enum(['api', 'apply']).nullable(),
    paused: z.boolean(),
    on_hold: z.number().openapi({ description: 'Stored events held while the source is paused' }),
    version: z.number().nullable().openapi({ description: 'Also sent as the ETag; send it back in If-Match' }),
    path: z.string().openapi({ example: '/api/webhooks/acme-shop' }),
    spec: z.record(z.string(), z.unknown()).nullable().openapi({
      description:
        'The entry minus name, provider and secrets (database sources); null for file sources and for callers without the admin role',
    }),
    ordering: z
      .object({
        key: z.union([z.object({ jsonPath: z.string() }), z.object({ header: z.string() })]),
        onFailure: z.enum(['continue', 'block']),
        missingKey: z.enum(['own_lane', 'no_key_lane']),
      })
      .nullable()
      .openapi({
        description:
          'Per-key ordering of its events (docs/ordering.md); set with "ordering" in the entry; null: unordered',
      }),
    transform: z
      .object({ language: z.enum(['jsonata', 'javascript']), code: z.string() })
      .nullable()
      .openapi({
        description:
          'Run by the worker before routing: filters, destinations and handlers see what it computes (docs/destinations.md#a-sources-transformation); set with "transform" in the entry, checked when saved (400 invalid_transform with the position); null: none',
      }),
    transform_version: z.number().int().nullable().openapi({
      description:
        '`version` at the last change of `transform`; each attempt records the one it ran (attempt_log[].transform_version). File sources: 0 with a transform, else null',
    }),
    max_body_bytes: z.number().int().nullable().openapi({
      description:
        'Largest request body ingest reads for it, in bytes; set with "max_body_bytes" in the entry (at most MAX_BODY_BYTES_CEILING and INGEST_BODY_BUDGET_BYTES); null: the gateway\'s MAX_BODY_BYTES',
    }),
    secrets: z.array(Secret),
    created_at: z.string().nullable(),
    updated_at: z.string().nullable(),
  })
  .openapi('Source');
export const SourceEntry = z
  .object({ name: z.string(), provider: z.string() })
  .catchall(z.unknown())
  .openapi('SourceEntry', {
    description:
      'One entry of the config file\'s "sources" (same keys, same validation). Without "secrets" one is generated and returned once.',
  });
export const SourcePatch = z
  .record(z.string(), z.unknown())
  .openapi('SourcePatch', { description: 'JSON merge patch of the entry; null removes a key' });
export const RotateBody = z
  .object({
    secret: z
      .string()
      .min(1)
      .optional()
      .openapi({ description: 'The new secret; generated (and returned once) when left out' }),
    overlap_seconds: z
      .number()
      .int()
      .min(0)
      .max(30 * 24 * 3600)
      .default(DEFAULT_OVERLAP_SECONDS)
      .openapi({ description: 'How long the secrets it replaces stay valid' }),
    keep: z
      .array(z.string().regex(/^[0-9a-f]{12}$/, "must be a secret's fingerprint (12 hex digits)"))
      .max(100)
      .optional()
      .openapi({
        description: 'Fingerprints of secrets that stay valid as they are (apply: the other secrets its file lists)',
      }),
  })
  .strict();
export const WithSecret = Source.extend({
  secret: z.string().optional().openapi({ description: 'Shown once: only when the gateway generated it' }),
});
export const Rotated = WithSecret.extend({ secret_id: z.number() });

/** The answers of a route that changes one runtime source, guarded by If-Match. */
export const guardedResponses = {
  404: error('No such source'),
  409: error('Managed by the file, or no master key'),
  412: error('If-Match does not match the current version'),
  ...errorResponses,
};
