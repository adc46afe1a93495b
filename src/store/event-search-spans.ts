import { gte, lt, sql, type SQL } from 'drizzle-orm';
import type { Database } from '../db/client';
import { webhookEvents } from '../db/schema';

/**
 * Ids per statement when an event search walks back through the archive on PGlite. A statement
 * there runs on the event loop's thread from start to end, and PGlite has no statement timer: a
 * payload search that matched nothing read all 150,000 events of a day in one statement and froze
 * ingest and `/healthz` for 3.6 s, a rare topic 2.6 s (docs/performance.md). A range of ids on the
 * leading column of each day partition's primary key reads at most this many rows.
 */
export const SEARCH_SPAN_IDS = 2_000;

/**
 * Stopped by DB_SEARCH_TIMEOUT_MS between two spans. It carries the SQLSTATE PostgreSQL's
 * statement_timeout gives (57014, query_canceled), so one handler answers both `503 search_timeout`.
 */
export class SearchTimeoutError extends Error {
  readonly code = '57014';
  readonly severity = 'ERROR';
  constructor() {
    super('event search stopped after DB_SEARCH_TIMEOUT_MS');
  }
}

export interface SpanWalk {
  /** Only ids below this one (the page cursor). */
  beforeId?: number;
  limit: number;
  /** 0: no limit. */
  timeoutMs: number;
  spanIds?: number;
}

/**
 * Runs `page` over ranges of ids from the newest down, newest first, one statement per range, until
 * `limit` rows are found or the oldest id is passed. Between statements PGlite hands the event loop
 * a turn (src/db/pglite-yield.ts), so ingest is answered while the search goes on.
 */
export async function walkBackInSpans<R>(
  { rows }: Database,
  walk: SpanWalk,
  page: (range: SQL[], remaining: number) => Promise<R[]>,
): Promise<R[]> {
  const span = walk.spanIds ?? SEARCH_SPAN_IDS;
  const [bounds] = await rows<{ low: number | null; high: number | null }>(sql`
    select (select id from webhook_events order by id limit 1)::float8 as low,
           (select id from webhook_events order by id desc limit 1)::float8 as high`);
  if (bounds?.low == null || bounds.high == null) return [];
  const low = Number(bounds.low);
  const started = Date.now();
  const found: R[] = [];
  for (let upper = Math.min(walk.beforeId ?? Infinity, Number(bounds.high) + 1); upper > low; upper -= span) {
    if (walk.timeoutMs > 0 && Date.now() - started > walk.timeoutMs) throw new SearchTimeoutError();
    const range = [lt(webhookEvents.id, upper), gte(webhookEvents.id, upper - span)];
    found.push(...(await page(range, walk.limit - found.length)));
    if (found.length >= walk.limit) break;
  }
  return found;
}

/** One statement of a search: the caller's query run on the database or inside a transaction. */
type Runner = <T>(query: (tx: Pick<Database['db'], 'select'>) => Promise<T>) => Promise<T>;

/** What a page of an event search is filtered by, as far as choosing how to read it goes. */
interface SearchShape {
  beforeId?: number;
  limit: number;
  contains?: string;
  topic?: string;
  webhookId?: string;
}

/**
 * How the event store runs an operator's search: `searchPage(filter, page)` calls `page` with the
 * id range to add to its conditions, how many rows it may return, and how to run its statement.
 */
export function createEventSearch(database: Database, options: { searchTimeoutMs?: number; spanIds?: number }) {
  const { db } = database;
  const searchTimeoutMs = options.searchTimeoutMs ?? 0;
  /** Runs a search with its statement_timeout, in a transaction of its own (SET LOCAL ends with it). */
  const search: Runner = (query) =>
    searchTimeoutMs > 0
      ? db.transaction(async (tx) => {
          await tx.execute(sql`select set_config('statement_timeout', ${String(searchTimeoutMs)}, true)`);
          return query(tx);
        })
      : query(db);
  const direct: Runner = (query) => query(db);
  /**
   * One page of a search, newest first. On PGlite a filter no index serves (a payload text, a
   * topic) walks back through the archive a span of ids per statement; everything else is one statement.
   */
  return <R>(filter: SearchShape, page: (range: SQL[], limit: number, run: Runner) => Promise<R[]>): Promise<R[]> => {
    const before = filter.beforeId === undefined ? [] : [lt(webhookEvents.id, filter.beforeId)];
    const unindexed = (filter.contains !== undefined || filter.topic !== undefined) && !filter.webhookId;
    if (database.kind !== 'pglite' || !unindexed) return page(before, filter.limit, search);
    // No statement timer and no transaction held across spans on PGlite: each span runs alone.
    return walkBackInSpans(
      database,
      { beforeId: filter.beforeId, limit: filter.limit, timeoutMs: searchTimeoutMs, spanIds: options.spanIds },
      (range, limit) => page(range, limit, direct),
    );
  };
}
