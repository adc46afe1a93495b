import { z } from '@hono/zod-openapi';
import { ATTEMPT_OUTCOMES, DELIVERY_OUTCOMES, EVENT_STATUSES } from '../db/schema';

// The ops API's request and response shapes; they drive validation and the OpenAPI document.

export const timestamp = z.string().openapi({ format: 'date-time', example: '2026-11-23T10:15:00.000Z' });
// PostgreSQL has no year 0 and refuses it (0000-01-01T00:00:00Z passed the format and answered 500).
export const isoTime = z.iso
  .datetime({ offset: true, error: 'must be an ISO 8601 time, e.g. 2026-11-23T10:00:00Z' })
  // NaN for text that is no time at all: the format's own message says that, this one would only add noise.
  .refine((text) => !(new Date(text).getUTCFullYear() < 1), 'must be in the year 0001 or later');

/**
 * Filter text is compared with stored text, which cannot hold NUL: refused here with the
 * parameter's name instead of failing in the database.
 */
export const filterText = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine((text) => !text.includes('\u0000'), 'must not contain a NUL character');

const MASKED_FILTER =
  'Below admin, sources that read this field from a masked payload path are never matched: with their name in `source` the request is refused (403 filter_not_allowed), without `source` their events are left out.';

export const EventMatchQuery = z.object({
  source: filterText(200).optional().openapi({ example: 'shopify' }),
  status: z.enum(EVENT_STATUSES).optional(),
  topic: filterText(256).optional().openapi({
    example: 'orders/create',
    description: MASKED_FILTER,
  }),
  webhook_id: filterText(512).optional().openapi({ description: MASKED_FILTER }),
  since: isoTime.optional().openapi({ description: 'Received at or after this time' }),
  until: isoTime.optional().openapi({ description: 'Received before this time' }),
  q: filterText(200).optional().openapi({
    description:
      'Payload contains this text (exact, case-sensitive). Sources that mask fields are never searched: with their name in `source` the request is refused (400 search_not_allowed), without `source` their events are left out.',
  }),
});

export const ListQuery = EventMatchQuery.extend({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z
    .string()
    .regex(/^[1-9]\d{0,15}$/, 'cursor must be the next_cursor value of a previous page')
    .optional(),
});

export const IdParam = z.object({
  id: z.coerce
    .number()
    .int()
    .positive()
    .max(Number.MAX_SAFE_INTEGER)
    .openapi({ param: { name: 'id', in: 'path' }, example: 42 }),
});

export const EventSummary = z
  .object({
    id: z.number().int(),
    source: z.string(),
    webhook_id: z.string().openapi({ description: '"[masked]" when read from a masked payload path' }),
    account: z.string().nullable().openapi({ description: '"[masked]" when read from a masked payload path' }),
    topic: z.string().openapi({ description: '"[masked]" when read from a masked payload path' }),
    status: z.enum(EVENT_STATUSES),
    attempts: z.number().int(),
    max_attempts: z.number().int(),
    next_attempt_at: timestamp.nullable(),
    locked_by: z.string().nullable(),
    locked_at: timestamp.nullable(),
    last_error: z.string().nullable(),
    received_at: timestamp,
    processed_at: timestamp.nullable(),
    size_bytes: z.number().int(),
    orderingKey: z.string().nullable().openapi({
      description:
        'Its ordering key when its source orders events ("" = the no-key lane; "[masked]" when read from a masked path); see docs/ordering.md',
    }),
    blockedBy: z.number().int().nullable().openapi({
      description: 'The id of the event at the head of its key that it waits behind; null when it is the head or done',
    }),
  })
  .openapi('EventSummary');

export const EventDetail = EventSummary.extend({
  headers: z.record(z.string(), z.string()),
  request_target: z.string().nullable().openapi({
    description:
      'The path and query string it was received at, credential-like query parameters left out (null before this was stored)',
    example: '/api/webhooks/shop?region=eu',
  }),
  payload: z.unknown().openapi({
    description:
      'The JSON body exactly as sent (every number literal as the sender wrote it: parse it with a lossless JSON parser to keep integers beyond 2^53), masked fields replaced; null when not shown as JSON (see payload_unavailable)',
  }),
  payload_unavailable: z
    .object({
      reason: z.enum(['not_utf8', 'not_json', 'nesting_too_deep', 'duplicate_keys']),
      message: z.string(),
    })
    .nullable()
    .openapi({ description: 'Why payload is null; body then carries the raw text (or a masked placeholder)' }),
  body: z.object({ encoding: z.enum(['utf8', 'base64']), data: z.string(), masked: z.boolean() }),
  attempt_log: z.array(
    z.object({
      attempt: z.number().int(),
      worker: z.string(),
      started_at: timestamp,
      finished_at: timestamp.nullable(),
      duration_ms: z.number().nullable(),
      outcome: z.enum(ATTEMPT_OUTCOMES),
      error: z.string().nullable(),
      transform_version: z.number().int().nullable().openapi({
        description:
          "The source's transform_version this attempt ran (docs/destinations.md#a-sources-transformation); 0: a GATEWAY_CONFIG source's; null: no source transformation ran",
      }),
    }),
  ),
  conflicts: z
    .object({ count: z.number().int(), href: z.string().openapi({ example: '/api/conflicts?event_id=42' }) })
    .openapi({
      description: 'Deliveries with this event’s id but other bytes, kept as conflicts (GET href lists them)',
    }),
  deliveries: z.array(
    z.object({
      destination: z.string(),
      attempt: z.number().int(),
      started_at: timestamp,
      duration_ms: z.number(),
      outcome: z.enum(DELIVERY_OUTCOMES),
      http_status: z.number().int().nullable(),
      error: z.string().nullable(),
      rule_version: z.number().int().nullable().openapi({
        description: "The destination's rule version (filter, transform, sources) used; null: file destination",
      }),
    }),
  ),
}).openapi('EventDetail');

