import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DESTINATION_SECRET, createDestinations } from './helpers/destinations';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { freePort } from './helpers/process';
import { post, shopifyHeaders } from './helpers/signers';

const destination = (name: string, url: string, timeoutMs = 2_000) => ({
  name,
  url,
  secret: DESTINATION_SECRET,
  timeoutMs,
});

describe('forwarding to destinations', () => {
  const fake = createDestinations();
  let gw: TestGateway;
  let closedPortUrl: string;

  beforeAll(async () => {
    fake.server.listen({ onUnhandledRequest: 'bypass' });
    closedPortUrl = `http://127.0.0.1:${await freePort()}/hooks`;
    gw = await startTestGateway('pglite', { worker: { cron: '0 0 1 1 *', retryBaseMs: 20, retryMaxMs: 5_000 } });
    gw.gateway
      .forward(
        'shopify',
        {
          provider: 'shopify',
          tenantContext: { organization_id: 42 },
          destinations: [destination('erp', 'https://erp.example.test/hooks')],
        },
        'orders/create',
      )
      .forward(
        'shopify',
        {
          provider: 'shopify',
          destinations: [
            destination('erp', 'https://erp.example.test/hooks'),
            destination('flaky', 'https://flaky.example.test/hooks'),
          ],
        },
        'orders/updated',
      )
      .forward('shopify', { destinations: [destination('busy', 'https://busy.example.test/hooks')] }, 'orders/busy')
      .forward(
        'shopify',
        { destinations: [destination('hang', 'https://hang.example.test/hooks', 200)] },
        'orders/hang',
      )
      .forward('shopify', { destinations: [destination('closed', closedPortUrl)] }, 'orders/refused')
      .validate('shopify', 'orders/create', z.object({ id: z.number(), total_price: z.string() }));
  });
  afterAll(async () => {
    fake.server.close();
    await gw?.stop();
  });

  async function send(id: string, topic: string, payload: object) {
    const body = JSON.stringify(payload);
    const res = await post(
      `${gw.url}/api/webhooks/shopify/${topic}`,
      body,
      shopifyHeaders(SECRETS.shopify, body, id, 'acme.myshopify.com', topic),
    );
    expect(res.json.status).toBe('accepted');
    return res.json.id as number;
  }
  const row = async (id: number) =>
    (
      await gw.query<{ status: string; attempts: number; last_error: string | null; next_attempt_at: Date }>(
        'select status, attempts, last_error, next_attempt_at from webhook_events where id = $1',
        [id],
      )
    )[0]!;
  const deliveries = (id: number) =>
    gw.query<{
      destination: string;
      attempt: number;
      outcome: string;
      http_status: number | null;
      error: string | null;
    }>(
      'select destination, attempt, outcome, http_status, error from delivery_attempts where event_id = $1 order by id',
      [id],
    );
  const tickUntil = (check: () => Promise<boolean>, what: string) =>
    waitFor(
      async () => {
        await gw.gateway.worker.tick();
        return check();
      },
      15_000,
      what,
    );

  it('delivers the canonical envelope, signed so a Standard Webhooks library verifies it', async () => {
    const id = await send('fw-1', 'orders/create', {
      id: 450789469,
      total_price: '409.94',
      admin_graphql_api_id: 'gid://shopify/Order/450789469',
    });
    await waitFor(async () => (await row(id)).status !== 'received');
    expect({ ...(await row(id)), deliveries: await deliveries(id) }).toMatchObject({ status: 'completed' });
    const [got] = fake.received('erp');
    expect(got).toBeDefined();
    const verified = new Webhook(DESTINATION_SECRET).verify(got!.body, got!.headers);
    expect(verified).toEqual({
      event_type: 'orders/create',
      aggregate_id: 'gid://shopify/Order/450789469',
      schema_version: '1.0',
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      source_service: 'shopify',
      dedupe_key: 'shopify:acme.myshopify.com/fw-1',
      data: { id: 450789469, total_price: '409.94', admin_graphql_api_id: 'gid://shopify/Order/450789469' },
      tenant_context: { organization_id: 42 },
    });
    expect(got!.headers['webhook-id']).toBe(`evt_${id}`);
    expect(await deliveries(id)).toEqual([
      { destination: 'erp', attempt: 1, outcome: 'delivered', http_status: 200, error: null },
    ]);
  });

  it('a delivery with one byte changed does not verify', () => {
    const [got] = fake.received('erp');
    expect(() => new Webhook(DESTINATION_SECRET).verify(got!.body.replace('409.94', '409.95'), got!.headers)).toThrow();
  });

  it('retries a destination that answered 500, without re-delivering to the one that succeeded', async () => {
    const id = await send('fw-2', 'orders/updated', { id: 2 });
    await tickUntil(async () => (await row(id)).status === 'completed', 'completion after a retry');
    expect(await row(id)).toMatchObject({ attempts: 2 });
    expect(await deliveries(id)).toEqual([
      expect.objectContaining({ destination: expect.any(String), attempt: 1 }),
      expect.objectContaining({ attempt: 1 }),
      { destination: 'flaky', attempt: 2, outcome: 'delivered', http_status: 200, error: null },
    ]);
    const first = (await deliveries(id)).filter((d) => d.attempt === 1);
    expect(first).toContainEqual({
      destination: 'flaky',
      attempt: 1,
      outcome: 'failed',
      http_status: 500,
      error: 'HTTP 500: database is down',
    });
    expect(first).toContainEqual({
      destination: 'erp',
      attempt: 1,
      outcome: 'delivered',
      http_status: 200,
      error: null,
    });
    expect(
      fake.received('erp').filter((r) => r.body.includes('"dedupe_key":"shopify:acme.myshopify.com/fw-2"')),
    ).toHaveLength(1);
  });

  it('honours Retry-After: the next attempt is not scheduled sooner than it asks', async () => {
    const id = await send('fw-3', 'orders/busy', { id: 3 });
    await waitFor(async () => (await row(id)).attempts === 1 && (await row(id)).status === 'received');
    const r = await row(id);
    const [{ finished_at }] = (await gw.query<{ finished_at: Date }>(
      'select finished_at from processing_log where event_id = $1',
      [id],
    )) as [{ finished_at: Date }];
    // Backoff alone would be 10-20 ms; the destination asked for 2 s.
    expect(new Date(r.next_attempt_at).getTime() - new Date(finished_at).getTime()).toBeGreaterThanOrEqual(1_900);
    expect(r.last_error).toContain('busy: HTTP 503: slow down');
  });

  it('a destination that does not answer in time fails the attempt with a timeout', async () => {
    const id = await send('fw-4', 'orders/hang', { id: 4 });
    await waitFor(async () => (await deliveries(id)).length === 1);
    expect(await deliveries(id)).toEqual([
      { destination: 'hang', attempt: 1, outcome: 'failed', http_status: null, error: 'timed out after 200 ms' },
    ]);
    expect((await row(id)).last_error).toBe('hang: timed out after 200 ms');
  });

  it('a refused connection fails the attempt and is retried', async () => {
    const id = await send('fw-5', 'orders/refused', { id: 5 });
    await waitFor(async () => (await deliveries(id)).length === 1);
    const [attempt] = await deliveries(id);
    expect(attempt).toMatchObject({ destination: 'closed', outcome: 'failed', http_status: null });
    expect(attempt!.error).toContain('ECONNREFUSED');
    expect(await row(id)).toMatchObject({ status: 'received', attempts: 1 });
  });

  it('a payload that fails its schema is failed at once, not retried, and not delivered', async () => {
    const before = fake.received('erp').length;
    const id = await send('fw-6', 'orders/create', { id: 'not-a-number' });
    await waitFor(async () => (await row(id)).status === 'failed');
    const r = await row(id);
    expect(r.attempts).toBe(1);
    expect(r.last_error).toBe(
      'payload failed validation: id: must be a number, not a string; total_price: is required: a string',
    );
    expect(fake.received('erp')).toHaveLength(before);
  });
});
