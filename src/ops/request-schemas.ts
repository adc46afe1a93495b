import { z } from '@hono/zod-openapi';
import { pageLimit } from './schema-fields';
import { isoTime, timestamp } from './schemas';

// Shapes of GET /api/requests and /api/requests/last (the rejected-request log).

export const RequestListQuery = z.object({
  source: z.string().min(1).max(63).optional(),
  cause: z.string().min(1).max(63).optional().openapi({ description: 'The rejection code, e.g. invalid_signature' }),
  since: isoTime.optional(),
  until: isoTime.optional(),
  limit: pageLimit(),
  cursor: z
    .string()
    .regex(/^[1-9]\d{0,15}$/, 'cursor must be the next_cursor value of a previous page')
    .optional(),
});

export const LastRequestQuery = z.object({
  source: z
    .string()
    .min(1)
    .max(63)
    .optional()
    .openapi({ description: 'One source; all configured sources without it' }),
});

export const RejectedRequest = z
  .object({
    id: z.number().int(),
    received_at: timestamp,
    source: z.string(),
    cause: z.string(),
    status: z.number().int(),
    client: z.string().nullable(),
    user_agent: z.string().nullable(),
    body_bytes: z.number().int().nullable(),
    body_sha256: z.string().nullable(),
    headers: z
      .record(z.string(), z.string())
      .openapi({ description: 'Allow-listed headers in clear; every other value is "[redacted]"' }),
    count: z
      .number()
      .int()
      .openapi({ description: 'Requests this row stands for: 1, or more for the aggregate of a minute past the cap' }),
    aggregate: z.boolean(),
  })
  .openapi('RejectedRequest');

export const RejectedRequestPage = z
  .object({ requests: z.array(RejectedRequest), next_cursor: z.string().nullable() })
  .openapi('RejectedRequestPage');

export const LastRejections = z
  .object({ sources: z.record(z.string(), RejectedRequest.nullable()) })
  .openapi('LastRejections', { description: 'Per source, its latest rejection (null: none kept)' });
