import { sql } from 'drizzle-orm';
import {
  bigint,
  check,
  customType,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  unique,
  uuid,
} from 'drizzle-orm/pg-core';

/** bytea column mapped to a Node Buffer: the raw request body is kept byte for byte. */
const bytea = customType<{ data: Buffer; driverData: Buffer | Uint8Array }>({
  dataType: () => 'bytea',
  fromDriver: (value) => (Buffer.isBuffer(value) ? value : Buffer.from(value)),
});

export const EVENT_STATUSES = ['received', 'processing', 'completed', 'failed'] as const;
export type EventStatus = (typeof EVENT_STATUSES)[number];

const tstz = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

/**
 * One row per distinct inbound event: the archive (payload, final status, attempt counter) the ops
 * views read. `status = 'received'` means "due at next_attempt_at" (new events and events waiting
 * for a retry), or claimed when its queue row holds a claim: the ops views show that as
 * 'processing' (src/store/claims.ts). The worker does not search this table: it claims from
 * event_queue and writes an event once per attempt, by primary key, with the attempt's outcome
 * (docs/adr/0007-hot-queue-table.md). Rows stored before migration 0013 may still say 'processing'.
 * Partitioned by day on received_at (migration 0019, docs/adr/0008-partitioned-history.md): the
 * primary key includes received_at, the (source, webhook id) key lives in event_keys, and no
 * foreign key points here.
 */
export const webhookEvents = pgTable(
  'webhook_events',
  {
    id: bigint('id', { mode: 'number' }).generatedAlwaysAsIdentity(),
    source: text('source').notNull(),
    /** Dedupe key within the source. Scoped by account where the provider needs it (Shopify: `<shop>/<id>`). */
    webhookId: text('webhook_id').notNull(),
    /** Tenant on the provider's side (Shopify shop domain, Keycloak realm), when known. */
    account: text('account'),
    topic: text('topic').notNull(),
    status: text('status', { enum: EVENT_STATUSES }).notNull().default('received'),
    body: bytea('body').notNull(),
    /** sha256 of `body`; NULL on rows stored before migration 0006 (compared by hashing the body). */
    contentHash: bytea('content_hash'),
    /** Headers worth keeping (content type, provider ids and topic); never signatures or credentials. */
    headers: jsonb('headers').$type<Record<string, string>>().notNull().default({}),
    attempts: integer('attempts').notNull().default(0),
    maxAttempts: integer('max_attempts').notNull().default(8),
    nextAttemptAt: tstz('next_attempt_at').notNull().defaultNow(),
    lastError: text('last_error'),
    receivedAt: tstz('received_at').notNull().defaultNow(),
    processedAt: tstz('processed_at'),
    /** Set by a replay: latency statistics measure from here rather than from the first receipt. */
    replayedAt: tstz('replayed_at'),
    /**
     * Path and query string the event was received at (`/api/webhooks/shop?region=eu`), for filters on
     * `path` and `query`; credential-like and verification parameters left out, cut to 2 KiB
     * (src/ingest/request-target.ts). NULL before migration 0018.
     */
    requestTarget: text('request_target'),
    /** The event's ordering key when its source orders events (docs/ordering.md); "" = the no-key lane. */
    orderingKey: text('ordering_key'),
  },
  (t) => [
    primaryKey({ name: 'webhook_events_pkey', columns: [t.id, t.receivedAt] }),
    check('webhook_events_status_check', sql`${t.status} in ('received', 'processing', 'completed', 'failed')`),
    index('webhook_events_source_id_idx').on(t.source, t.id),
    index('webhook_events_status_id_idx').on(t.status, t.id),
    // Alert rule event_failed (migration 0010): events failed for good in the last minutes.
    index('webhook_events_failed_processed_idx')
      .on(t.processedAt)
      .where(sql`${t.status} = 'failed'`),
    // Retention keeps a day holding an event replayed within the window (src/store/partitions.ts).
    index('webhook_events_replayed_idx')
      .on(t.replayedAt)
      .where(sql`${t.replayedAt} IS NOT NULL`),
  ],
);

