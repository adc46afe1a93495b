// Whole-day retention when the day cannot be locked in time (a long export or query reads it):
// the day stays, and so do its events' exactly-once keys (a copy of one of their deliveries is
// still a duplicate), conflicts and system log references; a day of attempt or delivery logs stays
// too, and the run goes on. PostgreSQL only: on PGlite nothing else holds a lock while retention runs.
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../src/db/client';
import { runMigrations } from '../src/db/migrate';
import { createEventStore } from '../src/store/events';
import { createPartitions } from '../src/store/partitions';
import { createTestDatabase, postgresUrl, type TestDatabase } from './helpers/database';
import { partitionDay as day } from './helpers/partition-tests';

const delivery = {
  source: 'old',
  webhookId: 'busy-day',
  topic: 't',
  body: Buffer.from('{}'),
  headers: {},
  maxAttempts: 8,
};

describe.runIf(postgresUrl())('dropping a day that a long statement reads, on postgres', () => {
  let testDb: TestDatabase;
  let database: Database;
  const count = async (query: ReturnType<typeof sql>) => Number((await database.rows<{ n: number }>(query))[0]!.n);

  beforeAll(async () => {
    testDb = await createTestDatabase('postgres');
    database = await testDb.open();
    await runMigrations(database, testDb.url);
  }, 60_000);
  afterAll(() => testDb?.drop());

  it('keeps the day and its keys when the lock is not granted, and drops both at a later run', async () => {
    await database.rows(sql`select gateway_ensure_partition(t, ((now() - interval '100 days') at time zone 'UTC')::date)
      from unnest(array['webhook_events', 'processing_log', 'delivery_attempts']) t`);
    // A delivery completed 100 days ago, with its key, as ingest and the worker left it.
    await database.rows(sql`
      with e as (
        insert into webhook_events (source, webhook_id, topic, body, content_hash, status, attempts, received_at, processed_at)
        values ('old', 'busy-day', 't', '\\x7b7d', sha256('\\x7b7d'), 'completed', 1,
                now() - interval '100 days', now() - interval '100 days')
        returning id, source, webhook_id, content_hash, received_at
      )
      insert into event_keys (source, webhook_id, event_id, content_hash, received_at)
      select source, webhook_id, id, content_hash, received_at from e`);
    // A conflicting copy of it, and the system log entry its handler wrote.
    await database.rows(sql`
      insert into event_conflicts (event_id, source, webhook_id, content_hash, body, body_size)
      select id, source, webhook_id, sha256('\\x00'), '\\x00', 1 from webhook_events where webhook_id = 'busy-day'`);
    await database.rows(sql`
      insert into system_log (occurred_at, category, event_type, source_event_id)
      select now(), 'c', 't', id from webhook_events where webhook_id = 'busy-day'`);
    const dependants = sql`select (select count(*) from event_conflicts) + (select count(*) from system_log
      where source_event_id is not null) as n`;
    const name = `webhook_events_p${day(-100)}`;

    // A long reader of that day (an export page, an operator's query) holds it across the run.
    const reader = postgres(testDb.url!, { max: 1, onnotice: () => {} });
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let reading!: () => void;
    const readingNow = new Promise<void>((resolve) => (reading = resolve));
    const readerDone = reader.begin(async (tx) => {
      await tx.unsafe(`select count(*) from ${name}`);
      reading();
      await released;
    });
    await readingNow;
    let outcome: unknown;
    try {
      outcome = await createPartitions(database)
        .dropExpired({ completedDays: 30, failedDays: 90 })
        .catch((err: unknown) => err);
    } finally {
      release();
      await readerDone;
      await reader.end();
    }

    // The event is still stored, so its key is too: a copy of the delivery is a duplicate.
    expect(await count(sql`select count(*)::int as n from webhook_events where webhook_id = 'busy-day'`)).toBe(1);
    expect(await count(sql`select count(*)::int as n from event_keys where webhook_id = 'busy-day'`)).toBe(1);
    const store = createEventStore(database);
    expect(await store.insert(delivery)).toEqual({ status: 'duplicate' });
    // Its conflict and system log reference stay with it.
    expect(await count(dependants)).toBe(2);
    // The run went on and says why the day stayed.
    expect(outcome).toMatchObject({
      kept: [{ name, reason: 'its lock was not granted within 5 s; the next run tries again' }],
    });

    // The next run, with nobody reading, drops the day with its key; a copy is then a new event (docs/operating.md).
    const later = await createPartitions(database).dropExpired({ completedDays: 30, failedDays: 90 });
    expect(later.dropped).toContain(name);
    expect(await count(sql`select count(*)::int as n from event_keys where webhook_id = 'busy-day'`)).toBe(0);
    expect(await count(dependants)).toBe(0);
    expect((await store.insert(delivery)).status).toBe('accepted');
  }, 30_000);

  it('keeps a day of logs whose lock is not granted, and the run goes on', async () => {
    await database.rows(sql`select gateway_ensure_partition(t, ((now() - interval '110 days') at time zone 'UTC')::date)
      from unnest(array['webhook_events', 'processing_log', 'delivery_attempts']) t`);
    await database.rows(sql`
      with e as (
        insert into webhook_events (source, webhook_id, topic, body, content_hash, status, attempts, received_at, processed_at)
        values ('old', 'busy-logs', 't', '\\x7b7d', sha256('\\x7b7d'), 'completed', 1,
                now() - interval '110 days', now() - interval '110 days')
        returning id, source, webhook_id, content_hash, received_at
      ), k as (
        insert into event_keys (source, webhook_id, event_id, content_hash, received_at)
        select source, webhook_id, id, content_hash, received_at from e
      )
      insert into processing_log (event_id, attempt, worker, started_at, finished_at, outcome)
      select id, 1, 'w', received_at, received_at, 'completed' from e`);
    const attempts = `processing_log_p${day(-110)}`;

    // A long reader of that day's attempt log (an export page, an operator's query).
    const reader = postgres(testDb.url!, { max: 1, onnotice: () => {} });
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let reading!: () => void;
    const readingNow = new Promise<void>((resolve) => (reading = resolve));
    const readerDone = reader.begin(async (tx) => {
      await tx.unsafe(`select count(*) from ${attempts}`);
      reading();
      await released;
    });
    await readingNow;
    let outcome: unknown;
    try {
      outcome = await createPartitions(database)
        .dropExpired({ completedDays: 30, failedDays: 90 })
        .catch((err: unknown) => err);
    } finally {
      release();
      await readerDone;
      await reader.end();
    }

    // The run went on past it: the day's events and delivery log went, and it says why this stayed.
    expect(outcome).toMatchObject({
      dropped: expect.arrayContaining([`webhook_events_p${day(-110)}`, `delivery_attempts_p${day(-110)}`]),
      kept: [{ name: attempts, reason: 'its lock was not granted within 5 s; the next run tries again' }],
    });
    const later = await createPartitions(database).dropExpired({ completedDays: 30, failedDays: 90 });
    expect(later.dropped).toContain(attempts);
  }, 30_000);
});
