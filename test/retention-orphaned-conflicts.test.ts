// Conflicts left without their event: before retention deleted a key's conflicts race-free
// (test/retention-conflict-race.test.ts), a conflicting copy settled while retention deleted its
// event and key kept its conflict for good, and GET /api/conflicts answered an event_href that
// 404s. The retention job now sweeps such conflicts; a conflict whose event is stored stays.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../src/db/client';
import { databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { post, shopifyHeaders } from './helpers/signers';

describe.each(databaseKinds())('retention sweeps conflicts left without their event, on %s', (kind) => {
  let gw: TestGateway;
  let database: Database;
  const deliver = (body: string, id: string) =>
    post(`${gw.url}/api/webhooks/shopify/orders/create`, body, shopifyHeaders(SECRETS.shopify, body, id));
  const ops = (path: string) => fetch(`${gw.url}${path}`, { headers: { authorization: `Bearer ${SECRETS.ops}` } });
  const conflictsOf = async (eventId: number) =>
    (
      await database.rows<{ n: number }>(
        sql`select count(*)::int as n from event_conflicts where event_id = ${eventId}`,
      )
    )[0]!.n;

  /** An event and a conflicting copy of it, both through HTTP; returns the event's id. */
  async function eventWithConflict(webhookId: string, total: string): Promise<number> {
    const first = await deliver(JSON.stringify({ id: webhookId, total_price: total }), webhookId);
    expect(first.json).toMatchObject({ status: 'accepted' });
    const id = Number(first.json.id);
    const copy = await deliver(JSON.stringify({ id: webhookId, total_price: `${total}9` }), webhookId);
    expect(copy.json).toMatchObject({ status: 'conflict', event_id: id });
    return id;
  }

  /** What the old race left: the event, its key, queue row and logs deleted, its conflict not. */
  async function deleteAsTheOldRaceDid(id: number) {
    await database.rows(sql`delete from event_queue where event_id = ${id}`);
    await database.rows(sql`delete from processing_log where event_id = ${id}`);
    await database.rows(sql`delete from delivery_attempts where event_id = ${id}`);
    await database.rows(sql`delete from event_keys where event_id = ${id}`);
    await database.rows(sql`delete from webhook_events where id = ${id}`);
  }

  beforeAll(async () => {
    // The retention job every second, through its real schedule.
    gw = await startTestGateway(kind, { retention: { cron: '* * * * * *' } });
    database = await gw.testDb.open();
  }, 60_000);
  afterAll(async () => {
    await gw?.stop();
    await gw?.testDb.drop();
  });

  it('a conflict whose event was deleted goes, one whose event is stored stays', async () => {
    const live = await eventWithConflict('orphan-live', '1.00');
    const gone = await eventWithConflict('orphan-gone', '2.00');
    const retried = await eventWithConflict('orphan-retried', '3.00');
    await deleteAsTheOldRaceDid(gone);
    await deleteAsTheOldRaceDid(retried);
    // The sender's retry after the purge is a new event with the same key: the old event's
    // conflict is still an orphan, and the new event has none.
    const again = await deliver(JSON.stringify({ id: 'orphan-retried', total_price: '3.00' }), 'orphan-retried');
    expect(again.json).toMatchObject({ status: 'accepted' });
    const newer = Number(again.json.id);
    expect(newer).not.toBe(retried);

    await waitFor(
      async () => (await conflictsOf(gone)) + (await conflictsOf(retried)) === 0,
      15_000,
      'the orphaned conflicts swept by the retention job',
    );
    expect(await conflictsOf(live)).toBe(1);
    expect(await conflictsOf(newer)).toBe(0);
    // The conflicts API lists only conflicts whose event_href resolves.
    const listed = (await (await ops('/api/conflicts')).json()) as {
      conflicts: { event_id: number; event_href: string }[];
    };
    expect(listed.conflicts.map((c) => c.event_id)).toEqual([live]);
    for (const conflict of listed.conflicts) expect((await ops(conflict.event_href)).status).toBe(200);
    // And the run says so.
    await waitFor(async () => /"orphanedConflicts":[12]\b/.test(gw.logs.join('')), 5_000, 'the sweep logged');
  }, 30_000);
});
