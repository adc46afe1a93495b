import { sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { deleteKeysAndConflicts } from './conflicts-of-deleted-keys';

/**
 * Deletes finished events past their retention, in batches so no statement holds locks for long.
 * Only `completed` and `failed` rows are candidates — never one that is due or being processed —
 * and `processed_at` (not received_at) is the clock, so a replayed event gets its full retention
 * again. Whole days go faster by dropping their partitions (src/store/partitions.ts, run first by
 * the retention cron); this deletes what those leave: events of days still kept for a neighbour.
 * No foreign key cascades since migration 0019 (webhook_events is partitioned), so the statement
 * deletes the event's key, queue row, attempt and delivery logs itself and clears audit references
 * to it, and a second one in its transaction deletes its conflicts (deleteKeysAndConflicts says why
 * two).
 * A failed event that still blocks its ordering key (it keeps its queue row) is kept.
 */
export function createRetention(database: Database) {
  const { rows } = database;
  /** The database's now() less `days`: one cutoff for a whole purge, given to its statements as a value. */
  async function cutoffOf(days: number): Promise<string> {
    // ISO 8601 in UTC with microseconds, whatever the session's DateStyle and TimeZone.
    const [row] = await rows<{ cutoff: string }>(sql`
      select to_char((now() - make_interval(days => ${days})) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as cutoff`);
    return row!.cutoff;
  }

  async function deleteBatch(status: 'completed' | 'failed', cutoff: string, batchSize: number): Promise<number> {
    // A value, not now() in the statement: the planner prunes by it, so planning opens only the
    // days before the cutoff (now() is known only when the statement starts: every day was planned,
    // then pruned).
    const before = sql`${cutoff}::timestamptz`;
    const deleted = await deleteKeysAndConflicts(
      database,
      sql`
      with doomed as (
        select id, received_at from webhook_events
        where status = ${status} and processed_at < ${before}
          -- Implied by the line above (an event is processed after it was received, both by the
          -- database's clock), and it prunes every day received since: without it each run read
          -- all the history kept (docs/performance.md, retention row purge).
          and received_at < ${before}
          -- A failed head that blocks its ordering key keeps its queue row (docs/ordering.md): it
          -- stays until skipped or replayed, or the key would never move again.
          and not exists (select 1 from event_queue q where q.event_id = webhook_events.id)
        limit ${batchSize}
        for update skip locked
      ),
      -- By = any(array) on the primary key, in the days past the cutoff only: a join with doomed
      -- was planned as a hash of all the history (8.7 s a batch with 1 M events kept).
      gone as (
        delete from webhook_events e
        where e.received_at < ${before} and e.id = any(array(select id from doomed))
        returning e.id, e.source, e.webhook_id
      ),
      keys as (delete from event_keys k using gone g where k.source = g.source and k.webhook_id = g.webhook_id and k.event_id = g.id),
      queued as (delete from event_queue q using gone g where q.event_id = g.id),
      -- The logs by = any(array) on their event_id index: a join with gone was planned as a hash
      -- of every attempt and delivery kept (docs/performance.md). An attempt's row is written by
      -- the statement that ends its claim, and started_at is that claim's now(): a finished
      -- event's processed_at, set by the statement that ended its last claim, is not earlier, and
      -- it has no claim left (no queue row, above) to log another. So started_at < cutoff, and the
      -- days since are pruned. Deliveries have no such bound (a worker whose lease expired still
      -- posts and logs after the event was failed or finished by another, src/store/deliveries.ts):
      -- every day's index is probed.
      attempts as (delete from processing_log p where p.started_at < ${before} and p.event_id = any(array(select id from gone))),
      deliveries as (delete from delivery_attempts a where a.event_id = any(array(select id from gone))),
      audit as (update system_log s set source_event_id = null from gone g where s.source_event_id = g.id)
      select id from gone`,
    );
    return deleted.length;
  }

  return {
    /** Runs batches until nothing is left to delete; returns how many rows went, per status. */
    async purge(options: { completedDays: number; failedDays: number; batchSize: number }) {
      const result = { completed: 0, failed: 0 };
      for (const [status, days] of [
        ['completed', options.completedDays],
        ['failed', options.failedDays],
      ] as const) {
        const cutoff = await cutoffOf(days);
        for (;;) {
          const n = await deleteBatch(status, cutoff, options.batchSize);
          result[status] += n;
          if (n < options.batchSize) break;
        }
      }
      return result;
    },

    /**
     * Housekeeping beside the events: finished poll runs older than the completed-event retention,
     * and nonces older than two days of the sources that sign a timestamp (`expiringNonceSources`;
     * no tolerance exceeds one day, so such a nonce can no longer verify anyway). A source without
     * a signed timestamp has signatures that never expire, so its nonces are kept for good.
     * Rejected requests older than `rejectedRequestDays` (default 7) and resolved alerts older
     * than the completed-event retention go too.
     */
    async purgeBookkeeping(options: {
      completedDays: number;
      expiringNonceSources: readonly string[];
      rejectedRequestDays?: number;
    }) {
      const nonces = await rows(sql`
        delete from seen_nonces
        where seen_at < now() - interval '2 days'
          and source in (select jsonb_array_elements_text(${JSON.stringify(options.expiringNonceSources)}::jsonb))
        returning 1`);
      const runs = await rows(sql`
        delete from poll_runs
        where finished_at is not null and finished_at < now() - make_interval(days => ${options.completedDays})
        returning 1`);
      const rejected = await rows(sql`
        delete from rejected_requests
        where received_at < now() - make_interval(days => ${options.rejectedRequestDays ?? 7})
        returning 1`);
      const alerts = await rows(sql`
        delete from alerts
        where status = 'resolved' and resolved_at < now() - make_interval(days => ${options.completedDays})
        returning 1`);
      return { nonces: nonces.length, pollRuns: runs.length, rejectedRequests: rejected.length, alerts: alerts.length };
    },
  };
}
