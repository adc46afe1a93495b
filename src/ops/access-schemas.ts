import { z } from '@hono/zod-openapi';
import { ROLES } from '../db/schema-access';
import { pageLimit } from './schema-fields';
import { filterText, isoTime, timestamp } from './schemas';

// Request and response shapes of the token, audit and system-log endpoints.

const cursor = z
  .string()
  .regex(/^[1-9]\d{0,15}$/, 'cursor must be the next_cursor value of a previous page')
  .optional();
const limit = pageLimit();

/** `30d`, `12h`, `90m`: how long a new token lives. */
export const DURATION = /^([1-9]\d{0,5})([mhdw])$/;

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

/** The milliseconds a DURATION names. */
export function durationMs(duration: string): number {
  const [, amount, unit] = DURATION.exec(duration)!;
  return Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS];
}

// 999999w passed the format and ended in the year 21,000, which the database cannot store: a 400
// with the database's error code instead of one naming expires_in. A century is far past any need.
const MAX_LIFETIME_MS = 36_525 * UNIT_MS.d;

export const TokenName = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9._-]{0,62}$/,
    'must be 1-63 characters: lower-case letters, digits, ".", "_" or "-", starting with a letter or digit',
  )
  .refine(
    (name) => name !== 'bootstrap' && name !== 'metrics',
    'bootstrap and metrics name the environment tokens; choose another name',
  )
  .openapi({ example: 'ci-replays' });

export const CreateTokenBody = z
  .object({
    name: TokenName,
    role: z.enum(ROLES),
    expires_in: z
      .string()
      .regex(DURATION, 'must be a number and a unit: 90m, 12h, 30d or 4w')
      .refine(
        (text) => !DURATION.test(text) || durationMs(text) <= MAX_LIFETIME_MS,
        'must be at most 100 years (36525d); leave it out for a token that does not expire',
      )
      .optional()
      .openapi({ example: '30d' }),
  })
  .strict();

export const TokenNameParam = z.object({ name: TokenName.openapi({ param: { name: 'name', in: 'path' } }) });

export const TokenView = z
  .object({
    name: z.string(),
    role: z.enum(ROLES),
    prefix: z.string().openapi({ example: 'gwt_Ab12…' }),
    created_at: timestamp,
    expires_at: timestamp.nullable(),
    last_used_at: timestamp.nullable().openapi({ description: 'Updated at most once a minute' }),
    revoked_at: timestamp.nullable(),
  })
  .openapi('Token');

export const CreatedToken = TokenView.extend({
  token: z.string().openapi({ description: 'The token itself: shown in this answer only, never again' }),
}).openapi('CreatedToken');

export const TokenList = z.object({ tokens: z.array(TokenView) }).openapi('TokenList');

export const AuditQuery = z.object({
  action: filterText(100).optional().openapi({ example: 'event.replay' }),
  actor: filterText(100).optional(),
  target: filterText(300).optional().openapi({ example: 'event:42' }),
  since: isoTime.optional(),
  until: isoTime.optional(),
});
export const AuditListQuery = AuditQuery.extend({ limit, cursor });

export const AuditEntryView = z
  .object({
    id: z.number().int(),
    at: timestamp,
    actor: z.string(),
    action: z.string(),
    target: z.string().nullable(),
    before: z.unknown().nullable(),
    after: z.unknown().nullable(),
    request_id: z.string().nullable(),
    client_address: z.string().nullable(),
  })
  .openapi('AuditEntry');
export const AuditPage = z
  .object({ entries: z.array(AuditEntryView), next_cursor: z.string().nullable() })
  .openapi('AuditPage');

export const SystemLogQuery = z.object({
  category: filterText(100).optional(),
  event_type: filterText(200).optional(),
  username: filterText(300).optional(),
  since: isoTime.optional().openapi({ description: 'Occurred at or after this time' }),
  until: isoTime.optional().openapi({ description: 'Occurred before this time' }),
});
export const SystemLogListQuery = SystemLogQuery.extend({ limit, cursor });

export const SystemLogEntryView = z
  .object({
    id: z.number().int(),
    occurred_at: timestamp,
    category: z.string(),
    event_type: z.string(),
    realm: z.string().nullable(),
    client_id: z.string().nullable(),
    user_id: z.string().nullable(),
    username: z.string().nullable(),
    ip_address: z.string().nullable(),
    error: z.string().nullable(),
    details: z.unknown().nullable(),
    source_event_id: z.number().int().nullable(),
    logged_at: timestamp,
  })
  .openapi('SystemLogEntry');
export const SystemLogPage = z
  .object({ entries: z.array(SystemLogEntryView), next_cursor: z.string().nullable() })
  .openapi('SystemLogPage');

export const ExportFormat = z.object({ format: z.enum(['ndjson', 'csv']).default('ndjson') });