export const NotSearched = z
  .object({
    sources: z.array(z.string()).openapi({ example: ['partner'] }),
    reason: z.literal('masked_identity'),
  })
  .openapi('NotSearched', {
    description:
      'Present only when the filter left sources out: below admin, a topic or webhook_id filter does not look at sources that read that field from a masked payload path (docs/security.md, "Filters on a masked identity")',
  });

/** The export's header carrying NotSearched as JSON (its body is only rows). */
export const NOT_SEARCHED_HEADER = 'x-not-searched';

export const EventPage = z
  .object({ events: z.array(EventSummary), next_cursor: z.string().nullable(), not_searched: NotSearched.optional() })
  .openapi('EventPage');

export const ConflictQuery = z.object({
  source: filterText(200).optional().openapi({ example: 'shopify' }),
  event_id: z.coerce
    .number()
    .int()
    .positive()
    .max(Number.MAX_SAFE_INTEGER)
    .optional()
    .openapi({ description: 'Only conflicts of this stored event', example: 42 }),
  since: isoTime.optional().openapi({ description: 'Received at or after this time' }),
  limit: ListQuery.shape.limit,
  cursor: ListQuery.shape.cursor,
});

export const ConflictSummary = z
  .object({
    id: z.number().int(),
    event_id: z.number().int().openapi({ description: 'The stored event whose id this delivery repeated' }),
    event_href: z.string().openapi({ example: '/api/events/42' }),
    source: z.string(),
    webhook_id: z.string(),
    received_at: timestamp.openapi({ description: 'When the first copy with these bytes arrived' }),
    content_sha256: z.string().openapi({ description: 'sha256 of the exact body bytes, hex' }),
    size_bytes: z.number().int(),
  })
  .openapi('ConflictSummary');

export const ConflictPage = z
  .object({ conflicts: z.array(ConflictSummary), next_cursor: z.string().nullable() })
  .openapi('ConflictPage');

export const ConflictDetail = ConflictSummary.extend({
  headers: z.record(z.string(), z.string()),
  payload: EventDetail.shape.payload,
  payload_unavailable: EventDetail.shape.payload_unavailable,
  body: EventDetail.shape.body,
}).openapi('ConflictDetail');

export const BulkReplayBody = z
  .object({
    filter: EventMatchQuery.default({}),
    dry_run: z.boolean().default(true).openapi({ description: 'Only count (default). Send false to replay.' }),
  })
  .openapi('BulkReplayRequest');

export const BulkReplayResult = z
  .object({
    dry_run: z.boolean(),
    matched: z.number().int(),
    replayed: z.number().int(),
    not_searched: NotSearched.optional(),
  })
  .openapi('BulkReplayResult');

export const Stats = z
  .object({
    window: z.object({ since: timestamp }),
    by_status: z.record(z.string(), z.number()),
    by_source: z.record(z.string(), z.record(z.string(), z.number())),
    success_rate: z.number().nullable(),
    latency_ms: z.object({ p50: z.number().nullable(), p90: z.number().nullable(), p99: z.number().nullable() }),
    retries: z.object({ events_retried: z.number(), extra_attempts: z.number() }),
    queue: z.object({
      due: z.number(),
      scheduled_retries: z.number(),
      waiting_in_order: z
        .number()
        .openapi({ description: 'Events of ordered sources waiting behind the head of their key' }),
      processing: z.number(),
      oldest_due_age_seconds: z.number().nullable(),
    }),
  })
  .openapi('Stats');

export const ErrorBody = z.object({ error: z.object({ code: z.string(), message: z.string() }) }).openapi('Error');

export const errorResponses = {
  400: { description: 'Invalid request', content: { 'application/json': { schema: ErrorBody } } },
  401: {
    description: 'Missing, unknown, revoked or expired token',
    content: { 'application/json': { schema: ErrorBody } },
  },
  403: { description: 'The token role does not allow this', content: { 'application/json': { schema: ErrorBody } } },
} as const;

const perMinute = (description: string) => z.array(z.number()).openapi({ description });
const perMinuteOrNull = (description: string) => z.array(z.number().nullable()).openapi({ description });

export const StatsSeriesQuery = z.object({
  window: z
    .enum(['1h', '6h', '24h'])
    .default('1h')
    .openapi({ description: 'How far back, ending with the current minute' }),
  source: z.string().min(1).max(200).optional().openapi({ description: 'Only this source; all sources when absent' }),
});

export const StatsSeries = z
  .object({
    window: z.enum(['1h', '6h', '24h']),
    source: z.string().nullable(),
    step_seconds: z.number().int(),
    sources: z.array(z.string()).openapi({ description: 'Sources with counts in the window' }),
    series: z.object({
      t: perMinute('Start of each minute, Unix seconds, oldest first'),
      received: perMinute('Requests accepted and stored'),
      completed: perMinute('Events completed'),
      failed: perMinute('Events failed for good'),
      rejected: perMinute('Requests refused (bad signature, too large, rate limited, …)'),
      latency_p50_ms: perMinuteOrNull('Median receive→completed latency of the events completed that minute'),
      latency_p99_ms: perMinuteOrNull('99th percentile of the same'),
      backlog: perMinuteOrNull('Due events waiting (largest sample that minute); null when not sampled'),
    }),
  })
  .openapi('StatsSeries');
