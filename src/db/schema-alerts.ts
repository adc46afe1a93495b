import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  unique,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

const tstz = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

/**
 * Rejected inbound requests (migration 0010). A row with `aggregate_minute` set stands for
 * `repeat_count` requests of one source and cause in that minute beyond the per-minute cap: a
 * flood costs one row per source, cause and minute, not one per request.
 */
export const rejectedRequests = pgTable(
  'rejected_requests',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    receivedAt: tstz('received_at').notNull(),
    source: text('source').notNull(),
    cause: text('cause').notNull(),
    status: integer('status').notNull(),
    client: text('client'),
    userAgent: text('user_agent'),
    bodyBytes: integer('body_bytes'),
    bodySha256: text('body_sha256'),
    /** Allow-listed headers in clear, every other header's value redacted (src/ingest/redact-headers.ts). */
    headers: jsonb('headers').$type<Record<string, string>>().notNull().default({}),
    repeatCount: integer('repeat_count').notNull().default(1),
    aggregateMinute: tstz('aggregate_minute'),
  },
  (t) => [
    index('rejected_requests_received_idx').on(t.receivedAt),
    index('rejected_requests_source_id_idx').on(t.source, t.id),
    uniqueIndex('rejected_requests_aggregate_key')
      .on(t.source, t.cause, t.aggregateMinute)
      .where(sql`${t.aggregateMinute} is not null`),
  ],
);

export type RejectedRequestRow = typeof rejectedRequests.$inferSelect;

export const ALERT_CHANNEL_TYPES = ['webhook', 'slack', 'email'] as const;
export type AlertChannelType = (typeof ALERT_CHANNEL_TYPES)[number];

/** Where notices go. `config` holds the URL, the signing secret or the recipients; never returned by the API in clear. */
export const alertChannels = pgTable(
  'alert_channels',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    name: text('name').notNull(),
    type: text('type', { enum: ALERT_CHANNEL_TYPES }).notNull(),
    config: jsonb('config').$type<Record<string, unknown>>().notNull().default({}),
    /** Bumped by every change (migration 0030): the ETag, checked against If-Match. */
    version: integer('version').notNull().default(1),
    createdAt: tstz('created_at').notNull().defaultNow(),
  },
  (t) => [
    unique('alert_channels_name_key').on(t.name),
    check('alert_channels_type_check', sql`${t.type} in ('webhook', 'slack', 'email')`),
  ],
);

export const ALERT_KINDS = [
  'event_failed',
  'destination_failing',
  'backlog_age',
  'signature_failures',
  'poll_failing',
  'destination_circuit_open',
] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

/** What to watch: a kind with its thresholds (`params`) and the names of the channels to tell. */
export const alertRules = pgTable(
  'alert_rules',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    name: text('name').notNull(),
    kind: text('kind', { enum: ALERT_KINDS }).notNull(),
    params: jsonb('params').$type<Record<string, unknown>>().notNull().default({}),
    channels: jsonb('channels').$type<string[]>().notNull().default([]),
    enabled: boolean('enabled').notNull().default(true),
    /** Bumped by every change (migration 0030): the ETag, checked against If-Match. */
    version: integer('version').notNull().default(1),
    createdAt: tstz('created_at').notNull().defaultNow(),
    updatedAt: tstz('updated_at').notNull().defaultNow(),
  },
  (t) => [
    unique('alert_rules_name_key').on(t.name),
    check(
      'alert_rules_kind_check',
      sql`${t.kind} in ('event_failed', 'destination_failing', 'backlog_age', 'signature_failures', 'poll_failing', 'destination_circuit_open')`,
    ),
  ],
);

export const ALERT_STATUSES = ['open', 'resolved'] as const;

/**
 * One row per occurrence of a rule's condition (`condition_key`: a source, a destination…). The
 * partial unique index allows one open alert per rule and condition: no storms.
 */
export const alerts = pgTable(
  'alerts',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    ruleId: bigint('rule_id', { mode: 'number' })
      .notNull()
      .references(() => alertRules.id, { onDelete: 'cascade' }),
    conditionKey: text('condition_key').notNull(),
    status: text('status', { enum: ALERT_STATUSES }).notNull().default('open'),
    summary: text('summary').notNull(),
    openedAt: tstz('opened_at').notNull().defaultNow(),
    resolvedAt: tstz('resolved_at'),
    openedNotifiedAt: tstz('opened_notified_at'),
    resolvedNotifiedAt: tstz('resolved_notified_at'),
    notifyAttempts: integer('notify_attempts').notNull().default(0),
    notifyError: text('notify_error'),
  },
  (t) => [
    uniqueIndex('alerts_open_key')
      .on(t.ruleId, t.conditionKey)
      .where(sql`${t.status} = 'open'`),
    index('alerts_rule_id_idx').on(t.ruleId, t.id),
    check('alerts_status_check', sql`${t.status} in ('open', 'resolved')`),
  ],
);

export type AlertRuleRow = typeof alertRules.$inferSelect;
export type AlertChannelRow = typeof alertChannels.$inferSelect;
export type AlertRow = typeof alerts.$inferSelect;

/** One row: which instance evaluates alerts until `expires_at` (a claim row, renewed every tick). */
export const alertEvaluatorLease = pgTable(
  'alert_evaluator_lease',
  {
    id: integer('id').primaryKey(),
    holder: text('holder').notNull(),
    expiresAt: tstz('expires_at').notNull(),
  },
  (t) => [check('alert_evaluator_lease_single_row', sql`${t.id} = 1`)],
);
