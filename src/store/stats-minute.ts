import { sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { dueQueueRows } from './queue-parking';

/** One process's counts for one minute and source, added to what is stored. */
export interface MinuteCounts {
  minute: Date;
  source: string;
  received: number;
  completed: number;
  failed: number;
  rejected: number;
  /** Receive→completed histogram (src/store/latency-histogram.ts), or null when nothing completed. */
  latency: number[] | null;
  /** Due events sampled in that minute, or null when not sampled. */
  backlog: number | null;
}

export interface StoredMinute {
  t: number;
  source: string;
  received: number;
  completed: number;
  failed: number;
  rejected: number;
  latency: (number | null)[] | null;
  backlog: number | null;
}

/**
 * The SQL of the per-minute rollup (table stats_minute). Every read is a range on the primary key
 * (minute, source), so it touches at most minutes × sources rows of its window, however much
 * history there is (test/stats-series.test.ts checks the plan).
 */
export function createStatsMinutes({ rows }: Database) {
  return {
    /** Adds counts (one row per minute and source) in one statement; histograms add bucket by bucket, backlog keeps the largest sample. */
    async add(counts: readonly MinuteCounts[]): Promise<void> {
      if (counts.length === 0) return;
      const json = JSON.stringify(counts.map((c) => ({ ...c, minute: c.minute.toISOString() })));
      await rows(sql`
        insert into stats_minute as s (minute, source, received, completed, failed, rejected, latency_buckets, backlog)
        select minute, source, received, completed, failed, rejected, latency, backlog
        from jsonb_to_recordset(${json}::jsonb) as r(minute timestamptz, source text, received int, completed int,
                                                     failed int, rejected int, latency int[], backlog int)
        on conflict (minute, source) do update set
          received = s.received + excluded.received,
          completed = s.completed + excluded.completed,
          failed = s.failed + excluded.failed,
          rejected = s.rejected + excluded.rejected,
          latency_buckets = case
            when s.latency_buckets is null then excluded.latency_buckets
            when excluded.latency_buckets is null then s.latency_buckets
            else (select array_agg(coalesce(a, 0) + coalesce(b, 0) order by i)
                  from unnest(s.latency_buckets, excluded.latency_buckets) with ordinality as u(a, b, i))
          end,
          backlog = greatest(s.backlog, excluded.backlog)`);
    },

    /**
     * Due events per source now, for the backlog series: the hot queue's unclaimed, due rows and
     * the source each carries (migration 0025). Counting `status = 'received'` in the archive
     * instead walked every day partition's status index, dead entries included: 18,000 blocks and
     * 285 ms a minute with 1 M events of history and autovacuum off (pg_stat_statements); reading
     * each due event's source from the archive by primary key took 2.9-3.4 s for 300,000 due events.
     */
    async dueBySource(): Promise<Map<string, number>> {
      const found = await rows<{ source: string; n: number }>(sql`
        select source, count(*)::int as n
        from ${dueQueueRows}
        group by source`);
      return new Map(found.map((r) => [r.source, r.n]));
    },

    /** The stored minutes in [from, to), optionally of one source, oldest first. */
    async range(from: Date, to: Date, source?: string): Promise<StoredMinute[]> {
      return rows<StoredMinute>(sql`
        select extract(epoch from minute)::int as t, source, received, completed, failed, rejected,
               latency_buckets as latency, backlog
        from stats_minute
        where minute >= ${from.toISOString()}::timestamptz and minute < ${to.toISOString()}::timestamptz
          ${source === undefined ? sql`` : sql`and source = ${source}`}
        order by minute`);
    },

    /** Sources with any row in [from, to), for the source picker. */
    async sources(from: Date, to: Date): Promise<string[]> {
      const found = await rows<{ source: string }>(sql`
        select distinct source from stats_minute
        where minute >= ${from.toISOString()}::timestamptz and minute < ${to.toISOString()}::timestamptz
        order by source`);
      return found.map((r) => r.source);
    },

    /** Forgets minutes older than `days` (the charts show at most a day). */
    async purge(days: number): Promise<number> {
      const gone = await rows(
        sql`delete from stats_minute where minute < now() - make_interval(days => ${days}) returning 1`,
      );
      return gone.length;
    },
  };
}

export type StatsMinutes = ReturnType<typeof createStatsMinutes>;
