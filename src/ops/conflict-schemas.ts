import { z } from '@hono/zod-openapi';
import { EventDetail, ListQuery } from './event-schemas';
import { decimalId, filterText, isoTime, timestamp } from './schema-fields';

// Conflicts: deliveries that repeated a stored event's id with other bytes.

export const ConflictQuery = z.object({
  source: filterText(200).optional().openapi({ example: 'shopify' }),
  event_id: decimalId().optional().openapi({ description: 'Only conflicts of this stored event', example: 42 }),
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
  payload_from: EventDetail.shape.payload_from,
}).openapi('ConflictDetail');
