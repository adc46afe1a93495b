// Migration 0007 converts an existing database: a gateway upgraded with events in every state keeps
// processing them. Applied on top of a database migrated to the previous release (0000–0005) that
// already holds due, scheduled, claimed and finished events.
import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { runMigrations } from '../src/db/migrate';
import { createQueue } from '../src/worker/queue-sql';
import { createTestDatabase, databaseKinds, type TestDatabase } from './helpers/database';
import { migrateToPreviousRelease } from './helpers/previous-release';

describe.each(databaseKinds())('migration 0007 (event_queue) on %s', (kind) => {
  let testDb: TestDatabase;
  afterAll(async () => {
    await testDb?.drop();
  });

  it('queues every unfinished event with its lease, and the worker picks them up', async () => {
    testDb = await createTestDatabase(kind);
    const database = await testDb.open();
    await migrateToPreviousRelease(testDb, database, 7);
    const [before] = await database.rows<{ queue: string | null }>(
      sql`select to_regclass('event_queue')::text as queue`,
    );
    expect(before!.queue).toBeNull();

    // Events as the previous release left them.
    const insert = (webhookId: string, status: string, extra: string) =>
      database.rows(
        sql.raw(`insert into webhook_events (source, webhook_id, topic, body, status, attempts, next_attempt_at,
                   locked_by, locked_at, claim_token)
                 values ('upgrade', '${webhookId}', 't', '\\x7b7d', '${status}', ${extra})`),
      );
    await insert('due', 'received', `0, now() - interval '1 minute', null, null, null`);
    await insert('retry-later', 'received', `1, now() + interval '1 hour', null, null, null`);
    await insert('claimed', 'processing', `1, now(), 'old-host:1', now() - interval '10 minutes', gen_random_uuid()`);
    await insert('done', 'completed', `1, now(), null, null, null`);
    await insert('dead', 'failed', `8, now(), null, null, null`);
    await database.rows(sql`
      insert into processing_log (event_id, attempt, worker, outcome)
      select id, 1, 'old-host:1', 'running' from webhook_events where webhook_id = 'claimed'`);

    await runMigrations(database, testDb.url);

    const queued = await database.rows<{
      webhook_id: string;
      claimed: boolean;
      has_attempt: boolean;
      due: boolean;
    }>(sql`
      select e.webhook_id, q.claim_token is not null as claimed, q.attempt_id is not null as has_attempt,
             q.run_at <= now() as due
      from event_queue q join webhook_events e on e.id = q.event_id order by e.webhook_id`);
    expect(queued).toEqual([
      { webhook_id: 'claimed', claimed: true, has_attempt: true, due: true },
      { webhook_id: 'due', claimed: false, has_attempt: false, due: true },
      { webhook_id: 'retry-later', claimed: false, has_attempt: false, due: false },
    ]);

    // The old worker's lease (10 minutes old) is recovered; then the due events are claimed, the
    // one scheduled for later is not.
    const queueSql = createQueue(database);
    expect(await queueSql.recoverExpiredLeases(30)).toBe(1);
    const [log] = await database.rows<{ outcome: string }>(sql`
      select p.outcome from processing_log p join webhook_events e on e.id = p.event_id where e.webhook_id = 'claimed'`);
    expect(log!.outcome).toBe('abandoned');
    const claimed = await queueSql.claim('new-host:2', 10);
    expect(claimed.map((e) => e.webhookId).sort()).toEqual(['claimed', 'due']);
    const written = await queueSql.finishMany(claimed.map((event) => ({ event, result: { outcome: 'completed' } })));
    expect(written.size).toBe(2);
    const left = await database.rows<{ webhook_id: string }>(sql`
      select e.webhook_id from event_queue q join webhook_events e on e.id = q.event_id`);
    expect(left).toEqual([{ webhook_id: 'retry-later' }]);
    await queueSql.maintain();
  }, 120_000);
});
