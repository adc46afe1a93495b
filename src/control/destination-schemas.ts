import { z } from '@hono/zod-openapi';

// The destination API's requests and answers as OpenAPI documents them (src/control/destination-routes.ts);
// the service checks the bodies themselves (src/control/destination-input.ts).

export const NameParam = z.object({
  name: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'must be a destination name (a-z, 0-9, "-", "_")')
    .openapi({ param: { name: 'name', in: 'path' }, example: 'billing' }),
});
const Delivery = z.object({
  event_id: z.number(),
  attempt: z.number(),
  at: z.string(),
  outcome: z.string(),
  http_status: z.number().nullable(),
  error: z.string().nullable(),
  rule_version: z.number().nullable(),
});
// Loose here, checked by the service, so every problem is a 400 invalid_transform saying where.
const TransformDoc = z
  .object({ language: z.string().openapi({ description: '"jsonata" or "javascript"' }), code: z.string() })
  .openapi({
    description:
      'Computes the body posted instead of the envelope (docs/destinations.md#transformations); checked when saved: 400 invalid_transform with the position',
    example: { language: 'jsonata', code: '{"order": body.id, "total": $number(body.total_price)}' },
  });
const RateLimitDoc = z
  .object({ per_second: z.number().int().optional(), per_minute: z.number().int().optional() })
  .openapi({
    description: 'Deliveries beyond it wait (held, not counted); docs/destinations.md#protecting-destinations',
  });
const CircuitDoc = z
  .object({ failure_threshold: z.number().int(), cooldown_seconds: z.number().int() })
  .openapi({ description: 'Opens after failure_threshold consecutive failures; one probe after cooldown_seconds' });
export const Destination = z
  .object({
    name: z.string(),
    managed_by: z
      .enum(['file', 'database'])
      .openapi({ description: '"file": declared in GATEWAY_CONFIG, read-only here' }),
    origin: z.enum(['api', 'apply']).nullable(),
    url: z.string().openapi({
      description: 'Below admin, user info, query values and fragment are "[redacted]" (they may be credentials)',
    }),
    timeout_ms: z.number(),
    header_names: z.array(z.string()).openapi({ description: 'Header values may be credentials: never shown' }),
    headers_fingerprint: z
      .string()
      .nullable()
      .openapi({ description: 'Changes when any header value changes; reveals none' }),
    sources: z.array(z.string()),
    filter: z
      .record(z.string(), z.unknown())
      .nullable()
      .openapi({ description: 'Only matching events are posted; null: every event' }),
    transform: TransformDoc.nullable(),
    rule_version: z.number().nullable().openapi({
      description: 'version at the last change of filter, transform or sources; recorded on each delivery',
    }),
    paused: z.boolean(),
    paused_reason: z
      .string()
      .nullable()
      .openapi({ description: 'Set when the gateway paused it itself: "gone: HTTP 410"' }),
    rate_limit: RateLimitDoc.nullable(),
    circuit: CircuitDoc,
    circuit_state: z
      .object({
        state: z.enum(['closed', 'open', 'half_open']),
        consecutive_failures: z.number(),
        opened_at: z.string().nullable(),
      })
      .openapi({ description: 'Shared by every instance; open: deliveries are held until a probe succeeds' }),
    version: z.number().nullable().openapi({ description: 'Also sent as the ETag; send it back in If-Match' }),
    fingerprint: z.string().openapi({ description: 'Of the signing secret' }),
    fingerprint_created_at: z.string().nullable(),
    problem: z.string().nullable(),
    health: z.object({
      delivered: z.number().openapi({ description: 'Deliveries acknowledged (2xx) in the last 24 hours' }),
      failed: z.number().openapi({ description: 'Deliveries that failed in the last 24 hours' }),
      held: z.number().openapi({ description: 'Events waiting for a resume' }),
      last_deliveries: z.array(Delivery),
    }),
    created_at: z.string().nullable(),
    updated_at: z.string().nullable(),
  })
  .openapi('Destination');
const FilterDoc = z.record(z.string(), z.unknown()).openapi({
  description: 'Only matching events are posted (docs/destinations.md#filters); checked when saved',
  example: { topic: 'orders/*', body: { total: { $gt: 100 } } },
});
export const DestinationInput = z
  .object({
    name: z.string(),
    url: z.string(),
    secret: z.string().optional().openapi({ description: 'whsec_…; generated (and returned once) when left out' }),
    timeout_ms: z.number().int().optional(),
    headers: z
      .record(z.string(), z.string())
      .optional()
      .openapi({ description: 'Sent with every delivery; stored encrypted, never shown' }),
    sources: z.array(z.string()).optional().openapi({ description: 'Push sources whose events go here' }),
    filter: FilterDoc.optional(),
    transform: TransformDoc.optional(),
    rate_limit: RateLimitDoc.optional(),
    circuit: CircuitDoc.partial().optional(),
  })
  .openapi('DestinationInput');
export const DestinationPatch = z
  .object({
    url: z.string().optional(),
    timeout_ms: z.number().int().optional(),
    headers: z
      .record(z.string(), z.string())
      .nullable()
      .optional()
      .openapi({ description: 'Replaces every header; null removes them' }),
    sources: z.array(z.string()).optional(),
    filter: FilterDoc.nullable().optional().openapi({ description: 'Replaces the filter; null removes it' }),
    transform: TransformDoc.nullable()
      .optional()
      .openapi({ description: 'Replaces the transformation; null removes it' }),
    rate_limit: RateLimitDoc.nullable().optional(),
    circuit: CircuitDoc.partial().nullable().optional(),
  })
  .openapi('DestinationPatch');
export const RotateBody = z
  .object({
    secret: z
      .string()
      .optional()
      .openapi({ description: 'The new whsec_ secret; generated (and returned once) when left out' }),
  })
  .strict();
export const WithSecret = Destination.extend({
  secret: z.string().optional().openapi({ description: 'Shown once: only when the gateway generated it' }),
});
