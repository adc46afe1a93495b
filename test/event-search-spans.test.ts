// On PGlite an event search that no index serves (payload text, topic) walks back through the
// archive a span of ids per statement: each statement runs on the event loop's thread, and one
// statement over every event kept froze ingest and /healthz for seconds (docs/performance.md).
// The check counts the rows each statement reads (EXPLAIN ANALYZE), not time.
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { createEventStore } from '../src/store/events';
import { useMigratedDatabase } from './helpers/database';
import { rowsOf, type PlanNode } from './helpers/rows-read';

const SPAN = 250;

describe('event search in spans of ids on pglite', () => {
  const db = useMigratedDatabase('pglite');

  beforeAll(async () => {
    await db.database.rows(sql`
      insert into webhook_events (source, webhook_id, topic, status, body, headers, attempts, next_attempt_at, received_at)
      select 'shop', 'w-' || n, case when n in (3, 1990) then 'rare/topic' else 't' end, 'completed',
             convert_to(case when n = 7 then '{"note":"needle"}' else '{"note":"hay ' || md5(n::text) || '"}' end, 'UTF8'),
             '{}'::jsonb, 1, now(), now() - interval '1 hour' + n * interval '1 second'
      from generate_series(1, 2000) n`);
  });

  /** Every statement PGlite runs meanwhile, with its parameters. */
  function recordStatements() {
    const pglite = db.database.pglite!;
    const seen: { text: string; params?: unknown[] }[] = [];
    const query = pglite.query;
    pglite.query = ((text: string, params?: unknown[], options?: unknown) => {
      seen.push({ text, params });
      return query.call(pglite, text, params, options as never);
    }) as typeof pglite.query;
    return {
      seen,
      /** Rows of webhook_events each recorded statement read, returned or removed by a filter. */
      async rowsRead(): Promise<number[]> {
        pglite.query = query;
        const read: number[] = [];
        for (const { text, params } of seen.filter((s) => /from "webhook_events"/.test(s.text))) {
          const { rows } = await pglite.query<{ 'QUERY PLAN': { Plan: PlanNode }[] }>(
            `explain (analyze, format json) ${text}`,
            params,
          );
          read.push(rowsOf(rows[0]!['QUERY PLAN'][0]!.Plan, 'webhook_events'));
        }
        return read;
      },
    };
  }

  it('finds the one match among 2,000 events reading at most a span per statement, newest first', async () => {
    const store = createEventStore(db.database, { spanIds: SPAN });

    const recorder = recordStatements();
    const found = await store.list({ contains: 'needle', limit: 10 });
    const byTopic = await store.list({ topic: 'rare/topic', limit: 10 });
    const read = await recorder.rowsRead();

    expect(found.map((e) => e.webhookId)).toEqual(['w-7']);
    expect(byTopic.map((e) => e.webhookId)).toEqual(['w-1990', 'w-3']);
    expect(read.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(2000);
    expect(Math.max(...read)).toBeLessThanOrEqual(SPAN);
  });

  it('pages through a search with the cursor, and an indexed filter stays one statement', async () => {
    const store = createEventStore(db.database, { spanIds: SPAN });
    const first = await store.list({ topic: 't', limit: 600 });
    const second = await store.list({ topic: 't', limit: 600, beforeId: first.at(-1)!.id });
    expect(first).toHaveLength(600);
    expect(second[0]!.id).toBeLessThan(first.at(-1)!.id);
    expect(new Set([...first, ...second].map((e) => e.id)).size).toBe(1200);
    const recorder = recordStatements();
    expect(await store.list({ status: 'completed', limit: 5 })).toHaveLength(5);
    expect(await recorder.rowsRead()).toHaveLength(1);
  });

  it("counts a bulk replay's match a span per statement", async () => {
    const store = createEventStore(db.database, { spanIds: SPAN });
    const recorder = recordStatements();
    expect(await store.countReplayable({ contains: 'hay' })).toBe(1999);
    expect(await store.countReplayable({ topic: 'rare/topic' })).toBe(2);
    const read = await recorder.rowsRead();
    expect(Math.max(...read)).toBeLessThanOrEqual(SPAN);
    expect(read.length).toBeGreaterThan(2);
  });

  it('stops a search past DB_SEARCH_TIMEOUT_MS between spans with the statement timeout SQLSTATE', async () => {
    const store = createEventStore(db.database, { spanIds: 5, searchTimeoutMs: 1 });
    await expect(store.list({ contains: 'not in any body', limit: 10 })).rejects.toMatchObject({ code: '57014' });
  });
});
