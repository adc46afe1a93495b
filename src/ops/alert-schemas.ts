import { z } from '@hono/zod-openapi';
import { ALERT_CHANNEL_TYPES, ALERT_KINDS, ALERT_STATUSES } from '../db/schema-alerts';
import { decimalId, pageLimit } from './schema-fields';
import { timestamp } from './schemas';

// Shapes of the /api/alerts routes. Rule and channel bodies are validated by src/alerts/config.ts
// (the same schemas as the config file's `alerts:` section); these describe them for OpenAPI.

const cursor = z
  .string()
  .regex(/^[1-9]\d{0,15}$/, 'cursor must be the next_cursor value of a previous page')
  .optional();

export const AlertListQuery = z.object({
  status: z.enum(ALERT_STATUSES).optional(),
  rule: z.string().min(1).max(63).optional().openapi({ description: 'A rule name' }),
  limit: pageLimit(),
  cursor,
});

export const AlertIdParam = z.object({
  id: decimalId().openapi({ param: { name: 'id', in: 'path' } }),
});

export const Alert = z
  .object({
    id: z.number().int(),
    rule: z.string(),
    kind: z.enum(ALERT_KINDS),
    condition: z
      .string()
      .openapi({ description: 'What the alert is about: a source, a destination, or * for the whole backlog' }),
    status: z.enum(ALERT_STATUSES),
    summary: z.string(),
    opened_at: timestamp,
    resolved_at: timestamp.nullable(),
    opened_notified_at: timestamp.nullable(),
    resolved_notified_at: timestamp.nullable(),
    notify_error: z
      .string()
      .nullable()
      .openapi({ description: 'Why the last notice failed; it is retried every tick (up to 10 times)' }),
  })
  .openapi('Alert');

export const AlertPage = z.object({ alerts: z.array(Alert), next_cursor: z.string().nullable() }).openapi('AlertPage');

export const AlertRuleBody = z
  .object({
    name: z.string().openapi({ example: 'shopify-signatures' }),
    kind: z.enum(ALERT_KINDS),
    params: z
      .record(z.string(), z.unknown())
      .optional()
      .openapi({
        description:
          'event_failed: source?, window_minutes (15); destination_failing: minutes (5); backlog_age: source?, older_than_seconds (300); signature_failures: source?, count (10), minutes (5); poll_failing: source?; destination_circuit_open: destination?',
        example: { source: 'shopify', count: 10, minutes: 5 },
      }),
    channels: z.array(z.string()).optional().openapi({ description: 'Channel names' }),
    enabled: z.boolean().optional(),
  })
  .openapi('AlertRuleRequest');

export const AlertRule = z
  .object({
    id: z.number().int(),
    name: z.string(),
    kind: z.enum(ALERT_KINDS),
    params: z.record(z.string(), z.unknown()),
    channels: z.array(z.string()),
    enabled: z.boolean(),
    version: z
      .number()
      .int()
      .openapi({ description: 'Also sent as the ETag; send it back in If-Match to change it only if no one else has' }),
    created_at: timestamp,
    updated_at: timestamp,
  })
  .openapi('AlertRule');

export const AlertChannelBody = z
  .object({
    name: z.string(),
    type: z.enum(ALERT_CHANNEL_TYPES),
    url: z.string().optional().openapi({ description: 'webhook and slack' }),
    secret: z
      .string()
      .optional()
      .openapi({ description: 'webhook: whsec_… Standard Webhooks signing secret (write-only)' }),
    to: z
      .array(z.string())
      .optional()
      .openapi({ description: 'email: recipients (sent through alerts.smtp of the config file)' }),
  })
  .openapi('AlertChannelRequest');

export const AlertChannel = z
  .object({
    id: z.number().int(),
    name: z.string(),
    type: z.enum(ALERT_CHANNEL_TYPES),
    target: z.string().openapi({
      description:
        'Where notices go, without secrets: the URL origin only (`https://hooks.slack.com/…`: a webhook URL path may be its credential), or the recipients',
    }),
    has_secret: z.boolean(),
    secret_fingerprint: z.string().nullable().openapi({
      description:
        'First 12 hex digits of the SHA-256 of the signing secret (webhook) or of the URL (slack): shows a change, never the secret',
    }),
    url_fingerprint: z.string().nullable().openapi({
      description:
        'First 12 hex digits of the SHA-256 of the URL (webhook, slack; null for email): shows a changed path, never the path',
    }),
    version: z
      .number()
      .int()
      .openapi({ description: 'Also sent as the ETag; send it back in If-Match to change it only if no one else has' }),
    created_at: timestamp,
  })
  .openapi('AlertChannel');

export const AlertRuleList = z.object({ rules: z.array(AlertRule) }).openapi('AlertRuleList');
export const AlertChannelList = z.object({ channels: z.array(AlertChannel) }).openapi('AlertChannelList');

// OpenAPI pieces shared by the rule and channel routes.
export const bearer = [{ opsToken: [] }];
export const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});
export const body = <T extends z.ZodType>(schema: T) => ({
  body: { content: { 'application/json': { schema } }, required: true },
});
export const conflict = { 409: { description: 'The name is taken, or the channel is still used by a rule' } };
export const stale = { 412: { description: 'If-Match does not match the current version: GET it again' } };
