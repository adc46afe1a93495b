// Whole-day retention and events that finished long after they arrived (a paused source, a held
// destination, retries): such an event keeps its day for its own retention, counted from when it
// finished (processed_at), as the row purge counts it — not from the day it was received.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { runMigrations } from '../src/db/migrate';
import { createTestDatabase, databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { partitionDay as day } from './helpers/partition-tests';

describe.each(databaseKinds())('retention of events that finished late, on %s', (kind) => {
  let gw: TestGateway;
  const ids: Record<string, number> = {};
  const ops = (path: string, init: RequestInit = {}) =>
    fetch(`${gw.url}${path}`, { ...init, headers: { authorization: `Bearer ${SECRETS.ops}` } });

  beforeAll(async () => {
    // The history is written before the gateway starts, so no retention run sees half of it.
    const testDb = await createTestDatabase(kind);
    const database = await testDb.open();
    await runMigrations(database, testDb.url);
    for (const d of [100, 101, 102]) {
      await database.rows(sql`select gateway_ensure_partition(t, ((now() - make_interval(days => ${d})) at time zone 'UTC')::date)
        from unnest(array['webhook_events', 'processing_log', 'delivery_attempts']) t`);
    }
    // Received `receivedDaysAgo`, finished `finishedHoursAgo`, with its exactly-once key.
    const seed = async (webhookId: string, status: string, receivedDaysAgo: number, finishedHoursAgo: number) => {
      const [row] = await database.rows<{ id: number }>(sql`
        with e as (
          insert into webhook_events (source, webhook_id, topic, body, content_hash, status, attempts, last_error,
                                      received_at, processed_at)
          values ('old', ${webhookId}, 't', '\\x7b7d', sha256('\\x7b7d'), ${status}, 8,
                  ${status === 'failed' ? 'destination answered 500' : null},
                  now() - make_interval(days => ${receivedDaysAgo}), now() - make_interval(hours => ${finishedHoursAgo}))
          returning id, source, webhook_id, content_hash, received_at
        ), k as (
          insert into event_keys (source, webhook_id, event_id, content_hash, received_at)
          select source, webhook_id, id, content_hash, received_at from e
        )
        select id::int as id from e`);
      ids[webhookId] = row!.id;
    };
    await seed('failed-an-hour-ago', 'failed', 100, 1);
    await seed('expired', 'failed', 101, 95 * 24);
    await seed('completed-an-hour-ago', 'completed', 102, 1);
    // The retention job every second, so the test waits for its evidence instead of calling it.
    gw = await startTestGateway(kind, { retention: { cron: '* * * * * *' } }, { testDb });
  });
  afterAll(async () => {
    await gw?.stop();
    await gw?.testDb.drop();
  });

  it('keeps a day holding an event that failed for good within RETENTION_FAILED_DAYS, or completed within RETENTION_COMPLETED_DAYS', async () => {
    const partitions = async () =>
      (
        await gw.query<{ name: string }>(
          `select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
           where i.inhparent = 'webhook_events'::regclass`,
        )
      ).map((r) => r.name);
    // Evidence that retention ran: the day whose only event failed 95 days ago is dropped.
    await waitFor(
      async () => !(await partitions()).includes(`webhook_events_p${day(-101)}`),
      20_000,
      'the expired day dropped',
    );
    expect(await partitions()).toEqual(
      expect.arrayContaining([`webhook_events_p${day(-100)}`, `webhook_events_p${day(-102)}`]),
    );
    expect((await ops(`/api/events/${ids.expired}`)).status).toBe(404);

    // The operator can still look at the event that failed an hour ago, and replay it.
    const failed = await ops(`/api/events/${ids['failed-an-hour-ago']}`);
    expect(failed.status).toBe(200);
    expect(((await failed.json()) as { status: string }).status).toBe('failed');
    expect((await ops(`/api/events/${ids['failed-an-hour-ago']}/replay`, { method: 'POST' })).status).toBe(200);
    expect((await ops(`/api/events/${ids['completed-an-hour-ago']}`)).status).toBe(200);
    // Their keys stay with them: a copy of either is still a duplicate.
    expect(
      await gw.query<{ webhook_id: string }>(
        `select webhook_id from event_keys where source = 'old' order by webhook_id`,
      ),
    ).toEqual([{ webhook_id: 'completed-an-hour-ago' }, { webhook_id: 'failed-an-hour-ago' }]);
  });
});
