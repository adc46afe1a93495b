import { createHash } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import type { Database } from '../src/db/client';
import { inTransaction } from '../src/db/statements';
import { insertOrdered } from '../src/ordering/ingest-sql';
import { lockLanes } from '../src/ordering/lanes-sql';
import type { HashedEvent } from '../src/store/event-insert';
import { postgresUrl, useMigratedDatabase } from './helpers/database';
import { waitFor } from './helpers/gateway';

// A lane's lock is the advisory lock (20170, hashtext(lane)): two lanes whose hashes collide share
// one. Two ingest batches on their own connections, with lanes x < b < c < y (text order) where
// hashtext(x) = hashtext(y): batch 1 holds {x, b}, batch 2 {b, c, y}. Taken in the lanes' text
// order, batch 2 holds b and waits (c is held by a third transaction) while batch 1 holds x (= y's
// lock) and waits for b; once c is free, batch 2 asks for y's lock — a deadlock, which PostgreSQL
// breaks by failing one batch. Taken in the order of the lock keys, both batches are stored.

const SOURCE = 'orders';
const event = (lane: string): HashedEvent => {
  const body = Buffer.from(JSON.stringify({ lane }));
  const key = lane.slice(SOURCE.length + 1);
  return {
    event: {
      source: SOURCE,
      webhookId: `w-${key}`,
      topic: 'orders/create',
      body,
      headers: {},
      maxAttempts: 3,
      ordering: { key, lane },
    },
    hash: createHash('sha256').update(body).digest(),
  };
};

describe.skipIf(!postgresUrl())("lane locks when two lanes' hashes collide (PostgreSQL)", () => {
  const handle = useMigratedDatabase('postgres');

  it('two concurrent ingest batches sharing a colliding lock are both stored, without a deadlock', async () => {
    const { database, testDb } = handle;
    // hashtext over 200,000 lanes: a few pairs collide. One pair, and two lanes between them
    // (text order, the database's collation) whose locks are their own.
    const [found] = await database.rows<{ x: string; y: string; inside: string[] }>(sql`
      with lanes as (select ${`${SOURCE}:`} || i as lane from generate_series(1, 200000) i),
      pairs as (select min(lane) as x, max(lane) as y, hashtext(min(lane)) as h from lanes group by hashtext(lane) having count(*) = 2)
      select p.x, p.y, array(
        select l.lane from lanes l where l.lane > p.x and l.lane < p.y and hashtext(l.lane) not in (select h from pairs)
        order by l.lane limit 2) as inside
      from pairs p order by p.x limit 1`);
    expect(found, 'no hashtext collision among 200,000 lanes').toBeDefined();
    const { x, y } = found!;
    const [b, c] = found!.inside as [string, string];
    expect([b, c]).toHaveLength(2);
    const [hashes] = await database.rows<{ hx: number; hy: number }>(
      sql`select hashtext(${x}) as hx, hashtext(${y}) as hy`,
    );
    expect(hashes!.hx).toBe(hashes!.hy);

    const own = async (): Promise<Database> => testDb.open({ poolSize: 2 });
    const [holder, first, second] = await Promise.all([own(), own(), own()]);
    /** Lane-lock requests waiting in this database. */
    const waiting = async () =>
      Number(
        (
          await database.rows<{ n: number }>(sql`
        select count(*)::int as n from pg_locks where locktype = 'advisory' and classid = 20170 and objsubid = 2 and not granted
          and database = (select oid from pg_database where datname = current_database())`)
        )[0]!.n,
      );
    const deadlocksBefore = await deadlocks(database);

    // The third transaction holds c's lock until both batches are under way.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let holding = false;
    const holderDone = inTransaction(holder, async (run) => {
      await lockLanes(run, [c]);
      holding = true;
      await held;
    });
    await waitFor(() => holding, 5000, 'the lock of c to be held');
    const batch2 = insertOrdered(second, [event(b), event(c), event(y)], [b, c, y]);
    await waitFor(async () => (await waiting()) >= 1, 5000, 'batch 2 to wait for a lane lock');
    let batch1Settled = false;
    const batch1 = insertOrdered(first, [event(x), event(b)], [x, b]).finally(() => (batch1Settled = true));
    await waitFor(
      async () => batch1Settled || (await waiting()) >= 2,
      5000,
      'batch 1 to wait for a lane lock or finish',
    );
    release();
    await holderDone;

    const results = await Promise.allSettled([batch1, batch2]);
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [String((r.reason as Error).message)] : []));
    expect(failures).toEqual([]);
    expect((await database.rows<{ n: number }>(sql`select count(*)::int as n from webhook_events`))[0]!.n).toBe(4);
    expect(await deadlocks(database)).toBe(deadlocksBefore);
  }, 30_000);
});

/** Deadlocks PostgreSQL detected in this database (the cumulative statistics, read fresh). */
async function deadlocks(database: Database): Promise<number> {
  await database.rows(sql`select pg_stat_clear_snapshot()`);
  const [row] = await database.rows<{ n: number }>(
    sql`select deadlocks::int as n from pg_stat_database where datname = current_database()`,
  );
  return row!.n;
}