/**
 * The exactly-once key of webhook_events (a unique constraint of a partitioned table would have to
 * include received_at): written by the statement that inserts the event, in the same transaction,
 * and deleted with it. content_hash tells a duplicate from a conflict without reading the archive.
 */
export const eventKeys = pgTable(
  'event_keys',
  {
    source: text('source').notNull(),
    webhookId: text('webhook_id').notNull(),
    eventId: bigint('event_id', { mode: 'number' }).notNull(),
    contentHash: bytea('content_hash').notNull(),
    /** The event's received_at: finds the keys of a day whose partition retention drops. */
    receivedAt: tstz('received_at').notNull(),
  },
  (t) => [
    primaryKey({ name: 'event_keys_pkey', columns: [t.source, t.webhookId] }),
    index('event_keys_received_idx').on(t.receivedAt),
  ],
);

/**
 * The hot queue: one row per event still to process (due, waiting for a retry, or claimed), deleted
 * when the event completes or fails for good, so it stays small however much history there is.
 * Claims (SKIP LOCKED), heartbeats and lease recovery run here, and only here: a claim does not
 * touch the event's archive row, and the queue row's claim token fences outcomes
 * (docs/adr/0003-claim-tokens-for-fencing.md). attempt_id is the id the current claim's
 * processing_log row gets when the attempt ends (reserved by the claim; only read while claimed).
 */
export const eventQueue = pgTable(
  'event_queue',
  {
    // No foreign key: webhook_events is partitioned (migration 0019).
    eventId: bigint('event_id', { mode: 'number' }).primaryKey(),
    runAt: tstz('run_at').notNull().defaultNow(),
    lockedBy: text('locked_by'),
    lockedAt: tstz('locked_at'),
    /** New random token per claim: only the holder of the current token may record an outcome. */
    claimToken: uuid('claim_token'),
    /**
     * The event's partition key (migration 0019), so the claim, outcome, release and lease recovery
     * find its webhook_events row in one partition; set at ingest and replay.
     */
    receivedAt: tstz('received_at').notNull(),
    /**
     * The event's source (migration 0025): due events are counted per source, and a paused
     * source's events skipped by the claim, from the queue alone, without an archive probe each.
     */
    source: text('source').notNull(),
    attemptId: bigint('attempt_id', { mode: 'number' }),
    /** When the current attempt was claimed: its processing_log row's started_at (partition key). */
    attemptStartedAt: tstz('attempt_started_at'),
    /** The attempt number of the current claim; written to the event with the attempt's outcome. */
    attempt: integer('attempt'),
    /** Names of the paused destinations the event waits for (migrations/0012_destinations.sql). */
    heldFor: jsonb('held_for'),
    /**
     * Per-key ordering (migrations/0017_ordering.sql, docs/ordering.md): the lane `<source>:<key>`,
     * the place in it, and when a failed head started blocking it. Only a lane's head has a real
     * run_at; the others wait at 'infinity', out of the claim's reach.
     */
    orderingKey: text('ordering_key'),
    lanePos: bigint('lane_pos', { mode: 'number' }),
    blockedAt: tstz('blocked_at'),
    /**
     * Set while the event's source is paused (migration 0027, src/store/queue-parking.ts): its
     * run_at, kept here while run_at is 'infinity', out of the claim's reach; given back on resume.
     */
    parkedRunAt: tstz('parked_run_at'),
  },
  (t) => [
    index('event_queue_run_at_idx').on(t.runAt, t.eventId),
    index('event_queue_parked_idx')
      .on(t.source, t.parkedRunAt)
      .where(sql`parked_run_at IS NOT NULL`),
    index('event_queue_held_idx')
      .on(t.eventId)
      .where(sql`held_for IS NOT NULL`),
    index('event_queue_lane_idx')
      .on(t.orderingKey, t.lanePos)
      .where(sql`ordering_key IS NOT NULL`),
  ],
);

export const ATTEMPT_OUTCOMES = ['running', 'completed', 'retry', 'failed', 'abandoned'] as const;
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];

