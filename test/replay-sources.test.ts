import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSourcesDocument } from '../src/config/file';
import { databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { post, shopifyHeaders } from './helpers/signers';

const SHOP_SECRET = 'shpss_replay_sources_0123456789';

// A replay gives each event its own source's retry budget, and an old event replayed today says
// nothing about how fast the pipeline is: neither may come from one global figure.
describe.each(databaseKinds())('replay per source on %s', (kind) => {
  let gw: TestGateway;
  beforeAll(async () => {
    const sources = parseSourcesDocument(
      {
        sources: [
          { name: 'shop-three', provider: 'shopify', secrets: [SHOP_SECRET], retry: { max_attempts: 3 } },
          { name: 'shop-five', provider: 'shopify', secrets: [SHOP_SECRET], retry: { max_attempts: 5 } },
        ],
      },
      {},
    );
    // The env source `shopify` sets no max_attempts of its own: it gets the global MAX_ATTEMPTS.
    gw = await startTestGateway(kind, { sources, worker: { maxAttempts: 8 } });
  }, 180_000); // PGlite's cold start and migrations are slow when the machine is busy
  afterAll(() => gw?.stop());

  const ops = async (path: string, init: RequestInit = {}) => {
    const response = await fetch(`${gw.url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${SECRETS.ops}`, 'content-type': 'application/json' },
    });
    return { status: response.status, json: (await response.json()) as any };
  };
  const event = async (id: number) =>
    (
      await gw.query<{ status: string; attempts: number; max_attempts: number }>(
        'select status, attempts, max_attempts from webhook_events where id = $1',
        [id],
      )
    )[0]!;
  /** Delivers one event to a source and waits until the worker has completed it. */
  const completed = async (source: string, secret: string) => {
    const body = JSON.stringify({ id: randomUUID() });
    const answer = await post(`${gw.url}/api/webhooks/${source}`, body, shopifyHeaders(secret, body, randomUUID()));
    expect(answer.json.status).toBe('accepted');
    await waitFor(
      async () => (await event(answer.json.id)).status === 'completed',
      20_000,
      `${source} event completed`,
    );
    return answer.json.id as number;
  };

  it("single and bulk replay give each event its source's max_attempts on top of the attempts made", async () => {
    const three = await completed('shop-three', SHOP_SECRET);
    const five = await completed('shop-five', SHOP_SECRET);
    const global = await completed('shopify', SECRETS.shopify);

    const single = await ops(`/api/events/${three}/replay`, { method: 'POST' });
    expect(single.status).toBe(200);
    expect(single.json.max_attempts).toBe(1 + 3);

    const bulk = await ops('/api/events/replay', {
      method: 'POST',
      body: JSON.stringify({
        filter: { status: 'completed', since: new Date(Date.now() - 60_000).toISOString() },
        dry_run: false,
      }),
    });
    expect(bulk.json.replayed).toBeGreaterThanOrEqual(2);
    await waitFor(
      async () => (await event(five)).attempts === 2 && (await event(global)).attempts === 2,
      20_000,
      'replays run',
    );
    expect((await event(five)).max_attempts).toBe(1 + 5);
    expect((await event(global)).max_attempts).toBe(1 + 8);
  });

  it('replaying an old event does not inflate the latency percentiles', async () => {
    const old = await completed('shopify', SECRETS.shopify);
    await completed('shopify', SECRETS.shopify);
    // The first event arrived (and completed) an hour ago, as far as the database knows.
    await gw.query(
      `update webhook_events set received_at = received_at - interval '1 hour', processed_at = processed_at - interval '1 hour' where id = $1`,
      [old],
    );
    const window = `?since=${encodeURIComponent(new Date(Date.now() - 2 * 3600_000).toISOString())}`;
    const before = (await ops(`/api/stats${window}`)).json.latency_ms;
    expect(before.p99).toBeLessThan(60_000);

    expect((await ops(`/api/events/${old}/replay`, { method: 'POST' })).status).toBe(200);
    await waitFor(async () => (await event(old)).status === 'completed', 20_000, 'replayed event completed');
    const after = (await ops(`/api/stats${window}`)).json.latency_ms;
    // Measured from receipt it would be an hour (3,600,000 ms); from the replay it is the pipeline's time.
    expect(after.p99).toBeLessThan(60_000);
  });
});
