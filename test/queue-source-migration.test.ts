// Migration 0025 gives every hot queue row its event's source: an upgraded gateway counts the
// queued events it already held per source, holds a paused source's queued events, and processes
// the rest.
import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { createControlStore } from '../src/control/store';
import { runMigrations } from '../src/db/migrate';
import { createStatsMinutes } from '../src/store/stats-minute';
import { createQueue } from '../src/worker/queue-sql';
import { createTestDatabase, databaseKinds, type TestDatabase } from './helpers/database';
import { migrateToPreviousRelease, storeEventBefore0025 } from './helpers/previous-release';

describe.each(databaseKinds())('migration 0025 (the queue row carries its source) on %s', (kind) => {
  let testDb: TestDatabase;
  afterAll(async () => {
    await testDb?.drop();
  });

  it('fills the source of every queued event, and claims and counts go by the queue row', async () => {
    testDb = await createTestDatabase(kind);
    const database = await testDb.open();
    await migrateToPreviousRelease(testDb, database, 25);

    // Queued events as the previous release stored them: key, archive row and queue row.
    const store = (source: string, webhookId: string) =>
      storeEventBefore0025(database, { source, webhookId, body: Buffer.from('{}') });
    await store('shop', 'a');
    await store('shop', 'b');
    await store('crm', 'c');
    await database.rows(
      sql`insert into sources (name, provider, spec, paused) values ('crm', 'github', '{}'::jsonb, true)`,
    );

    await runMigrations(database, testDb.url);

    const queued = await database.rows<{ webhook_id: string; source: string }>(sql`
      select e.webhook_id, q.source from event_queue q join webhook_events e on e.id = q.event_id order by e.webhook_id`);
    expect(queued).toEqual([
      { webhook_id: 'a', source: 'shop' },
      { webhook_id: 'b', source: 'shop' },
      { webhook_id: 'c', source: 'crm' },
    ]);
    const [column] = await database.rows<{ is_nullable: string }>(sql`
      select is_nullable from information_schema.columns where table_name = 'event_queue' and column_name = 'source'`);
    expect(column!.is_nullable).toBe('NO');

    expect(Object.fromEntries(await createStatsMinutes(database).dueBySource())).toEqual({ shop: 2, crm: 1 });
    // The claim and the on-hold count go by the queue row's source: a row that says 'crm' (paused)
    // is held and counted even though its archive row says 'shop' (with the archive lookup they
    // were not).
    await database.rows(sql`
      update event_queue set source = 'crm' where event_id = (select id from webhook_events where webhook_id = 'a')`);
    expect(Object.fromEntries(await createControlStore(database).onHold())).toEqual({ crm: 2 });
    const claimed = await createQueue(database).claim('upgraded:1', 10);
    expect(claimed.map((e) => e.webhookId)).toEqual(['b']);
  }, 120_000);
});
