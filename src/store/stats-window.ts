import { sql } from 'drizzle-orm';
import type { Database } from '../db/client';

/** The archive's figures for events received in a window, before claims are taken into account. */
export interface WindowFigures {
  /** Events by source and status. */
  counts: { source: string; status: string; n: number }[];
  /** Receipt (or last replay) → completion of every completed event, in ms, ascending. */
  latencies: number[];
  retried: number;
  extra: number;
}

/**
 * Rows of the archive read per statement. On PGlite a statement runs on the event loop's thread
 * from start to end: the single statement this replaced read all 150,000 events of a day in one
 * go and froze ingest, `/healthz` and the worker for 4.4 s (docs/performance.md). A page of 5,000
 * rows takes tens of ms, and PGlite hands the loop a turn after each statement (src/db/pglite-yield.ts).
 */
export const WINDOW_PAGE_ROWS = 5_000;

/**
 * Reads the events received since `since` page by page in id order (the primary key of each day
 * partition), adding up counts by source and status, retries, and the latencies of completed
 * events. Each page is its own statement, so the figures are not one snapshot: an event that
 * finishes while the pages are read is counted in the status its page saw, and events received
 * after the first statement are left for the next call.
 */
export async function readWindow({ rows }: Database, since: Date, pageRows = WINDOW_PAGE_ROWS): Promise<WindowFigures> {
  const counts = new Map<string, { source: string; status: string; n: number }>();
  const latencies: number[] = [];
  let retried = 0;
  let extra = 0;
  // The window's id range first (ids follow receipt), then one statement per `pageRows` ids: a
  // range on the leading column of each day partition's primary key reads only those rows, however
  // large the partition; ordering by id with a limit would leave the choice of plan to the planner.
  const [range] = await rows<{ low: string | null; high: string | null }>(sql`
    select (select id from webhook_events where received_at >= ${since.toISOString()}::timestamptz
            order by id limit 1)::text as low,
           (select id from webhook_events where received_at >= ${since.toISOString()}::timestamptz
            order by id desc limit 1)::text as high`);
  if (range?.low == null || range.high == null) return { counts: [], latencies, retried, extra };
  const high = BigInt(range.high);
  for (let from = BigInt(range.low); from <= high; from += BigInt(pageRows)) {
    const page = await rows<{
      source: string;
      status: string;
      n: number;
      retried: number;
      extra: number;
      ms: string | null;
    }>(sql`
      select source, status, count(*)::int as n,
             count(*) filter (where attempts > 1)::int as retried,
             coalesce(sum(greatest(attempts - 1, 0)), 0)::int as extra,
             string_agg((extract(epoch from processed_at - coalesce(replayed_at, received_at)) * 1000)::float8::text, ',')
               filter (where status = 'completed' and processed_at is not null) as ms
      from webhook_events
      where id >= ${from.toString()}::bigint and id < ${(from + BigInt(pageRows)).toString()}::bigint
        and received_at >= ${since.toISOString()}::timestamptz
      group by source, status`);
    for (const group of page) {
      const key = `${group.source}\u0000${group.status}`;
      const known = counts.get(key);
      if (known) known.n += group.n;
      else counts.set(key, { source: group.source, status: group.status, n: group.n });
      retried += group.retried;
      extra += group.extra;
      if (group.ms) for (const ms of group.ms.split(',')) latencies.push(Number(ms));
    }
  }
  latencies.sort((a, b) => a - b);
  return { counts: [...counts.values()], latencies, retried, extra };
}

/** The q-quantile of ascending values, interpolated as PostgreSQL's percentile_cont does; null when empty. */
export function percentileCont(ascending: readonly number[], q: number): number | null {
  if (ascending.length === 0) return null;
  const at = q * (ascending.length - 1);
  const low = Math.floor(at);
  const high = Math.ceil(at);
  return ascending[low]! + (ascending[high]! - ascending[low]!) * (at - low);
}
