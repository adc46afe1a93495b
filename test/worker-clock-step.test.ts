import { afterEach, describe, expect, it } from 'vitest';
import { createEventStore } from '../src/store/events';
import { createGroupCommit } from '../src/store/group-commit';
import { DAY_MS, restoreClock, stepClock } from './helpers/clock';
import { databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { post, shopifyHeaders } from './helpers/signers';

// A running gateway whose wall clock steps a year forward (NTP on a machine that booted without a
// real-time clock): node-cron 4.6's scheduler froze the whole process walking the missed slots
// (src/cron.ts). The gateway must go on acknowledging, processing, and ticking its backstop cron.

describe.each(databaseKinds())('a gateway whose wall clock steps a year forward (%s)', (kind) => {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    restoreClock();
    await gw?.stop();
  });

  it('keeps acknowledging and processing, and its cron still recovers an expired claim', async () => {
    gw = await startTestGateway(kind);
    const { database } = gw.gateway;
    // The claim of a worker that died: inserted already claimed by it (as a hand-off does), its
    // lease expired an hour ago. Nothing announces it: only the worker's cron tick recovers it.
    const died = createGroupCommit({
      database,
      store: createEventStore(database),
      claimant: { id: 'gone-host:1', leaseSeconds: 60, reserve: (wanted) => wanted, take: () => undefined },
    });
    const orphan = await died.insert({
      source: 'shopify',
      webhookId: 'clock-orphan',
      topic: 'orders/create',
      body: Buffer.from('{"id":1}'),
      headers: { 'content-type': 'application/json' },
      maxAttempts: 8,
    });
    expect(orphan).toMatchObject({ status: 'accepted', claimed: true });
    await gw.query(`update event_queue set locked_at = now() - interval '1 hour' where locked_by = 'gone-host:1'`);

    stepClock(365 * DAY_MS);
    const body = '{"id":2,"total_price":"10.10"}';
    const res = await post(`${gw.url}/api/webhooks/shopify`, body, shopifyHeaders(SECRETS.shopify, body, 'clock-new'));
    expect(res.status).toBe(200);
    expect(res.json.status).toBe('accepted');

    const statuses = () =>
      gw!.query<{ webhook_id: string; status: string }>(
        `select webhook_id, status from webhook_events order by webhook_id`,
      );
    await waitFor(
      async () => (await statuses()).filter((e) => e.status === 'completed').length === 2,
      20_000,
      'both events completed',
    );
    expect(await statuses()).toEqual([
      { webhook_id: 'acme.myshopify.com/clock-new', status: 'completed' },
      { webhook_id: 'clock-orphan', status: 'completed' },
    ]);
    const attempts = await gw.query<{ worker: string; outcome: string }>(
      `select l.worker, l.outcome from processing_log l join webhook_events e on e.id = l.event_id
       where e.webhook_id = 'clock-orphan' order by l.attempt`,
    );
    expect(attempts.map((a) => a.outcome)).toEqual(['abandoned', 'completed']);
    expect(attempts[0]!.worker).toBe('gone-host:1');
  });
});
