import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStatsMinutes } from '../src/store/stats-minute';
import { latencyBucket } from '../src/store/latency-histogram';
import { PermanentError } from '../src/worker/handlers';
import { databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { easypostSignature, post, shopifyHeaders } from './helpers/signers';

// A PGlite gateway on two shared cores: 35 to 60 s to start was measured under load.
const SETUP_TIMEOUT_MS = 180_000;
const sum = (values: (number | null)[]) => values.reduce<number>((total, n) => total + (n ?? 0), 0);

describe.each(databaseKinds())('dashboard series (GET /api/stats/series) on %s', (kind) => {
  let gw: TestGateway;
  const get = async (path: string, token: string | null = SECRETS.ops) => {
    const res = await fetch(`${gw.url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    return { status: res.status, json: (await res.json()) as any };
  };

  beforeAll(async () => {
    gw = await startTestGateway(kind, { worker: { cron: '0 0 1 1 *' } });
    gw.gateway.on('shopify', 'orders/fail', () => {
      throw new PermanentError('refused for good');
    });
    const shopify = (id: string, topic = 'orders/create') => {
      const body = JSON.stringify({ id });
      return post(
        `${gw.url}/api/webhooks/shopify/${topic}`,
        body,
        shopifyHeaders(SECRETS.shopify, body, id, 'acme.myshopify.com', topic),
      );
    };
    expect((await shopify('a')).status).toBe(200);
    expect((await shopify('b')).status).toBe(200);
    expect((await shopify('b')).json.status).toBe('duplicate');
    expect((await shopify('c', 'orders/fail')).status).toBe(200);
    const body = JSON.stringify({ id: 'evt_1', description: 'tracker.updated' });
    expect(
      (
        await post(`${gw.url}/api/webhooks/easypost`, body, {
          'x-hmac-signature': easypostSignature(SECRETS.easypost, body),
        })
      ).status,
    ).toBe(200);
    // Two refused requests: a wrong signature, and one signed with another secret.
    expect(
      (await post(`${gw.url}/api/webhooks/shopify/orders/create`, '{}', shopifyHeaders('wrong', '{}', 'x'))).status,
    ).toBe(401);
    expect(
      (await post(`${gw.url}/api/webhooks/easypost`, body, { 'x-hmac-signature': easypostSignature('other', body) }))
        .status,
    ).toBe(401);
    await waitFor(
      async () => {
        await gw.gateway.worker.tick();
        return (await gw.query(`select 1 from webhook_events where status in ('completed', 'failed')`)).length === 4;
      },
      20_000,
      'processing',
    );
  }, SETUP_TIMEOUT_MS);
  afterAll(() => gw?.stop());

  it('counts received, completed, failed and rejected per minute, over all sources and per source', async () => {
    const all = await get('/api/stats/series?window=1h');
    expect(all.status).toBe(200);
    const { series } = all.json;
    expect(all.json).toMatchObject({ window: '1h', source: null, step_seconds: 60 });
    expect(all.json.sources).toEqual(expect.arrayContaining(['easypost', 'shopify']));
    expect(series.t).toHaveLength(60);
    expect(series.t[1] - series.t[0]).toBe(60);
    expect(series.t.at(-1)).toBe(Math.floor(Date.now() / 60_000) * 60);
    for (const name of ['received', 'completed', 'failed', 'rejected', 'latency_p50_ms', 'latency_p99_ms', 'backlog']) {
      expect(series[name]).toHaveLength(60);
    }
    expect({
      received: sum(series.received),
      completed: sum(series.completed),
      failed: sum(series.failed),
      rejected: sum(series.rejected),
    }).toEqual({
      received: 4,
      completed: 3,
      failed: 1,
      rejected: 2,
    });
    expect(series.latency_p50_ms.some((v: number | null) => v !== null && v >= 0)).toBe(true);
    // The backlog was sampled at least once (0 or more due events), and never sampled in the past hour's first minutes.
    expect(series.backlog.some((v: number | null) => v !== null)).toBe(true);
    expect(series.backlog[0]).toBeNull();

    const shopify = (await get('/api/stats/series?window=24h&source=shopify')).json;
    expect(shopify.series.t).toHaveLength(1440);
    expect([
      sum(shopify.series.received),
      sum(shopify.series.completed),
      sum(shopify.series.failed),
      sum(shopify.series.rejected),
    ]).toEqual([3, 2, 1, 1]);
  });

  it('refuses a window it does not serve and a request without a token', async () => {
    const bad = await get('/api/stats/series?window=7d');
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toMatch(/^window: /);
    expect((await get('/api/stats/series', null)).status).toBe(401);
    expect((await get('/api/stats/series', 'wrong-token')).status).toBe(401);
  });

  it('adds counts from several processes: histograms bucket by bucket, backlog keeps the largest sample', async () => {
    const minutes = createStatsMinutes(gw.gateway.database);
    const minute = new Date('2024-01-01T00:00:00Z');
    const histogram = (ms: number) => {
      const h = new Array<number>(47).fill(0);
      h[latencyBucket(ms)] = 1;
      return h;
    };
    const row = (latency: number[] | null, backlog: number | null) => ({
      minute,
      source: 'p',
      received: 1,
      completed: 1,
      failed: 0,
      rejected: 2,
      latency,
      backlog,
    });
    await minutes.add([row(histogram(5), 7)]);
    await minutes.add([row(histogram(5), 3)]);
    await minutes.add([row(null, null)]);
    await minutes.add([row(histogram(5000), null)]);
    const [stored] = await minutes.range(minute, new Date(minute.getTime() + 60_000));
    expect(stored).toMatchObject({ received: 4, completed: 4, rejected: 8, backlog: 7 });
    expect(stored!.latency![latencyBucket(5)]).toBe(2);
    expect(stored!.latency![latencyBucket(5000)]).toBe(1);
    expect(sum(stored!.latency!)).toBe(3);
  });

  it('reads only the window: the range is an index scan on the primary key however much history there is', async () => {
    // Sixty days of minutes for one source, long before the window.
    await gw.query(`insert into stats_minute (minute, source, received)
      select g, 'history', 1 from generate_series(timestamptz '2020-01-01', timestamptz '2020-03-01', interval '1 minute') g`);
    await gw.query('analyze stats_minute');
    const from = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 59 * 60_000).toISOString();
    const to = new Date(Math.floor(Date.now() / 60_000) * 60_000 + 60_000).toISOString();
    const plan = (
      await gw.query<{ 'QUERY PLAN': string }>(
        `explain select minute, source, received from stats_minute where minute >= $1::timestamptz and minute < $2::timestamptz order by minute`,
        [from, to],
      )
    )
      .map((r) => r['QUERY PLAN'])
      .join('\n');
    expect(plan).toMatch(/Index Scan using stats_minute_pkey|Bitmap Index Scan on stats_minute_pkey/);
    expect(plan).not.toMatch(/Seq Scan/);
  });
});
