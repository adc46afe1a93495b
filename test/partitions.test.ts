// Day partitions of the history (migration 0019): created ahead without racing, rows that landed in
// the default partition moved out, and retention dropping whole days only when nothing of them is
// due, claimed or recently replayed — with their keys, logs and audit references.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../src/db/client';
import { runMigrations } from '../src/db/migrate';
import { createEventStore } from '../src/store/events';
import { createPartitions } from '../src/store/partitions';
import { createRetention } from '../src/store/retention';
import { DAY_MS, restoreClock, stepClock } from './helpers/clock';
import { createTestDatabase, databaseKinds, type TestDatabase } from './helpers/database';
import { partitionDay as day } from './helpers/partition-tests';

describe.each(databaseKinds())('history partitions on %s', (kind) => {
  let testDb: TestDatabase;
  let database: Database;
  const count = async (query: ReturnType<typeof sql>) => Number((await database.rows<{ n: number }>(query))[0]!.n);
  const partitionsOf = async (table: string) =>
    (
      await database.rows<{ name: string }>(sql`
        select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
        where i.inhparent = ${table}::regclass order by 1`)
    ).map((r) => r.name);

  /** A finished event received `daysAgo`, with its key, one attempt and one delivery, as ingest and the worker leave it. */
  async function oldEvent(webhookId: string, daysAgo: number, status = 'completed'): Promise<number> {
    const [row] = await database.rows<{ id: number }>(sql`
      with e as (
        insert into webhook_events (source, webhook_id, topic, body, content_hash, status, attempts, received_at, processed_at)
        values ('old', ${webhookId}, 't', '\\x7b7d', sha256('\\x7b7d'), ${status}, 1,
                now() - make_interval(days => ${daysAgo}), now() - make_interval(days => ${daysAgo}))
        returning id, source, webhook_id, content_hash, received_at
      ), k as (
        insert into event_keys (source, webhook_id, event_id, content_hash, received_at)
        select source, webhook_id, id, content_hash, received_at from e
      ), p as (
        insert into processing_log (event_id, attempt, worker, started_at, finished_at, outcome)
        select id, 1, 'w', received_at, received_at, 'completed' from e
      ), a as (
        insert into delivery_attempts (event_id, attempt, destination, started_at, duration_ms, outcome)
        select id, 1, 'crm', received_at, 3, 'delivered' from e
      )
      select id::int as id from e`);
    return row!.id;
  }

  beforeAll(async () => {
    testDb = await createTestDatabase(kind);
    database = await testDb.open();
    await runMigrations(database, testDb.url);
  }, 60_000);
  afterAll(async () => {
    await testDb?.drop();
  });

  it('creates the days ahead once, even when two gateways do it at the same time', async () => {
    const partitions = createPartitions(database);
    const other = createPartitions(await testDb.open());
    const made = await Promise.all([partitions.createAhead(10), other.createAhead(10)]);
    // The migration made today and a week ahead; days 8 to 10 were missing, for each of three tables.
    expect(made[0]! + made[1]!).toBe(9);
    for (const table of ['webhook_events', 'processing_log', 'delivery_attempts']) {
      const names = await partitionsOf(table);
      expect(names).toContain(`${table}_p${day(10)}`);
      expect(names).toContain(`${table}_default`);
    }
    expect(await partitions.createAhead(10)).toBe(0);
  });

  it('never refuses an insert: a day without partition lands in the default one and moves out with its partition', async () => {
    const store = createEventStore(database);
    await database.rows(sql`
      insert into webhook_events (source, webhook_id, topic, body, received_at)
      values ('future', 'f1', 't', '\\x7b7d', now() + interval '30 days')`);
    expect(await count(sql`select count(*)::int as n from webhook_events_default`)).toBe(1);
    await database.rows(
      sql`select gateway_ensure_partition('webhook_events', ((now() + interval '30 days') at time zone 'UTC')::date)`,
    );
    expect(await count(sql`select count(*)::int as n from webhook_events_default`)).toBe(0);
    const [moved] = await database.rows<{ home: string }>(sql`
      select tableoid::regclass::text as home from webhook_events where webhook_id = 'f1'`);
    expect(moved!.home).toBe(`webhook_events_p${day(30)}`);
    // Ingest goes on meanwhile (today's partition).
    expect(
      (
        await store.insert({
          source: 'now',
          webhookId: 'n1',
          topic: 't',
          body: Buffer.from('{}'),
          headers: {},
          maxAttempts: 8,
        })
      ).status,
    ).toBe('accepted');
  });

  it('retention drops whole days past the window, keeps days with queued or replayed events, and their logs go with them', async () => {
    const partitions = createPartitions(database);
    // Three days of history a hundred days back: one finished, one with an event still queued,
    // one with an event replayed yesterday (completed since).
    for (const d of [100, 101, 102])
      await database.rows(sql`select gateway_ensure_partition(t, ((now() - make_interval(days => ${d})) at time zone 'UTC')::date)
      from unnest(array['webhook_events', 'processing_log', 'delivery_attempts']) t`);
    const gone = await oldEvent('gone-1', 100);
    await oldEvent('gone-2', 100, 'failed');
    const queued = await oldEvent('queued', 101);
    await database.rows(sql`insert into event_queue (event_id, run_at, received_at, source)
      select id, now() + interval '1 hour', received_at, source from webhook_events where id = ${queued}`);
    const replayed = await oldEvent('replayed', 102);
    await database.rows(sql`update webhook_events set replayed_at = now() - interval '1 day' where id = ${replayed}`);
    await database.rows(sql`
      insert into event_conflicts (event_id, source, webhook_id, content_hash, body, body_size)
      values (${gone}, 'old', 'gone-1', sha256('\\x00'), '\\x00', 1)`);
    await database.rows(sql`
      insert into system_log (occurred_at, category, event_type, source_event_id) values (now(), 'c', 't', ${gone})`);

    const result = await partitions.dropExpired({ completedDays: 30, failedDays: 90 });
    expect(result.dropped).toContain(`webhook_events_p${day(-100)}`);
    expect(result.kept.map((k) => k.name).sort()).toEqual([
      `webhook_events_p${day(-102)}`,
      `webhook_events_p${day(-101)}`,
    ]);
    expect(result.kept.map((k) => k.reason).sort()).toEqual([
      'an event of this day is queued or being processed',
      'an event of this day was replayed within the retention window',
    ]);
    expect(await count(sql`select count(*)::int as n from webhook_events where source = 'old'`)).toBe(2);
    expect(await count(sql`select count(*)::int as n from event_keys where webhook_id like 'gone-%'`)).toBe(0);
    expect(await count(sql`select count(*)::int as n from event_keys where webhook_id in ('queued', 'replayed')`)).toBe(
      2,
    );
    expect(await count(sql`select count(*)::int as n from event_conflicts where event_id = ${gone}`)).toBe(0);
    expect(await count(sql`select count(*)::int as n from system_log where source_event_id is not null`)).toBe(0);
    // Logs of a day go only when no event they could belong to is left: the 102-day-old one is kept.
    expect(await partitionsOf('processing_log')).toContain(`processing_log_p${day(-100)}`);
    expect(await count(sql`select count(*)::int as n from processing_log where event_id = ${replayed}`)).toBe(1);

    // Once the queued event is done and the replay is old, the kept days go too, then their logs.
    await database.rows(sql`delete from event_queue where event_id = ${queued}`);
    await database.rows(sql`update webhook_events set replayed_at = now() - interval '95 days' where id = ${replayed}`);
    const later = await partitions.dropExpired({ completedDays: 30, failedDays: 90 });
    expect(later.kept).toEqual([]);
    for (const d of [-100, -101, -102]) {
      expect(later.dropped).toContain(`processing_log_p${day(d)}`);
      expect(later.dropped).toContain(`delivery_attempts_p${day(d)}`);
    }
    expect(await count(sql`select count(*)::int as n from webhook_events where source = 'old'`)).toBe(0);
    expect(await count(sql`select count(*)::int as n from event_keys where source = 'old'`)).toBe(0);
  });

  // PostgreSQL only: PGlite runs in the gateway's process, so its clock is the gateway's clock.
  it.runIf(kind === 'postgres')(
    "retention reads the database server's clock: a gateway clock a year ahead drops no day inside the window",
    async () => {
      await database.rows(sql`select gateway_ensure_partition(t, ((now() - interval '20 days') at time zone 'UTC')::date)
      from unnest(array['webhook_events', 'processing_log', 'delivery_attempts']) t`);
      await oldEvent('recent', 20);
      const recentDay = `webhook_events_p${day(-20)}`;
      stepClock(365 * DAY_MS);
      try {
        const result = await createPartitions(database).dropExpired({ completedDays: 30, failedDays: 90 });
        expect(result.dropped).not.toContain(recentDay);
      } finally {
        restoreClock();
      }
      expect(await count(sql`select count(*)::int as n from webhook_events where webhook_id = 'recent'`)).toBe(1);
    },
  );

  it('two gateways dropping the same day at once: one drops it, neither fails', async () => {
    await database.rows(sql`select gateway_ensure_partition(t, ((now() - interval '120 days') at time zone 'UTC')::date)
      from unnest(array['webhook_events', 'processing_log', 'delivery_attempts']) t`);
    await oldEvent('twice', 120);
    const options = { completedDays: 30, failedDays: 90 };
    const results = await Promise.all([
      createPartitions(database).dropExpired(options),
      createPartitions(await testDb.open()).dropExpired(options),
    ]);
    const dropped = results.flatMap((r) => r.dropped);
    expect(dropped.filter((name) => name === `webhook_events_p${day(-120)}`)).toHaveLength(1);
    expect(await count(sql`select count(*)::int as n from webhook_events where webhook_id = 'twice'`)).toBe(0);
    expect(await count(sql`select count(*)::int as n from event_keys where webhook_id = 'twice'`)).toBe(0);
  });

  it('row retention still deletes finished events of kept days, with their key and logs', async () => {
    const id = await oldEvent('in-default', 40);
    const purged = await createRetention(database).purge({ completedDays: 30, failedDays: 90, batchSize: 10 });
    expect(purged.completed).toBeGreaterThanOrEqual(1);
    expect(await count(sql`select count(*)::int as n from webhook_events where id = ${id}`)).toBe(0);
    expect(await count(sql`select count(*)::int as n from event_keys where event_id = ${id}`)).toBe(0);
    expect(await count(sql`select count(*)::int as n from processing_log where event_id = ${id}`)).toBe(0);
    expect(await count(sql`select count(*)::int as n from delivery_attempts where event_id = ${id}`)).toBe(0);
    // The key is free again: the same delivery is a new event, as before partitioning.
    const store = createEventStore(database);
    const again = await store.insert({
      source: 'old',
      webhookId: 'in-default',
      topic: 't',
      body: Buffer.from('{}'),
      headers: {},
      maxAttempts: 8,
    });
    expect(again.status).toBe('accepted');
  });
});
