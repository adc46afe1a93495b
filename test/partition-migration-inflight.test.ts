// Migration 0019 on a database with events in flight: one claimed by a worker of the previous
// release (its attempt-log row 'running'), one of a day long past retention still waiting for a
// retry. After the upgrade, retention keeps that day, lease recovery finishes the interrupted
// attempt in place, and the worker completes both: nothing acknowledged is lost.
import { rmSync } from 'node:fs';
import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { runMigrations } from '../src/db/migrate';
import { createPartitions } from '../src/store/partitions';
import { createQueue } from '../src/worker/queue-sql';
import { createTestDatabase, databaseKinds, type TestDatabase } from './helpers/database';
import { migrateFrom, migrationsBefore } from './helpers/migrations';

describe.each(databaseKinds())('migration 0019 with events in flight, on %s', (kind) => {
  let testDb: TestDatabase;
  const folders: string[] = [];
  afterAll(async () => {
    await testDb?.drop();
    for (const dir of folders) rmSync(dir, { recursive: true, force: true });
  });

  it('keeps a claimed event and an old event awaiting its retry, and the worker finishes both', async () => {
    testDb = await createTestDatabase(kind);
    const database = await testDb.open();
    const folder = migrationsBefore(19);
    folders.push(folder);
    await migrateFrom(folder, database, testDb);

    await database.rows(sql`
      insert into webhook_events (source, webhook_id, topic, body, content_hash, status, attempts, received_at, next_attempt_at)
      values ('up', 'claimed', 't', '{"n":1}', sha256('{"n":1}'), 'received', 0, now() - interval '10 minutes', now()),
             ('up', 'retrying', 't', '{"n":2}', sha256('{"n":2}'), 'received', 3, now() - interval '100 days',
              now() - interval '1 minute')`);
    // The previous release's claim: the queue row holds it, the attempt-log row says 'running'.
    await database.rows(sql`
      insert into processing_log (event_id, attempt, worker, started_at, outcome)
      select id, 1, 'old-host:1', now() - interval '10 minutes', 'running' from webhook_events where webhook_id = 'claimed'`);
    await database.rows(sql`
      insert into event_queue (event_id, run_at, locked_by, locked_at, claim_token, attempt_id, attempt)
      select e.id, now(), 'old-host:1', now() - interval '10 minutes', gen_random_uuid(), p.id, 1
      from webhook_events e join processing_log p on p.event_id = e.id where e.webhook_id = 'claimed'`);
    await database.rows(sql`
      insert into event_queue (event_id, run_at) select id, now() - interval '1 minute' from webhook_events where webhook_id = 'retrying'`);

    await runMigrations(database, testDb.url);

    // Retention right after the upgrade keeps the old day: its event still waits for a retry.
    const retention = await createPartitions(database).dropExpired({ completedDays: 30, failedDays: 90 });
    expect(retention.kept.map((k) => k.reason)).toEqual(['an event of this day is queued or being processed']);
    const [key] = await database.rows<{ n: number }>(
      sql`select count(*)::int as n from event_keys where source = 'up'`,
    );
    expect(key!.n).toBe(2);

    const queue = createQueue(database);
    expect(await queue.recoverExpiredLeases(60)).toBe(1);
    const claimed = await queue.claim('new-host:1', 10);
    expect(claimed.map((e) => e.webhookId).sort()).toEqual(['claimed', 'retrying']);
    const written = await queue.finishMany(claimed.map((e) => ({ event: e, result: { outcome: 'completed' } })));
    expect(written.size).toBe(2);
    const log = await database.rows<{ webhook_id: string; worker: string; outcome: string }>(sql`
      select e.webhook_id, p.worker, p.outcome from processing_log p join webhook_events e on e.id = p.event_id
      order by e.webhook_id, p.id`);
    expect(log).toEqual([
      { webhook_id: 'claimed', worker: 'old-host:1', outcome: 'abandoned' },
      { webhook_id: 'claimed', worker: 'new-host:1', outcome: 'completed' },
      { webhook_id: 'retrying', worker: 'new-host:1', outcome: 'completed' },
    ]);
    const events = await database.rows<{ webhook_id: string; status: string }>(
      sql`select webhook_id, status from webhook_events order by webhook_id`,
    );
    expect(events).toEqual([
      { webhook_id: 'claimed', status: 'completed' },
      { webhook_id: 'retrying', status: 'completed' },
    ]);
  }, 120_000);
});
