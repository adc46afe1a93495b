// Whole-day retention and the exactly-once promise: a copy of a delivery that arrives while its
// day is being dropped is acknowledged as a duplicate, never stored as a second event, whatever the
// run decides about the day. The run is held by a lock another connection holds on system_log,
// which the run needs once it is past its first check of the day (to clear the audit references of
// the day's events; ingest never touches it); meanwhile an operator replays the event and the
// sender retries it. PostgreSQL only: PGlite runs one statement at a time, so nothing arrives in
// the middle of a run there.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../src/db/client';
import { createPartitions, type DropResult } from '../src/store/partitions';
import { postgresUrl } from './helpers/database';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { post, shopifyHeaders } from './helpers/signers';
import { partitionDay as day, heldTransaction, retentionRaceKit } from './helpers/partition-tests';

const retention = { completedDays: 30, failedDays: 90 };

describe.runIf(postgresUrl())('retention and exactly-once, on postgres', () => {
  let gw: TestGateway;
  let database: Database;
  let kit: ReturnType<typeof retentionRaceKit>;
  const deliver = (body: string, id: string) =>
    post(`${gw.url}/api/webhooks/shopify/orders/create`, body, shopifyHeaders(SECRETS.shopify, body, id));
  const ops = (path: string, method = 'GET') =>
    fetch(`${gw.url}${path}`, { method, headers: { authorization: `Bearer ${SECRETS.ops}` } });

  beforeAll(async () => {
    // Ingest and the ops API only: the test runs retention itself, at the moments it chooses.
    gw = await startTestGateway('postgres', {}, { role: 'web' });
    database = await gw.testDb.open();
    kit = retentionRaceKit(database, deliver);
  }, 60_000);
  afterAll(async () => {
    await gw?.stop();
    await gw?.testDb.drop();
  });

  it('a copy that arrives while its day is being dropped is a duplicate, never a second event', async () => {
    const body = JSON.stringify({ id: 7001, total_price: '12.00' });
    const id = await kit.agedEvent(body, 'window-1', 100);
    const name = `webhook_events_p${day(-100)}`;

    // Holds the run once it is past its first check of the day.
    const auditHeld = heldTransaction(gw.testDb.url!, (tx) => tx`lock table system_log in access exclusive mode`);
    await auditHeld.running;
    let run: Promise<DropResult | unknown> | undefined;
    let retry: Promise<Awaited<ReturnType<typeof deliver>>> | undefined;
    let retryAnswered = false;
    let replayStatus: number | undefined;
    try {
      run = createPartitions(database)
        .dropExpired(retention)
        .catch((err: unknown) => err);
      await waitFor(() => kit.waiting('%system_log%'), 10_000, 'the retention run waiting on system_log');

      // Meanwhile an operator replays the event (200 while it is stored, 404 once it is dropped),
      // and the sender retries the delivery.
      replayStatus = (await ops(`/api/events/${id}/replay`, 'POST')).status;
      retry = deliver(body, 'window-1');
      void retry.finally(() => (retryAnswered = true));
      // Answered at once, or waiting for the run (a row lock on its key): either way it is in.
      await waitFor(
        async () => retryAnswered || (await kit.waiting('%insert into event_keys%')),
        10_000,
        'the retry answered or waiting',
      );
    } finally {
      await auditHeld.end();
    }
    const outcome = await run;
    const retried = await retry!;

    // The promise: one event per (source, webhook id), and the retry is acknowledged as a duplicate.
    expect(
      await kit.count(
        sql`select count(*)::int as n from webhook_events where webhook_id = 'acme.myshopify.com/window-1'`,
      ),
    ).toBeLessThanOrEqual(1);
    expect(retried.status).toBe(200);
    expect(retried.json.status).toBe('duplicate');

    // Here the run dropped the day before the replay came (so the replay found nothing), then its
    // key; a delivery of that id is now a new event, as after any retention.
    expect(replayStatus).toBe(404);
    expect(outcome).toMatchObject({ dropped: expect.arrayContaining([name]), keysDeleted: 1 });
    expect(await kit.count(sql`select count(*)::int as n from event_keys where event_id = ${id}`)).toBe(0);
    expect((await deliver(body, 'window-1')).json.status).toBe('accepted');
  }, 30_000);
});
