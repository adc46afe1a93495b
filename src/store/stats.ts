import { sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import type { Stats } from './stats-shapes';
import { dueQueueRows } from './queue-parking';

export type { Stats };

/**
 * Operational figures for the ops API and the UI; one round trip per question, all on indexes or the window.
 * Latency runs from receipt to completion, or from the last replay for a replayed event: replaying
 * an old event says nothing about how fast the pipeline is and must not inflate the percentiles.
 */
export function createStatsQueries({ rows }: Database) {
  return {
    async stats(since: Date): Promise<Stats> {
      const [counts, [summary], [queue]] = await Promise.all([
        // A claim lives on the queue row only (migration 0013): the archive row of an event being
        // processed says 'received'. Its claim is read in the same statement (one snapshot), so an
        // attempt finishing meanwhile is not counted twice.
        rows<{ source: string; status: string; n: number }>(sql`
          select source, status, count(*)::int as n from webhook_events
          where received_at >= ${since.toISOString()}::timestamptz
          group by source, status
          union all
          select source, 'claimed', count(*)::int from event_queue
          where claim_token is not null and received_at >= ${since.toISOString()}::timestamptz
          group by source`),
        rows<{
          completed: number;
          failed: number;
          p50: number | null;
          p90: number | null;
          p99: number | null;
          retried: number;
          extra: number;
        }>(sql`
          select count(*) filter (where status = 'completed')::int as completed,
                 count(*) filter (where status = 'failed')::int as failed,
                 percentile_cont(0.5) within group (order by extract(epoch from processed_at - coalesce(replayed_at, received_at)) * 1000)
                   filter (where status = 'completed') as p50,
                 percentile_cont(0.9) within group (order by extract(epoch from processed_at - coalesce(replayed_at, received_at)) * 1000)
                   filter (where status = 'completed') as p90,
                 percentile_cont(0.99) within group (order by extract(epoch from processed_at - coalesce(replayed_at, received_at)) * 1000)
                   filter (where status = 'completed') as p99,
                 count(*) filter (where attempts > 1)::int as retried,
                 coalesce(sum(greatest(attempts - 1, 0)), 0)::int as extra
          from webhook_events where received_at >= ${since.toISOString()}::timestamptz`),
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
      const byStatus: Record<string, number> = { received: 0, processing: 0, completed: 0, failed: 0 };
      const bySource: Record<string, Record<string, number>> = {};
      for (const { source, status, n } of counts) {
        if (status === 'claimed') continue;
        byStatus[status] = (byStatus[status] ?? 0) + n;
        (bySource[source] ??= {})[status] = n;
      }
      // Claimed events move from 'received' to 'processing', as the event list shows them.
      for (const { source, n } of counts.filter((c) => c.status === 'claimed')) {
        const counted = bySource[source];
        const moved = Math.min(n, counted?.received ?? 0);
        if (!counted || moved === 0) continue;
        byStatus.received! -= moved;
        byStatus.processing! += moved;
        counted.processing = (counted.processing ?? 0) + moved;
        if (counted.received === moved) delete counted.received;
        else counted.received! -= moved;
      }
      const finished = summary!.completed + summary!.failed;
      const round = (v: number | null) => (v === null ? null : Math.round(Number(v) * 10) / 10);
      return {
        window: { since: since.toISOString() },
        by_status: byStatus,
        by_source: bySource,
        success_rate: finished === 0 ? null : summary!.completed / finished,
        latency_ms: { p50: round(summary!.p50), p90: round(summary!.p90), p99: round(summary!.p99) },
        retries: { events_retried: summary!.retried, extra_attempts: summary!.extra },
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
