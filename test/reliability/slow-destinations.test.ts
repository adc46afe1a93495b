import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSourcesDocument } from '../../src/config/file';
import { waitFor, startTestGateway, type TestGateway } from '../helpers/gateway';
import { recordSummary, serverUrl, tally } from './harness';

const SECRET = 'slow-destinations-secret';
const DESTINATION_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

/** Real local HTTP servers: one that never answers, one that resets, one that fails, one that works. */
async function startDestination(behaviour: 'hang' | 'reset' | 'fail' | 'ok') {
  const hanging: http.ServerResponse[] = [];
  let received = 0;
  const server = http.createServer((req, res) => {
    received += 1;
    req.resume();
    if (behaviour === 'hang') hanging.push(res);
    else if (behaviour === 'reset') req.socket.destroy();
    else if (behaviour === 'fail') res.writeHead(500).end('down');
    else res.writeHead(204).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    received: () => received,
    close: () => {
      hanging.forEach((r) => r.destroy());
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('slow and failing destinations', () => {
  let gw: TestGateway;
  const destinations: Awaited<ReturnType<typeof startDestination>>[] = [];
  beforeAll(async () => {
    process.env.TEST_DATABASE_URL ??= serverUrl();
    const [hang, reset, fail, ok] = await Promise.all((['hang', 'reset', 'fail', 'ok'] as const).map(startDestination));
    destinations.push(hang!, reset!, fail!, ok!);
    const sources = parseSourcesDocument(
      {
        sources: [
          {
            name: 'shop-bad',
            provider: 'shopify',
            secrets: [SECRET],
            destinations: [
              { name: 'hang', url: hang!.url, secret: DESTINATION_SECRET, timeout_ms: 300 },
              { name: 'reset', url: reset!.url, secret: DESTINATION_SECRET },
              { name: 'fail', url: fail!.url, secret: DESTINATION_SECRET },
            ],
            retry: { base_ms: 200, max_ms: 1000 },
          },
          {
            name: 'shop-good',
            provider: 'shopify',
            secrets: [SECRET],
            destinations: [{ name: 'ok', url: ok!.url, secret: DESTINATION_SECRET }],
          },
        ],
      },
      {},
    );
    gw = await startTestGateway('postgres', { sources, worker: { cron: '* * * * * *', concurrency: 4 } });
  });
  afterAll(async () => {
    await gw?.stop();
    await Promise.all(destinations.map((d) => d.close()));
  });

  const send = (source: string, key: string) => {
    const body = JSON.stringify({ id: key, note: 'x'.repeat(500) });
    return fetch(`${gw.url}/api/webhooks/${source}/orders/create`, {
      method: 'POST',
      body,
      headers: {
        'x-shopify-hmac-sha256': createHmac('sha256', SECRET).update(body).digest('base64'),
        'x-shopify-webhook-id': key,
        'x-shopify-shop-domain': 'a.myshopify.com',
      },
    });
  };

  it("do not hold up other sources' events, and memory stays bounded", async () => {
    const rssBefore = process.memoryUsage().rss / 2 ** 20;
    const answers = [];
    for (let i = 0; i < 40; i++) {
      answers.push(await send('shop-bad', `bad-${i}`), await send('shop-good', `good-${i}`));
    }
    expect(answers.every((a) => a.status === 200)).toBe(true);
    await waitFor(
      async () => (await tally(gw.gateway.database.sql!, 'shop-good')).completed === 40,
      30_000,
      'good events',
    ).catch(() => {});
    const good = await tally(gw.gateway.database.sql!, 'shop-good');
    const bad = await tally(gw.gateway.database.sql!, 'shop-bad');
    // The failing source's events stay queued (never completed, never dropped). Their destinations'
    // circuits open after 5 consecutive failures (docs/destinations.md#protecting-destinations):
    // from then on the deliveries wait, held without spending attempts, instead of being retried.
    const sql = gw.gateway.database.sql!;
    const openCircuits = async () =>
      (
        await sql<[{ n: number }]>`
        select count(*)::int as n from destination_health where name in ('hang', 'reset', 'fail') and state <> 'closed'`
      )[0].n;
    await waitFor(async () => (await openCircuits()) > 0, 15_000, 'a failing destination to open its circuit').catch(
      () => {},
    );
    const open = await openCircuits();
    const [queued] = await sql<[{ n: number }]>`
      select count(*)::int as n from event_queue q join webhook_events e on e.id = q.event_id where e.source = 'shop-bad'`;
    const rssAfter = process.memoryUsage().rss / 2 ** 20;
    recordSummary({
      scenario: 'hanging/resetting/500 destinations (40 + 40 events)',
      faults: 3,
      sent: 80,
      acknowledged: 80,
      stored: good.stored + bad.stored,
      lost: 80 - good.stored - bad.stored,
      duplicates: good.duplicates + bad.duplicates,
      stuck: 40 - good.completed,
    });
    expect(good).toMatchObject({ stored: 40, completed: 40, duplicates: 0 });
    expect(bad.stored).toBe(40);
    expect(bad.completed).toBe(0); // still retrying, none falsely completed
    expect(queued.n).toBe(40);
    expect(open).toBeGreaterThan(0);
    expect(destinations[0]!.received()).toBeGreaterThan(0);
    expect(rssAfter - rssBefore).toBeLessThan(200);
  });
});
