// Migration 0019 converts an existing database: a gateway upgraded with history keeps every event,
// attempt and delivery row with its id, continues the ids, and still deduplicates the old keys.
import { rmSync } from 'node:fs';
import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { runMigrations } from '../src/db/migrate';
import { createEventStore } from '../src/store/events';
import { createGroupCommit } from '../src/store/group-commit';
import { createQueue } from '../src/worker/queue-sql';
import { createTestDatabase, databaseKinds, type TestDatabase } from './helpers/database';
import { migrateFrom, migrationsBefore } from './helpers/migrations';

const event = (webhookId: string, body: string) => ({
  source: 'upgrade',
  webhookId,
  topic: 't',
  body: Buffer.from(body),
  headers: {},
  maxAttempts: 8,
});

describe.each(databaseKinds())('migration 0019 (partitioned history) on %s', (kind) => {
  let testDb: TestDatabase;
  const folders: string[] = [];
  afterAll(async () => {
    await testDb?.drop();
    for (const dir of folders) rmSync(dir, { recursive: true, force: true });
  });

  it('keeps every row and id, continues the ids and still deduplicates the old keys', async () => {
    testDb = await createTestDatabase(kind);
    const database = await testDb.open();
    const folder = migrationsBefore(19);
    folders.push(folder);
    await migrateFrom(folder, database, testDb);

    // History as the previous release left it: days apart, one event before 0006 (no content hash),
    // one still due with its queue row, attempts, deliveries, a conflict and an audit reference.
    await database.rows(sql`
      insert into webhook_events (source, webhook_id, topic, body, content_hash, status, attempts, received_at, processed_at)
      values ('upgrade', 'old', 't', '{"n":1}', null, 'completed', 1, now() - interval '40 days', now() - interval '40 days'),
             ('upgrade', 'week', 't', '{"n":2}', sha256('{"n":2}'), 'failed', 8, now() - interval '7 days', now() - interval '6 days'),
             ('upgrade', 'due', 't', '{"n":3}', sha256('{"n":3}'), 'received', 0, now(), null)`);
    await database.rows(sql`insert into event_queue (event_id) select id from webhook_events where webhook_id = 'due'`);
    await database.rows(sql`
      insert into processing_log (event_id, attempt, worker, started_at, finished_at, outcome)
      select id, 1, 'old-host:1', received_at, received_at, 'completed' from webhook_events where status <> 'received'`);
    await database.rows(sql`
      insert into delivery_attempts (event_id, attempt, destination, started_at, duration_ms, outcome)
      select id, 1, 'crm', received_at, 5, 'delivered' from webhook_events where webhook_id = 'old'`);
    await database.rows(sql`
      insert into event_conflicts (event_id, source, webhook_id, content_hash, body, body_size)
      select id, source, webhook_id, sha256('{"n":9}'), '{"n":9}', 7 from webhook_events where webhook_id = 'week'`);
    type Snapshot = { t: string; id: string | number; event_id: string | number | null }[];
    const snapshot = () =>
      database.rows<Snapshot[number]>(sql`
        select 'event' as t, id, null as event_id from webhook_events
        union all select 'attempt', id, event_id from processing_log
        union all select 'delivery', id, event_id from delivery_attempts
        union all select 'conflict', id, event_id from event_conflicts
        union all select 'queue', event_id, event_id from event_queue
        order by 1, 2`);
    const before = await snapshot();
    const [maxBefore] = await database.rows<{ id: string | number }>(sql`select max(id) as id from webhook_events`);

    await runMigrations(database, testDb.url);

    expect(await snapshot()).toEqual(before);
    // Every day of history in its own partition, the due event in today's.
    const homes = await database.rows<{ webhook_id: string; home: string; today: boolean }>(sql`
      select webhook_id, tableoid::regclass::text as home,
             tableoid::regclass::text = 'webhook_events_p' || to_char(now() at time zone 'UTC', 'YYYYMMDD') as today
      from webhook_events order by id`);
    expect(homes.map((h) => h.home.startsWith('webhook_events_p'))).toEqual([true, true, true]);
    expect(new Set(homes.map((h) => h.home)).size).toBe(3);
    expect(homes.find((h) => h.webhook_id === 'due')!.today).toBe(true);
    const [keys] = await database.rows<{ n: number }>(sql`select count(*)::int as n from event_keys`);
    expect(keys!.n).toBe(3);
    // The notify triggers of 0002 (workers' wake-ups, the live stream) are on the new table.
    const triggers = await database.rows<{ name: string }>(sql`
      select tgname as name from pg_trigger where tgrelid = 'webhook_events'::regclass and not tgisinternal order by 1`);
    expect(triggers.map((t) => t.name)).toEqual(['webhook_events_notify_insert', 'webhook_events_notify_update']);

    // New events continue the ids; old keys are duplicates (same bytes, also the pre-0006 row) or
    // conflicts (other bytes) through both insert paths.
    const store = createEventStore(database);
    const batcher = createGroupCommit({ database, store });
    const idOf = (result: Awaited<ReturnType<typeof store.insert>>) => (result.status === 'accepted' ? result.id : -1);
    const fresh = idOf(await batcher.insert(event('fresh', '{"n":4}')));
    expect(fresh).toBeGreaterThan(Number(maxBefore!.id));
    expect(idOf(await store.insert(event('fresh-2', '{"n":5}')))).toBeGreaterThan(fresh);
    expect(await batcher.insert(event('old', '{"n":1}'))).toEqual({ status: 'duplicate' });
    expect(await store.insert(event('week', '{"n":2}'))).toEqual({ status: 'duplicate' });
    const conflict = await batcher.insert(event('old', '{"n":1, "changed": true}'));
    expect(conflict.status).toBe('conflict');
    expect(await batcher.insert(event('fresh', '{"n":4}'))).toEqual({ status: 'duplicate' });

    // The worker finds the converted queue row and the new events, and finishes them.
    const queue = createQueue(database);
    const claimed = await queue.claim('new-host:1', 10);
    expect(claimed.map((e) => e.webhookId).sort()).toEqual(['due', 'fresh', 'fresh-2']);
    const written = await queue.finishMany(claimed.map((e) => ({ event: e, result: { outcome: 'completed' } })));
    expect(written.size).toBe(3);
    const [done] = await database.rows<{ n: number }>(sql`
      select count(*)::int as n from processing_log where worker = 'new-host:1' and outcome = 'completed'`);
    expect(done!.n).toBe(3);
  }, 120_000);
});
