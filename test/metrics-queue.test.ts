import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { post, shopifyHeaders } from './helpers/signers';

/** A gauge's value in the gateway's /metrics answer (read with the ops token). */
async function gauge(gw: TestGateway, name: string): Promise<number | undefined> {
  const response = await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${SECRETS.ops}` } });
  expect(response.status).toBe(200);
  const line = (await response.text()).split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

// webhook_gateway_queue_depth counts events due now; webhook_gateway_queue_processing those a
// worker has claimed, whose attempt is running (read in the same query).
describe.each(databaseKinds())('queue gauges at /metrics on %s', (kind) => {
  let gw: TestGateway;
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));

  beforeAll(async () => {
    gw = await startTestGateway(kind);
    gw.gateway.on('shopify', 'orders/create', () => released);
  });
  afterAll(async () => {
    release();
    await gw?.stop();
  });

  it('counts an event whose attempt is running as processing, not due, until it finishes', async () => {
    expect(await gauge(gw, 'webhook_gateway_queue_processing')).toBe(0);
    const body = JSON.stringify({ id: 1 });
    const res = await post(
      `${gw.url}/api/webhooks/shopify/orders/create`,
      body,
      shopifyHeaders(SECRETS.shopify, body, 'running-1'),
    );
    expect(res.status).toBe(200);

    // The handler holds the attempt open: the event is claimed.
    await waitFor(async () => (await gauge(gw, 'webhook_gateway_queue_processing')) === 1, 15_000, 'the claim');
    expect(await gauge(gw, 'webhook_gateway_queue_depth')).toBe(0);

    release();
    await waitFor(
      async () => (await gauge(gw, 'webhook_gateway_queue_processing')) === 0,
      15_000,
      'the attempt to finish',
    );
    const [event] = await gw.query<{ status: string }>(`select status from webhook_events`);
    expect(event!.status).toBe('completed');
  });
});
