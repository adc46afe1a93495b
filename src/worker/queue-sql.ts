import { sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { inTransaction, isRowError, preparedRows } from '../db/statements';
import { promoteLanes } from '../ordering/lanes-sql';
import { claimStatement, toClaimedEvent, type ClaimedEvent, type ClaimedRow } from './claim-sql';
import { extendClaimLeases, recoverExpiredClaims, releaseClaims } from './lease-sql';
import { isFinal, recordOutcomes, toOutcomeRow, type AttemptOutcome, type FinishedAttempt } from './outcome-sql';
import { rangeOf } from './received-range';

// The queue's statements behind one object, so the worker loop never sees SQL text. Each kind has
// its own module: the claim in ./claim-sql.ts, the outcomes in ./outcome-sql.ts, the leases
// (heartbeat, hand-back, recovery) in ./lease-sql.ts, a paused source's parking in
// ../store/queue-parking.ts; the hot table's upkeep is here.

export type { ClaimedEvent } from './claim-sql';
export type { AttemptOutcome, FinishedAttempt } from './outcome-sql';

export interface QueueOptions {
  /** Sources whose ordering says onFailure 'block' (read at each outcome; docs/ordering.md). */
  blockingSources?: () => readonly string[];
  /**
   * Whether anyone watches the live stream (src/ops/stream-watchers.ts), read at each outcome
   * write: while nobody does, completions and failures are written without their NOTIFY. Unset:
   * always announced.
   */
  outcomesWatched?: () => boolean;
}

/** All queue statements of the worker. The worker loop calls these and never sees SQL. */
export function createQueue(database: Database, options: QueueOptions = {}) {
  const { rows } = database;
  const prepared = preparedRows(database);
  const blocking = () => new Set(options.blockingSources?.() ?? []);
  /** The notify trigger's switch for an outcome write (see recordOutcomes). */
  const unwatched = () => (options.outcomesWatched?.() === false ? 'on' : 'off');

  return {
    /** Claims up to `limit` due events for `worker` in one statement (src/worker/claim-sql.ts). */
    async claim(worker: string, limit: number): Promise<ClaimedEvent[]> {
      const claimed = await prepared<ClaimedRow>(claimStatement(worker, limit));
      return claimed.map((row) => toClaimedEvent(row, worker));
    },

    /**
     * Records the outcomes of many attempts in one statement, each fenced by its claim token: an
     * event whose lease expired and was reclaimed (or recovered) no longer carries the token, so
     * nothing is written for it and its id is missing from the result — a late worker can never
     * overwrite a newer attempt's result. Each recorded attempt's processing_log row is written in
     * the same statement. Returns the ids of the events whose outcome was recorded.
     */
    async finishMany(finished: readonly FinishedAttempt[]): Promise<Set<number>> {
      if (finished.length === 0) return new Set();
      const record = (batch: readonly FinishedAttempt[]) => {
        const ordered = batch.some((f) => f.event.lane);
        const blocks = ordered ? blocking() : NONE;
        const outcomes = JSON.stringify(batch.map((attempt) => toOutcomeRow(attempt, blocks)));
        const range = rangeOf(batch.map((f) => f.event));
        // Unordered batches: one statement, as always. A batch with ordered events also promotes
        // the next head of each lane whose head it finished, in the same transaction.
        if (!ordered) return recordOutcomes(prepared, outcomes, range, unwatched());
        return inTransaction(database, async (run) => {
          const recorded = await recordOutcomes(run, outcomes, range, unwatched());
          const lanes = batch.filter((f) => f.event.lane && recorded.has(f.event.id) && isFinal(f.result));
          await promoteLanes(
            run,
            lanes.map((f) => f.event.lane!),
          );
          return recorded;
        });
      };
      try {
        return await record(finished);
      } catch (err) {
        // A deadlock with a concurrent lease recovery (or any row the server refuses) must not
        // cost the whole batch its outcomes: record them one at a time.
        if (finished.length === 1 || !isRowError(err)) throw err;
        const recorded = new Set<number>();
        for (const attempt of finished) {
          for (const id of await record([attempt])) recorded.add(id);
        }
        return recorded;
      }
    },

    /** Records one attempt's outcome (see finishMany); false when the claim was no longer ours. */
    async finish(event: ClaimedEvent, result: AttemptOutcome): Promise<boolean> {
      return (await this.finishMany([{ event, result }])).has(event.id);
    },

    /** Heartbeat: extends the lease of events this worker still holds (src/worker/lease-sql.ts). */
    async extendLeases(claimTokens: readonly string[]): Promise<void> {
      await extendClaimLeases(database, claimTokens);
    },

    /** Hands back claims this worker cannot finish (shutdown), fenced like finish() (src/worker/lease-sql.ts). */
    async release(events: readonly ClaimedEvent[], reason: string): Promise<number> {
      return releaseClaims(database, events, reason);
    },

    /** Returns the events of expired leases to due, or to failed after their last attempt (src/worker/lease-sql.ts). */
    async recoverExpiredLeases(leaseSeconds: number): Promise<number> {
      return recoverExpiredClaims(database, leaseSeconds, blocking);
    },

    /**
     * VACUUM and ANALYZE of the hot queue: it churns (a row inserted, updated and deleted per
     * attempt) and must not depend on autovacuum, which may be off or slow; being small, this is
     * cheap. skip_locked: a concurrent vacuum (another process) or DDL makes this a no-op.
     * truncate false: after a drained backlog the queue's end is empty pages, and giving them back
     * takes an ACCESS EXCLUSIVE lock that stops every claim and outcome while it scans; seen waiting
     * for that lock under the end-to-end bench (pg_stat_activity: VacuumTruncate). The pages are
     * reused by the next backlog anyway. Migration 0021 sets the same for autovacuum.
     */
    async maintain(): Promise<void> {
      await rows(sql`vacuum (analyze, skip_locked, truncate false) event_queue`);
    },

    /** ANALYZE of the hot queue alone: re-plans the prepared statements that read it (src/worker/leases.ts). */
    async analyze(): Promise<void> {
      await rows(sql`analyze (skip_locked) event_queue`);
    },

    /** The hot queue's size on disk (the file's length; nothing is read). */
    async sizeInBytes(): Promise<number> {
      const [row] = await rows<{ bytes: string | number }>(sql`select pg_relation_size('event_queue') as bytes`);
      return Number(row?.bytes ?? 0);
    },
  };
}

export type Queue = ReturnType<typeof createQueue>;

const NONE: ReadonlySet<string> = new Set();