/**
 * One row per processing attempt, written once when it ends (outcome, hand-back or lease recovery)
 * with the id and start its claim reserved on the queue row; a running attempt is its queue row.
 * ('running' rows exist only from gateways before 2026-12-03, finished in place by lease recovery.)
 * Partitioned by day on started_at (migration 0019); event_id is not a foreign key.
 */
export const processingLog = pgTable(
  'processing_log',
  {
    id: bigint('id', { mode: 'number' }).generatedAlwaysAsIdentity(),
    eventId: bigint('event_id', { mode: 'number' }).notNull(),
    attempt: integer('attempt').notNull(),
    worker: text('worker').notNull(),
    startedAt: tstz('started_at').notNull().defaultNow(),
    finishedAt: tstz('finished_at'),
    outcome: text('outcome', { enum: ATTEMPT_OUTCOMES }).notNull().default('running'),
    error: text('error'),
    /** The source's transform_version this attempt ran (migration 0020); null: no source transformation. */
    transformVersion: integer('transform_version'),
  },
  (t) => [
    primaryKey({ name: 'processing_log_pkey', columns: [t.id, t.startedAt] }),
    index('processing_log_event_idx').on(t.eventId, t.id),
  ],
);

/** Security audit trail (Keycloak logins, logouts, admin operations). */
export const systemLog = pgTable(
  'system_log',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    occurredAt: tstz('occurred_at').notNull(),
    category: text('category').notNull(),
    eventType: text('event_type').notNull(),
    realm: text('realm'),
    clientId: text('client_id'),
    userId: text('user_id'),
    /** The user's name when the sender gives it (p2's authDetails.username, Keycloak's details.username). */
    username: text('username'),
    ipAddress: text('ip_address'),
    error: text('error'),
    details: jsonb('details').$type<Record<string, unknown>>(),
    // Set to null by retention when the event goes (no foreign key: webhook_events is partitioned).
    sourceEventId: bigint('source_event_id', { mode: 'number' }),
    loggedAt: tstz('logged_at').notNull().defaultNow(),
  },
  (t) => [index('system_log_occurred_idx').on(t.occurredAt), unique('system_log_source_event_key').on(t.sourceEventId)],
);

/**
 * A delivery whose (source, webhook id) matched a stored event but whose bytes differ: kept byte
 * for byte next to the original instead of being dropped as a duplicate. One row per distinct body.
 */
export const eventConflicts = pgTable(
  'event_conflicts',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    eventId: bigint('event_id', { mode: 'number' }).notNull(),
    source: text('source').notNull(),
    webhookId: text('webhook_id').notNull(),
    receivedAt: tstz('received_at').notNull().defaultNow(),
    contentHash: bytea('content_hash').notNull(),
    body: bytea('body').notNull(),
    headers: jsonb('headers').$type<Record<string, string>>().notNull().default({}),
    bodySize: integer('body_size').notNull(),
  },
  (t) => [
    unique('event_conflicts_event_hash_key').on(t.eventId, t.contentHash),
    index('event_conflicts_source_id_idx').on(t.source, t.id),
    index('event_conflicts_received_idx').on(t.receivedAt),
  ],
);

export type EventConflict = typeof eventConflicts.$inferSelect;
export type WebhookEvent = typeof webhookEvents.$inferSelect;
export type NewWebhookEvent = typeof webhookEvents.$inferInsert;
export type ProcessingLogRow = typeof processingLog.$inferSelect;
export type SystemLogRow = typeof systemLog.$inferSelect;

/**
 * Nonces already accepted, per source, for schemes that sign a nonce (replay protection). Written in
 * the same transaction as the event row so a failed store never burns a nonce.
 */
export const seenNonces = pgTable(
  'seen_nonces',
  {
    source: text('source').notNull(),
    nonce: text('nonce').notNull(),
    seenAt: tstz('seen_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.source, t.nonce] }), index('seen_nonces_seen_at_idx').on(t.seenAt)],
);
