import { sql } from 'drizzle-orm';
import { bigint, check, index, integer, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

// Tables of the pull-polling jobs (src/poll). Polled files themselves are stored in webhook_events.

const tstz = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

/**
 * One row per poll source, created by its first run and kept. A source is locked while `token` is
 * set and `expires_at` is in the future; the holder's heartbeat pushes `expires_at` on. hostname and
 * pid name the process that holds (or last held) it.
 */
export const pollLocks = pgTable('poll_locks', {
  source: text('source').primaryKey(),
  /** Fencing token of the current holder; null when released. Only its holder may extend or release. */
  token: uuid('token'),
  hostname: text('hostname').notNull(),
  pid: integer('pid').notNull(),
  lockedAt: tstz('locked_at').notNull().defaultNow(),
  expiresAt: tstz('expires_at'),
});

export const POLL_TRIGGERS = ['schedule', 'manual'] as const;
export type PollTrigger = (typeof POLL_TRIGGERS)[number];

/**
 * running → succeeded (every listed file stored and acknowledged), partial (some files failed),
 * failed (the run itself failed: connect, auth, listing), aborted (stopped by shutdown or a lost
 * lock), abandoned (its process stopped heart-beating; set by the run that took the lock over).
 */
export const POLL_RUN_STATUSES = ['running', 'succeeded', 'partial', 'failed', 'aborted', 'abandoned'] as const;
export type PollRunStatus = (typeof POLL_RUN_STATUSES)[number];

/** A problem with one remote file (or the run), as recorded in poll_runs.error_details. */
export interface PollFileError {
  path?: string;
  code: string;
  message: string;
  /** Set when the file was stored anyway (e.g. it could not be parsed). */
  eventId?: number;
}

/** One row per poll run: who ran it, what it saw and did, and what went wrong. */
export const pollRuns = pgTable(
  'poll_runs',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    source: text('source').notNull(),
    triggeredBy: text('triggered_by', { enum: POLL_TRIGGERS }).notNull(),
    hostname: text('hostname').notNull(),
    pid: integer('pid').notNull(),
    /** The poll_locks token this run held: the run and its lock are matched through it. */
    lockToken: uuid('lock_token').notNull(),
    status: text('status', { enum: POLL_RUN_STATUSES }).notNull().default('running'),
    startedAt: tstz('started_at').notNull().defaultNow(),
    heartbeatAt: tstz('heartbeat_at').notNull().defaultNow(),
    finishedAt: tstz('finished_at'),
    listed: integer('listed').notNull().default(0),
    stored: integer('stored').notNull().default(0),
    duplicates: integer('duplicates').notNull().default(0),
    acknowledged: integer('acknowledged').notNull().default(0),
    errors: integer('errors').notNull().default(0),
    /** The first problems of the run (capped), file by file. */
    errorDetails: jsonb('error_details').$type<PollFileError[]>().notNull().default([]),
    /** Why the run as a whole failed, was aborted or abandoned. */
    error: text('error'),
  },
  (t) => [
    check(
      'poll_runs_status_check',
      sql`${t.status} in ('running', 'succeeded', 'partial', 'failed', 'aborted', 'abandoned')`,
    ),
    index('poll_runs_source_id_idx').on(t.source, t.id),
    index('poll_runs_running_idx')
      .on(t.source)
      .where(sql`${t.status} = 'running'`),
  ],
);

export type PollLockRow = typeof pollLocks.$inferSelect;
export type PollRunRow = typeof pollRuns.$inferSelect;
