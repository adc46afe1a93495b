// Retention and conflicting copies: a conflict row never outlives its event. A copy with other
// bytes is settled by a statement that reads the event's exactly-once key and then inserts the
// conflict; retention that deletes the key (after the day's drop, or with the event in the row
// purge) must not miss a conflict inserted by a statement that read the key just before. The copy
// is held between its read and its insert by another connection's uncommitted insert of the same
// (event, hash) — an insert waits for that row's fate — which is then rolled back. PostgreSQL
// only: PGlite runs one statement at a time, so nothing is settled in the middle of a run there.
import { createHash } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../src/db/client';
import { createPartitions } from '../src/store/partitions';
import { createRetention } from '../src/store/retention';
import { postgresUrl } from './helpers/database';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { heldTransaction, retentionRaceKit } from './helpers/partition-tests';
import { post, shopifyHeaders } from './helpers/signers';

const retention = { completedDays: 30, failedDays: 90 };

describe.runIf(postgresUrl())('retention and conflicting copies, on postgres', () => {
  let gw: TestGateway;
  let database: Database;
  let kit: ReturnType<typeof retentionRaceKit>;
  const deliver = (body: string, id: string) =>
    post(`${gw.url}/api/webhooks/shopify/orders/create`, body, shopifyHeaders(SECRETS.shopify, body, id));
  /** Conflicts of event `id` once it is gone. */
  const orphans = (id: number) =>
    kit.count(sql`select count(*)::int as n from event_conflicts c
      where c.event_id = ${id} and not exists (select 1 from webhook_events e where e.id = c.event_id)`);

  /**
   * Sends a conflicting copy of event `id` and holds its statement after it read the key: another
   * connection has inserted the same conflict and not committed. `release` rolls that back, and
   * the copy's insert goes on.
   */
  async function heldCopy(id: number, webhookId: string, other: string) {
    const hash = createHash('sha256').update(other).digest();
    const blocker = heldTransaction(gw.testDb.url!, async (tx) => {
      await tx`insert into event_conflicts (event_id, source, webhook_id, content_hash, body, body_size)
        values (${id}, 'shopify', ${`acme.myshopify.com/${webhookId}`}, ${hash}, ${Buffer.from(other)}, ${other.length})`;
    });
    await blocker.running;
    const copy = deliver(other, webhookId);
    await waitFor(
      () => kit.waiting('%join event_keys k on k.source = r.source%'),
      10_000,
      'the copy waiting on the held conflict',
    );
    return {
      copy,
      async release() {
        // Rolled back: its row was only there to hold the copy.
        await blocker.end({ rollback: true });
      },
    };
  }

  beforeAll(async () => {
    // Ingest only: the test runs retention itself, at the moments it chooses.
    gw = await startTestGateway('postgres', {}, { role: 'web' });
    database = await gw.testDb.open();
    kit = retentionRaceKit(database, deliver);
  }, 60_000);
  afterAll(async () => {
    await gw?.stop();
    await gw?.testDb.drop();
  });

  it('a conflict settled while its dropped day loses its keys goes with them, never left pointing at nothing', async () => {
    const id = await kit.agedEvent(JSON.stringify({ id: 8001, total_price: '1.00' }), 'race-drop', 100);
    const held = await heldCopy(id, 'race-drop', JSON.stringify({ id: 8001, total_price: '2.00' }));
    try {
      // The day goes, then its keys: the key of the copy being settled is not deleted under it.
      await createPartitions(database).dropExpired(retention);
    } finally {
      await held.release();
    }
    const answer = await held.copy;
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ status: 'conflict', event_id: id });
    // The next run finishes the day: the key and the conflict go together.
    await createPartitions(database).dropExpired(retention);
    expect(await kit.count(sql`select count(*)::int as n from event_keys where event_id = ${id}`)).toBe(0);
    expect(await orphans(id)).toBe(0);
  }, 30_000);

  it('a conflict settled while the row purge deletes its event goes with the event', async () => {
    const id = await kit.agedEvent(JSON.stringify({ id: 8002, total_price: '1.00' }), 'race-purge', 100);
    const held = await heldCopy(id, 'race-purge', JSON.stringify({ id: 8002, total_price: '2.00' }));
    let purged = false;
    let purge: Promise<unknown> | undefined;
    try {
      purge = createRetention(database)
        .purge({ ...retention, batchSize: 100 })
        .finally(() => (purged = true));
      // Done at once, or waiting for the copy to settle first: either way the purge is in.
      await waitFor(async () => purged || (await kit.waiting('%with doomed%')), 10_000, 'the purge done or waiting');
    } finally {
      await held.release();
    }
    await purge;
    const answer = await held.copy;
    expect(answer.status).toBe(200);
    expect(await kit.count(sql`select count(*)::int as n from webhook_events where id = ${id}`)).toBe(0);
    expect(await orphans(id)).toBe(0);
  }, 30_000);
});
