import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PermanentError } from '../src/worker/handlers';
import { restoreClock, stepClock } from './helpers/clock';
import { databaseKinds } from './helpers/database';
import { SECRETS, opsCall, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { easypostSignature, post, shopifyHeaders } from './helpers/signers';

// The charts' receive→completed latency (GET /api/stats/series) must measure what /api/stats
// measures: from receipt, or from the last replay for a replayed event, on the database's clock.
const SETUP_TIMEOUT_MS = 180_000;
const HOUR_MS = 3_600_000;

describe.each(databaseKinds())('chart latency (GET /api/stats/series) on %s', (kind) => {
  let gw: TestGateway;
  let refuse = true;

  beforeAll(async () => {
    gw = await startTestGateway(kind, { worker: { cron: '0 0 1 1 *' } });
    gw.gateway.on('shopify', 'orders/create', () => {
      if (refuse) throw new PermanentError('refused for now');
    });
  }, SETUP_TIMEOUT_MS);
  afterAll(() => gw?.stop());
  afterEach(() => restoreClock());

  // 24 hours: the recorder's minutes follow the clock it was started with, the window the stepped one.
  const chartLatencies = async (source: string) => {
    const { status, json } = await opsCall(gw, 'GET', `/api/stats/series?window=24h&source=${source}`);
    expect(status).toBe(200);
    return (json.series.latency_p99_ms as (number | null)[]).filter((v): v is number => v !== null);
  };
  const processUntil = (sql: string, what: string) =>
    waitFor(
      async () => {
        await gw.gateway.worker.tick();
        return (await gw.query(sql)).length > 0;
      },
      30_000,
      what,
    );

  it('a replayed event counts from its replay, not from its first receipt hours ago', async () => {
    const body = JSON.stringify({ id: 'replayed-1' });
    const sent = await post(
      `${gw.url}/api/webhooks/shopify/orders/create`,
      body,
      shopifyHeaders(SECRETS.shopify, body, 'replayed-1'),
    );
    expect(sent.status).toBe(200);
    const id = sent.json.id as number;
    await processUntil(`select 1 from webhook_events where id = ${id} and status = 'failed'`, 'the first failure');
    // It was received three hours ago (same row, its receipt moved back with its key).
    await gw.query(`update event_keys set received_at = received_at - interval '3 hours' where event_id = $1`, [id]);
    await gw.query(`update webhook_events set received_at = received_at - interval '3 hours' where id = $1`, [id]);

    refuse = false;
    expect((await opsCall(gw, 'POST', `/api/events/${id}/replay`)).status).toBe(200);
    await processUntil(`select 1 from webhook_events where id = ${id} and status = 'completed'`, 'the replay');

    const stats = await opsCall(gw, 'GET', '/api/stats');
    expect(stats.json.latency_ms.p99).toBeLessThan(60_000);
    const chart = await chartLatencies('shopify');
    expect(chart).toHaveLength(1);
    expect(chart[0]).toBeLessThan(60_000);
  });

  it('a gateway host whose clock is an hour ahead of the database still charts the real latency', async () => {
    const body = JSON.stringify({ id: 'evt_clock', description: 'tracker.updated' });
    stepClock(HOUR_MS);
    const sent = await post(`${gw.url}/api/webhooks/easypost`, body, {
      'x-hmac-signature': easypostSignature(SECRETS.easypost, body),
    });
    expect(sent.status).toBe(200);
    await processUntil(
      `select 1 from webhook_events where id = ${sent.json.id as number} and status = 'completed'`,
      'processing',
    );
    const chart = await chartLatencies('easypost');
    expect(chart).toHaveLength(1);
    expect(chart[0]).toBeLessThan(60_000);
  });
});
