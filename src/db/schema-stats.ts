import { integer, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * The dashboard's per-minute rollup (migrations/0011_stats_minute.sql): each process counts in
 * memory and adds its counts here every few seconds, so a chart reads at most one row per minute
 * and source of its window instead of scanning events. `latency_buckets` is a histogram of
 * receive→completed milliseconds (bounds in src/store/latency-histogram.ts); `backlog` is the
 * largest due-event count sampled in that minute (null when nobody sampled).
 */
export const statsMinute = pgTable(
  'stats_minute',
  {
    minute: timestamp('minute', { withTimezone: true, mode: 'date' }).notNull(),
    source: text('source').notNull(),
    received: integer('received').notNull().default(0),
    completed: integer('completed').notNull().default(0),
    failed: integer('failed').notNull().default(0),
    rejected: integer('rejected').notNull().default(0),
    latencyBuckets: integer('latency_buckets').array(),
    backlog: integer('backlog'),
  },
  (t) => [primaryKey({ name: 'stats_minute_pkey', columns: [t.minute, t.source] })],
);

/**
 * Processes with live-stream viewers (migrations/0022_unwatched_notifications.sql): while no row is live,
 * the worker's outcomes are written without a NOTIFY (src/ops/stream-watchers.ts).
 */
export const streamWatchers = pgTable('stream_watchers', {
  process: text('process').primaryKey(),
  expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }).notNull(),
});
