// GET /api/stats reads the window's events page by page: on PGlite every statement runs on the
// event loop's thread, and one statement over a day of events froze ingest and /healthz for
// seconds (docs/performance.md). The check counts the rows each statement reads (EXPLAIN ANALYZE),
// not time; the figures are checked against percentile_cont over the same rows.
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { createStatsQueries } from '../src/store/stats';
import { databaseKinds, useMigratedDatabase } from './helpers/database';
import { watchStatements } from './helpers/rows-read';

const PAGE = 400;

describe.each(databaseKinds())('stats over a window read page by page on %s', (kind) => {
  const db = useMigratedDatabase(kind);

  it('reads at most a page of events per statement, with the same figures as one statement over all', async () => {
    const { database } = db;
    // 1,500 events of 1.5 KB (as wide as real ones, so the planner reads a page through the primary
    // key as it does on a real archive) in the last hour over two sources (every 10th failed, every 7th retried, one replayed),
    // and 300 older ones outside the window.
    await database.rows(sql`
      insert into webhook_events (source, webhook_id, topic, status, body, headers, attempts, next_attempt_at,
                                  received_at, processed_at, replayed_at)
      select case when n % 3 = 0 then 'crm' else 'shop' end, 'w-' || n, 't',
             case when n % 10 = 0 then 'failed' else 'completed' end, convert_to(repeat('x', 1500), 'UTF8'), '{}'::jsonb,
             case when n % 7 = 0 then 3 else 1 end, at, at, at + (n % 97) * interval '3 milliseconds',
             case when n = 5 then at + interval '1 millisecond' end
      from generate_series(1, 1500) n, lateral (select now() - interval '50 minutes' + n * interval '1 second') t(at)`);
    await database.rows(sql`
      insert into webhook_events (source, webhook_id, topic, status, body, headers, attempts, next_attempt_at,
                                  received_at, processed_at)
      select 'shop', 'old-' || n, 't', 'completed', '\\x7b7d'::bytea, '{}'::jsonb, 1, at, at, at + interval '9 seconds'
      from generate_series(1, 300) n, lateral (select now() - interval '3 hours' + n * interval '1 second') t(at)`);
    const since = new Date(Date.now() - 3_600_000);

    const { watched, rowsRead } = watchStatements(database);
    const stats = await createStatsQueries(watched, { pageRows: PAGE }).stats(since);
    const read = await rowsRead('webhook_events');
    expect(read.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(1500);
    // A page may read one row ahead in each day partition it merges.
    expect(Math.max(...read)).toBeLessThanOrEqual(PAGE + 10);

    const [expected] = await database
      .rows<{ p50: number; p90: number; p99: number }>(
        sql`
      select percentile_cont(array[0.5, 0.9, 0.99]) within group
               (order by extract(epoch from processed_at - coalesce(replayed_at, received_at)) * 1000)
               filter (where status = 'completed') as p
      from webhook_events where received_at >= ${since.toISOString()}::timestamptz`,
      )
      .then((rows) => {
        const p = (rows[0] as unknown as { p: number[] | string }).p;
        const values = typeof p === 'string' ? p.slice(1, -1).split(',').map(Number) : p.map(Number);
        return [{ p50: values[0]!, p90: values[1]!, p99: values[2]! }];
      });
    const round = (v: number) => Math.round(v * 10) / 10;
    expect(stats.latency_ms).toEqual({
      p50: round(expected!.p50),
      p90: round(expected!.p90),
      p99: round(expected!.p99),
    });
    expect(stats.by_status).toEqual({ received: 0, processing: 0, completed: 1350, failed: 150 });
    expect(stats.by_source).toEqual({ crm: { completed: 450, failed: 50 }, shop: { completed: 900, failed: 100 } });
    expect(stats.success_rate).toBe(0.9);
    // Every 7th of 1,500 is retried (214 events), two extra attempts each.
    expect(stats.retries).toEqual({ events_retried: 214, extra_attempts: 428 });
  });

  it('dashboards asking for the last 24 hours at the same time share one read', async () => {
    const { watched, statements } = watchStatements(db.database);
    const queries = createStatsQueries(watched, { pageRows: PAGE });
    const alone = await queries.recent();
    const once = statements.length;
    const [a, b, c] = await Promise.all([queries.recent(), queries.recent(), queries.recent()]);
    expect(statements.length).toBe(2 * once);
    expect(a).toBe(b);
    expect(b).toBe(c);
    expect(a!.by_status).toEqual(alone.by_status);
    // A later call reads again.
    await queries.recent();
    expect(statements.length).toBe(3 * once);
  });
});
