import { sql } from 'drizzle-orm';
import { bigint, index, integer, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

// What happened at each destination: the archive's third table, kept apart from schema.ts so each
// file stays one subject (drizzle.config.ts lists both for migrations).

const tstz = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

// 'ignored': the destination's filter did not match (error "filtered"); done, never retried.
// 'held': the destination answered 410 Gone and was paused; the event waits for it, uncounted.
export const DELIVERY_OUTCOMES = ['delivered', 'failed', 'ignored', 'held'] as const;

/**
 * One row per destination per attempt. A destination that answered 2xx once is never posted to
 * again for that event: the one claim holder of an event records "delivered" at most once per
 * destination (src/store/deliveries.ts). Partitioned by day on started_at (migration 0019), so the
 * partial index on delivered rows can no longer be unique.
 */
export const deliveryAttempts = pgTable(
  'delivery_attempts',
  {
    id: bigint('id', { mode: 'number' }).generatedAlwaysAsIdentity(),
    eventId: bigint('event_id', { mode: 'number' }).notNull(),
    attempt: integer('attempt').notNull(),
    destination: text('destination').notNull(),
    startedAt: tstz('started_at').notNull(),
    durationMs: integer('duration_ms').notNull(),
    outcome: text('outcome', { enum: DELIVERY_OUTCOMES }).notNull(),
    httpStatus: integer('http_status'),
    error: text('error'),
    /** Migration 0015: the destination's rule version the delivery was decided by (null: file destination). */
    ruleVersion: integer('rule_version'),
  },
  (t) => [
    primaryKey({ name: 'delivery_attempts_pkey', columns: [t.id, t.startedAt] }),
    index('delivery_attempts_event_idx').on(t.eventId, t.id),
    // Alert rule destination_failing (migration 0010) reads recent attempts only.
    index('delivery_attempts_started_idx').on(t.startedAt),
    // A destination's health: its last day's counts and its last deliveries (migration 0026).
    index('delivery_attempts_destination_idx').on(t.destination, t.startedAt),
    index('delivery_attempts_delivered_idx')
      .on(t.eventId, t.destination)
      .where(sql`${t.outcome} = 'delivered'`),
  ],
);

export type DeliveryAttemptRow = typeof deliveryAttempts.$inferSelect;
