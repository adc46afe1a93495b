// The exactly-once keys of days retention drops go after their day, never before
// (src/store/dropped-day-keys.ts): found from the keys themselves, so a run that stopped between a
// drop and its keys leaves nothing behind for good; and the keys of past days' events that sit in
// the default partition (no day partition existed when they arrived) are left to the row purge,
// which deletes each with its event.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../src/db/client';
import { runMigrations } from '../src/db/migrate';
import { createEventStore } from '../src/store/events';
import { createPartitions } from '../src/store/partitions';
import { createRetention } from '../src/store/retention';
import { createTestDatabase, databaseKinds, type TestDatabase } from './helpers/database';
import { partitionDay as day } from './helpers/partition-tests';

const retention = { completedDays: 30, failedDays: 90 };
const copyOf = (webhookId: string) => ({
  source: 'old',
  webhookId,
  topic: 't',
  body: Buffer.from('{}'),
  headers: {},
  maxAttempts: 8,
});

describe.each(databaseKinds())('keys of dropped days on %s', (kind) => {
  let testDb: TestDatabase;
  let database: Database;
  const count = async (query: ReturnType<typeof sql>) => Number((await database.rows<{ n: number }>(query))[0]!.n);
  const keysOf = (pattern: string) =>
    count(sql`select count(*)::int as n from event_keys where webhook_id like ${pattern}`);

  /** An event received `daysAgo` and finished `finishedHoursAgo`, with its key, as ingest and the worker leave it. */
  async function oldEvent(webhookId: string, status: string, daysAgo: number, finishedHoursAgo = daysAgo * 24) {
    const [row] = await database.rows<{ id: number }>(sql`
      with e as (
        insert into webhook_events (source, webhook_id, topic, body, content_hash, status, attempts, received_at, processed_at)
        values ('old', ${webhookId}, 't', '\\x7b7d', sha256('\\x7b7d'), ${status}, 1,
                now() - make_interval(days => ${daysAgo}), now() - make_interval(hours => ${finishedHoursAgo}))
        returning id, source, webhook_id, content_hash, received_at
      ), k as (
        insert into event_keys (source, webhook_id, event_id, content_hash, received_at)
        select source, webhook_id, id, content_hash, received_at from e
      )
      select id::int as id from e`);
    return row!.id;
  }
  const ensureDay = (daysAgo: number) =>
    database.rows(sql`select gateway_ensure_partition(t, ((now() - make_interval(days => ${daysAgo})) at time zone 'UTC')::date)
      from unnest(array['webhook_events', 'processing_log', 'delivery_attempts']) t`);

  beforeAll(async () => {
    testDb = await createTestDatabase(kind);
    database = await testDb.open();
    await runMigrations(database, testDb.url);
  }, 60_000);
  afterAll(() => testDb?.drop());

  it('events of a past day in the default partition keep their keys through day drops, and lose them with the row purge', async () => {
    // No partition for 100 days ago: these two land in the default partition. One failed an hour
    // ago (kept for RETENTION_FAILED_DAYS), one completed 100 days ago.
    await oldEvent('default-failed', 'failed', 100, 1);
    await oldEvent('default-completed', 'completed', 100);
    expect(
      await count(sql`select count(*)::int as n from webhook_events_default where webhook_id like 'default-%'`),
    ).toBe(2);
    // A day next to it that retention drops, so the run deletes keys of a past day.
    await ensureDay(101);
    await oldEvent('dropped', 'completed', 101);

    const run = await createPartitions(database).dropExpired(retention);
    expect(run.dropped).toContain(`webhook_events_p${day(-101)}`);
    expect(run.keysDeleted).toBe(1);
    expect(await keysOf('dropped')).toBe(0);
    expect(await keysOf('default-%')).toBe(2);
    const store = createEventStore(database);
    expect(await store.insert(copyOf('default-completed'))).toEqual({ status: 'duplicate' });
    expect(await store.insert(copyOf('default-failed'))).toEqual({ status: 'duplicate' });

    // The row purge deletes the completed one with its key; the failed one stays, key and all.
    const purged = await createRetention(database).purge({ ...retention, batchSize: 10 });
    expect(purged).toEqual({ completed: 1, failed: 0 });
    expect(await keysOf('default-completed')).toBe(0);
    expect(await keysOf('default-failed')).toBe(1);
    expect(await store.insert(copyOf('default-failed'))).toEqual({ status: 'duplicate' });
    expect((await store.insert(copyOf('default-completed'))).status).toBe('accepted');
    // Later runs leave the default partition's keys alone.
    expect((await createPartitions(database).dropExpired(retention)).keysDeleted).toBe(0);
    expect(await keysOf('default-failed')).toBe(1);
  });

  it('the keys of a day dropped by a run that stopped before deleting them go at the next run', async () => {
    await ensureDay(102);
    const id = await oldEvent('stopped', 'completed', 102);
    await database.rows(sql`
      insert into event_conflicts (event_id, source, webhook_id, content_hash, body, body_size)
      values (${id}, 'old', 'stopped', sha256('\\x00'), '\\x00', 1)`);
    await database.rows(sql`
      insert into system_log (occurred_at, category, event_type, source_event_id) values (now(), 'c', 't', ${id})`);
    // What a run leaves when its process dies right after the drop committed.
    await database.rows(sql`drop table ${sql.identifier(`webhook_events_p${day(-102)}`)}`);

    // Until the next run the key outlives its event: a copy is acknowledged as a duplicate.
    const store = createEventStore(database);
    expect(await store.insert(copyOf('stopped'))).toEqual({ status: 'duplicate' });

    const run = await createPartitions(database).dropExpired(retention);
    expect(run.keysDeleted).toBe(1);
    expect(await keysOf('stopped')).toBe(0);
    expect(await count(sql`select count(*)::int as n from event_conflicts where event_id = ${id}`)).toBe(0);
    expect(await count(sql`select count(*)::int as n from system_log where source_event_id = ${id}`)).toBe(0);
    expect((await store.insert(copyOf('stopped'))).status).toBe('accepted');
  });
});
