// The row purge (src/store/retention.ts) reads only the days past its cutoff: with 35 days of
// history, each of its statements is run under EXPLAIN (ANALYZE, BUFFERS) and the day partitions of
// webhook_events and processing_log it scanned are read off the plan. It used to read every day
// kept: to find nothing to delete (4 s a run with 1 M events), as a hash of all history to delete a
// batch (8.7 s a batch), and every attempt and delivery kept, as hashes, to delete a batch's logs
// (docs/performance.md). Deliveries have no bound (a late one may start after the cutoff, see
// retention.ts): their days are all probed, by index.
import { sql, type SQL } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../src/db/client';
import { runMigrations } from '../src/db/migrate';
import { createRetention } from '../src/store/retention';
import { createTestDatabase, databaseKinds, type TestDatabase } from './helpers/database';
import { partitionDay } from './helpers/partition-tests';
import { explaining, partitionsReadWhole, partitionsScanned, type Explained } from './helpers/plans';

const HISTORY_DAYS = 35;
const EVENTS_PER_DAY = 100;
// The events of the last two days have this many more attempts and deliveries each: day partitions
// of logs large enough that reading one whole costs more than probing its index for a batch.
const BUSY_LOGS = 200;

describe.each(databaseKinds())('the row purge reads only the days past retention, on %s', (kind) => {
  let testDb: TestDatabase;
  let database: Database;
  const plans: Explained[] = [];

  type Table = 'webhook_events' | 'processing_log' | 'delivery_attempts';

  /** The day partitions of `table` (not the default one) scanned by the purge's statements. */
  function daysScanned(table: Table): string[] {
    const days = new Set<string>();
    for (const { plan } of plans)
      for (const name of partitionsScanned(plan).get(table) ?? [])
        if (!name.endsWith('_default')) days.add(name.slice(`${table}_p`.length));
    return [...days].sort();
  }

  /** Runs the purge with every statement explained; returns how many completed events went. */
  async function purge(completedDays: number): Promise<number> {
    plans.length = 0;
    const purged = await createRetention(explaining(database, plans)).purge({
      completedDays,
      failedDays: 90,
      batchSize: 1000,
    });
    expect(plans.length).toBeGreaterThan(0);
    return purged.completed;
  }

  const count = async (query: SQL) => (await database.rows<{ n: number }>(query))[0]!.n;

  beforeAll(async () => {
    testDb = await createTestDatabase(kind);
    database = await testDb.open();
    await runMigrations(database, testDb.url);
    await database.rows(sql`
      select gateway_ensure_partition(t, (now() at time zone 'UTC')::date - d)
      from unnest(array['webhook_events', 'processing_log', 'delivery_attempts']) t, generate_series(0, ${HISTORY_DAYS}::int) d`);
    // Completed events of each day, as the worker leaves them, with their keys, the attempt that
    // completed them and its delivery.
    await database.rows(sql`
      with e as (
        insert into webhook_events (source, webhook_id, topic, body, content_hash, status, attempts, received_at, processed_at)
        select 'history', 'h-' || d || '-' || n, 't', '\\x7b7d', sha256('\\x7b7d'), 'completed', 1, t, t + interval '1 second'
        from generate_series(1, ${HISTORY_DAYS}::int) d, generate_series(1, ${EVENTS_PER_DAY}::int) n,
             -- Noon (UTC) of each day, minus up to 100 minutes: a day's events fall in that day's
             -- partition whatever the time the test runs (from now() they crossed midnight after 00:00).
             lateral (select date_trunc('day', now() at time zone 'UTC') at time zone 'UTC' + interval '12 hours'
                             - make_interval(days => d) - make_interval(mins => n) as t) x
        returning id, source, webhook_id, content_hash, received_at, processed_at
      ),
      k as (insert into event_keys (source, webhook_id, event_id, content_hash, received_at)
            select source, webhook_id, id, content_hash, received_at from e),
      p as (insert into processing_log (event_id, attempt, worker, started_at, finished_at, outcome)
            select id, 1, 'w', received_at, processed_at, 'completed' from e)
      insert into delivery_attempts (event_id, attempt, destination, started_at, duration_ms, outcome, http_status)
      select id, 1, 'crm', received_at + interval '500 milliseconds', 5, 'delivered', 200 from e`);
    // An event received 34 days ago and replayed 31 days ago: its second attempt is in a later day.
    // And a late delivery, logged yesterday by a worker whose lease had expired, of an event that
    // finished 33 days ago: past the cutoff by its event, inside the window by its own start.
    await database.rows(sql`
      with replayed as (
        update webhook_events set attempts = 2, processed_at = now() - interval '31 days', replayed_at = now() - interval '31 days'
        where webhook_id = 'h-34-1' returning id
      )
      insert into processing_log (event_id, attempt, worker, started_at, finished_at, outcome)
      select id, 2, 'w', now() - interval '31 days' - interval '1 second', now() - interval '31 days', 'completed' from replayed`);
    await database.rows(sql`
      insert into delivery_attempts (event_id, attempt, destination, started_at, duration_ms, outcome, http_status)
      select id, 1, 'erp', now() - interval '1 day', 5, 'delivered', 200 from webhook_events where webhook_id = 'h-33-1'`);
    await database.rows(sql`
      with e as (select id, received_at from webhook_events where webhook_id like 'h-1-%' or webhook_id like 'h-2-%'),
      p as (insert into processing_log (event_id, attempt, worker, started_at, finished_at, outcome)
            select id, 1 + g, 'w', received_at, received_at, 'failed' from e, generate_series(1, ${BUSY_LOGS}::int) g)
      insert into delivery_attempts (event_id, attempt, destination, started_at, duration_ms, outcome, http_status)
      select id, 1 + g, 'crm', received_at, 5, 'failed', 500 from e, generate_series(1, ${BUSY_LOGS}::int) g`);
    if (kind === 'postgres') await database.rows(sql`analyze`);
  }, 180_000);
  afterAll(async () => {
    await database?.close();
    await testDb?.drop();
  });

  it('with nothing past retention, no day of events is read', async () => {
    expect(await purge(60)).toBe(0);
    expect(daysScanned('webhook_events')).toEqual([]);
  });

  it('a batch reads and deletes only the days past the cutoff, and its logs by index', async () => {
    // What the purge must leave: the attempts and deliveries of events well inside the window.
    const keptLogs = sql`select (select count(*) from processing_log p join webhook_events e on e.id = p.event_id
                                 where e.processed_at > now() - interval '29 days')::int
                              + (select count(*) from delivery_attempts a join webhook_events e on e.id = a.event_id
                                 where e.processed_at > now() - interval '29 days')::int as n`;
    const keptBefore = await count(keptLogs);
    const busy = new Set(
      (
        await database.rows<{ name: string }>(sql`
          select tableoid::regclass::text as name from processing_log group by 1 having count(*) > ${BUSY_LOGS * 10}
          union select tableoid::regclass::text from delivery_attempts group by 1 having count(*) > ${BUSY_LOGS * 10}`)
      ).map((r) => r.name),
    );
    expect(busy.size).toBe(4);
    // Days 31 to 35 ago, and the part of the day 30 days ago before the cutoff.
    expect(await purge(30)).toBeGreaterThanOrEqual(5 * EVENTS_PER_DAY);
    for (const table of ['webhook_events', 'processing_log'] as const) {
      const days = daysScanned(table);
      expect(days.length, table).toBeGreaterThan(0);
      for (const day of days) expect(day <= partitionDay(-30), `${table}_p${day} scanned`).toBe(true);
    }
    // Every day of deliveries is probed (no bound), by its event_id index: no busy day of logs is
    // read whole (a day of a few pages is: that is cheaper than its index).
    expect(daysScanned('delivery_attempts').length).toBeGreaterThan(30);
    for (const { plan } of plans)
      for (const table of ['processing_log', 'delivery_attempts'])
        for (const name of partitionsReadWhole(plan, table)) expect(busy.has(name), `${name} read whole`).toBe(false);

    expect(
      await count(sql`select count(*)::int as n from webhook_events where processed_at < now() - interval '30 days'`),
    ).toBe(0);
    // Every attempt and delivery of a purged event went (the replayed one's later attempt and the
    // late delivery too), and none of a kept one.
    for (const table of ['processing_log', 'delivery_attempts'])
      expect(
        await count(sql`select count(*)::int as n from ${sql.identifier(table)} l
                        where not exists (select 1 from webhook_events e where e.id = l.event_id)`),
        `${table} rows of purged events`,
      ).toBe(0);
    expect(await count(keptLogs)).toBe(keptBefore);
    expect(
      await count(sql`select count(*)::int as n from webhook_events e
                          where not exists (select 1 from processing_log p where p.event_id = e.id)
                             or not exists (select 1 from delivery_attempts a where a.event_id = e.id)`),
    ).toBe(0);
  });
});
