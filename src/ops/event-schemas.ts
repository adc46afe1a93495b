import { z } from '@hono/zod-openapi';
import { ATTEMPT_OUTCOMES, EVENT_STATUSES } from '../db/schema';
import { DELIVERY_OUTCOMES } from '../db/schema-deliveries';
import { decimalId, filterText, isoTime, pageLimit, timestamp } from './schema-fields';

// Events: the list's filters and page, one event in detail, and the bulk replay's request and answer.

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
  limit: pageLimit(),
  cursor: z
    .string()
    .regex(/^[1-9]\d{0,15}$/, 'cursor must be the next_cursor value of a previous page')
    .optional(),
});

export const IdParam = z.object({
  id: decimalId().openapi({ param: { name: 'id', in: 'path' }, example: 42 }),
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
  payload_from: z.enum(['form_payload']).optional().openapi({
    description:
      "Present when payload is not the body but the JSON it carries: form_payload, a GitHub form hook's `payload` parameter (body is then the form text as stored, or the masked JSON when the source masks fields)",
  }),
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

// Strict, unlike the list's query: a key it does not know (`sourse`, `filters`) would otherwise be
// dropped, and with dry_run false a mistyped filter replayed every event instead of the ones meant.
const unknownKeys = (keys: string) => ({
  error: (issue: { code: string; keys?: string[] }) =>
    issue.code === 'unrecognized_keys' ? `unknown key(s) ${issue.keys!.join(', ')}; use ${keys}` : undefined,
});

export const BulkReplayBody = z
  .strictObject(
    {
      filter: z
        .strictObject(EventMatchQuery.shape, unknownKeys(Object.keys(EventMatchQuery.shape).join(', ')))
        .default({}),
      dry_run: z.boolean().default(true).openapi({ description: 'Only count (default). Send false to replay.' }),
    },
    unknownKeys('filter and dry_run'),
  )
  .openapi('BulkReplayRequest');

export const BulkReplayResult = z
  .object({
    dry_run: z.boolean(),
    matched: z.number().int(),
    replayed: z.number().int(),
    not_searched: NotSearched.optional(),
  })
  .openapi('BulkReplayResult');
