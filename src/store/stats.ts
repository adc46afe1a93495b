import { sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import type { Stats } from './stats-shapes';
import { dueQueueRows } from './queue-parking';
import { percentileCont, readWindow } from './stats-window';

export type { Stats };

/**
 * Operational figures for the ops API and the UI: the hot queue in one round trip each, the
 * window's events page by page (`pageRows` per statement, src/store/stats-window.ts).
 * Latency runs from receipt to completion, or from the last replay for a replayed event: replaying
 * an old event says nothing about how fast the pipeline is and must not inflate the percentiles.
 */
export function createStatsQueries(database: Database, options: { pageRows?: number } = {}) {
  const { rows } = database;
  let recent: Promise<Stats> | undefined;
  return {
    /**
     * The last 24 hours (the dashboard's figures). Callers that ask while they are being read share
     * that read: each open dashboard asks about once a second while events arrive, and a day of
     * 150,000 events takes ~3 s to read on PGlite, so without sharing the reads of several
     * dashboards would queue behind each other and keep the database busy.
     */
    recent(): Promise<Stats> {
      recent ??= this.stats(new Date(Date.now() - 24 * 3600_000)).finally(() => {
        recent = undefined;
      });
      return recent;
    },

    async stats(since: Date): Promise<Stats> {
      // Claims first, then the archive page by page (src/store/stats-window.ts): a claim lives on
      // the queue row only (migration 0013), the archive row of an event being processed says
      // 'received'. An event claimed meanwhile stays 'received'; one finished meanwhile is moved
      // no further than the 'received' count allows (below).
      const [claimed, [queue]] = await Promise.all([
        rows<{ source: string; n: number }>(sql`
          select source, count(*)::int as n from event_queue
          where claim_token is not null and received_at >= ${since.toISOString()}::timestamptz
          group by source`),
        rows<{ due: number; scheduled: number; waiting: number; processing: number; oldest: number | null }>(sql`
          select count(*) filter (where claim_token is null and run_at <= now())::int as due,
                 count(*) filter (where claim_token is null and run_at > now() and run_at <> 'infinity')::int as scheduled,
                 -- Events of an ordered source waiting behind their key's head (docs/ordering.md).
                 count(*) filter (where claim_token is null and run_at = 'infinity')::int as waiting,
                 count(*) filter (where claim_token is not null)::int as processing,
                 extract(epoch from now() - min(run_at) filter (where claim_token is null and run_at <= now()))::float8 as oldest
          -- A paused source's parked rows count by the run_at they had (src/store/queue-parking.ts).
          from (select claim_token, coalesce(parked_run_at, run_at) as run_at from event_queue) q`),
      ]);
      const window = await readWindow(database, since, options.pageRows);
      const byStatus: Record<string, number> = { received: 0, processing: 0, completed: 0, failed: 0 };
      const bySource: Record<string, Record<string, number>> = {};
      for (const { source, status, n } of window.counts) {
        byStatus[status] = (byStatus[status] ?? 0) + n;
        (bySource[source] ??= {})[status] = n;
      }
      // Claimed events move from 'received' to 'processing', as the event list shows them.
      for (const { source, n } of claimed) {
        const counted = bySource[source];
        const moved = Math.min(n, counted?.received ?? 0);
        if (!counted || moved === 0) continue;
        byStatus.received! -= moved;
        byStatus.processing! += moved;
        counted.processing = (counted.processing ?? 0) + moved;
        if (counted.received === moved) delete counted.received;
        else counted.received! -= moved;
      }
      const completed = byStatus.completed ?? 0;
      const finished = completed + (byStatus.failed ?? 0);
      const round = (v: number | null) => (v === null ? null : Math.round(v * 10) / 10);
      const percentile = (q: number) => round(percentileCont(window.latencies, q));
      return {
        window: { since: since.toISOString() },
        by_status: byStatus,
        by_source: bySource,
        success_rate: finished === 0 ? null : completed / finished,
        latency_ms: { p50: percentile(0.5), p90: percentile(0.9), p99: percentile(0.99) },
        retries: { events_retried: window.retried, extra_attempts: window.extra },
        queue: {
          due: queue!.due,
          scheduled_retries: queue!.scheduled,
          waiting_in_order: queue!.waiting,
          processing: queue!.processing,
          oldest_due_age_seconds: queue!.oldest === null ? null : Math.round(Number(queue!.oldest) * 10) / 10,
        },
      };
    },

    /**
     * Due events, the age of the oldest, and the claimed ones (being processed), for the metrics
     * gauges: one round trip on the small hot queue, which holds unfinished events only. The claimed
     * count reads the whole queue table, as /api/stats does: no index covers claim_token.
     */
    async queueDepth(): Promise<{ due: number; processing: number; oldestSeconds: number }> {
      const [row] = await rows<{ due: number; processing: number; oldest: number | null }>(sql`
        select count(*)::int as due, extract(epoch from now() - min(run_at))::float8 as oldest,
               (select count(*)::int from event_queue where claim_token is not null) as processing
        from ${dueQueueRows}`);
      return { due: row!.due, processing: row!.processing, oldestSeconds: Number(row!.oldest ?? 0) };
    },
  };
}

export type StatsQueries = ReturnType<typeof createStatsQueries>;
