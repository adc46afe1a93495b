import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { post, shopifyHeaders } from './helpers/signers';

const auth = { authorization: `Bearer ${SECRETS.ops}` };

describe.each(databaseKinds())('rejected-request log on %s', (kind) => {
  let gw: TestGateway;
  const shopify = () => `${gw.url}/api/webhooks/shopify/orders/create`;
  const api = async (path: string, headers: Record<string, string> = auth) => {
    const response = await fetch(`${gw.url}${path}`, { headers });
    return { status: response.status, json: (await response.json()) as any };
  };

  beforeAll(async () => {
    gw = await startTestGateway(kind, {
      rejectedRequests: { perMinute: 3, bufferSize: 1000, flushIntervalMs: 50, retentionDays: 7 },
    });
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it('a bad signature is recorded with cause, client, body hash and redacted headers', async () => {
    const body = JSON.stringify({ id: 1, note: 'rotated secret' });
    const headers = {
      ...shopifyHeaders('the-old-secret-nobody-has', body, 'bad-1'),
      cookie: 'session=abc',
      'user-agent': 'Shopify-Captain-Hook',
    };
    expect((await post(shopify(), body, headers)).status).toBe(401);

    const page = await waitFor(async () => {
      const { json } = await api('/api/requests?source=shopify&cause=invalid_signature');
      return json.requests?.length ? json : undefined;
    });
    const row = page.requests[0];
    expect(row).toMatchObject({
      source: 'shopify',
      cause: 'invalid_signature',
      status: 401,
      client: '127.0.0.1',
      user_agent: 'Shopify-Captain-Hook',
      body_bytes: Buffer.byteLength(body),
      body_sha256: createHash('sha256').update(body).digest('hex'),
      count: 1,
      aggregate: false,
    });
    expect(row.headers['x-shopify-webhook-id']).toBe('bad-1');
    expect(row.headers['x-shopify-topic']).toBe('orders/create');
    expect(row.headers['x-shopify-hmac-sha256']).toBe('[redacted]');
    expect(row.headers.cookie).toBe('[redacted]');
    // Neither the signature nor the cookie is anywhere in the database or the logs.
    const stored = JSON.stringify(await gw.query('select * from rejected_requests'));
    expect(stored).not.toContain(headers['x-shopify-hmac-sha256']);
    expect(stored).not.toContain('session=abc');
    expect(gw.logs.join('')).not.toContain(headers['x-shopify-hmac-sha256']);
  });

  it('a flood keeps the per-minute cap of rows and counts the rest in one aggregate row', async () => {
    const body = '{"flood":true}';
    const sent = 40;
    // A keep-alive socket the server closes just as the client reuses it resets: such a request is sent again.
    const send = async (i: number) => {
      const headers = { ...shopifyHeaders('wrong-secret-wrong-secret', body, `f-${i}`), 'x-flood': '1' };
      return post(shopify(), body, headers).catch(() => post(shopify(), body, headers));
    };
    const answers = await Promise.all(Array.from({ length: sent }, (_, i) => send(i)));
    expect(answers.every((a) => a.status === 401)).toBe(true);
    const rows = await waitFor(async () => {
      const found = await gw.query<{ repeat_count: number; aggregate_minute: Date | null; minute: string }>(
        `select repeat_count, aggregate_minute, date_trunc('minute', received_at)::text as minute
         from rejected_requests where headers ? 'x-flood' or (aggregate_minute is not null and cause = 'invalid_signature')`,
      );
      const total = found.reduce((n, r) => n + Number(r.repeat_count), 0);
      return total >= sent ? found : null;
    });
    // Earlier tests already used part of this minute's cap of 3 for invalid_signature. The cap is
    // per minute of the recorder's clock, which also stamps received_at: a flood that straddles a
    // minute boundary may keep up to 3 rows in each of its minutes (once seen in CI: 5 in two).
    const detailed = rows!.filter((r) => r.aggregate_minute === null);
    const aggregates = rows!.filter((r) => r.aggregate_minute !== null);
    const perMinute = new Map<string, number>();
    for (const r of detailed) perMinute.set(r.minute, (perMinute.get(r.minute) ?? 0) + 1);
    expect(Math.max(...perMinute.values())).toBeLessThanOrEqual(3);
    expect(perMinute.size).toBeLessThanOrEqual(2);
    expect(aggregates.length).toBeGreaterThanOrEqual(1);
    expect(aggregates.length).toBeLessThanOrEqual(2); // the flood may straddle a minute boundary
  });

  it('GET /api/requests/last gives each source its latest rejection and null for sources without one', async () => {
    const { status, json } = await api('/api/requests/last');
    expect(status).toBe(200);
    expect(json.sources.shopify.source).toBe('shopify');
    expect(json.sources.easypost).toBeNull();
    const one = await api('/api/requests/last?source=shopify');
    expect(Object.keys(one.json.sources)).toEqual(['shopify']);
  });

  it('filters by time, pages with a cursor, refuses a bad filter and requires the ops token', async () => {
    const first = await api('/api/requests?limit=2');
    expect(first.json.requests).toHaveLength(2);
    const second = await api(`/api/requests?limit=2&cursor=${first.json.next_cursor}`);
    expect(second.json.requests[0].id).toBeLessThan(first.json.requests[1].id);
    const future = await api(
      `/api/requests?since=${encodeURIComponent(new Date(Date.now() + 3_600_000).toISOString())}`,
    );
    expect(future.json.requests).toEqual([]);
    const bad = await api('/api/requests?since=yesterday');
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toContain('since');
    expect((await api('/api/requests', {})).status).toBe(401);
  });

  it('the routes are in the OpenAPI document', async () => {
    const doc = await api('/api/openapi.json');
    expect(Object.keys(doc.json.paths)).toEqual(expect.arrayContaining(['/api/requests', '/api/requests/last']));
  });
  it('a request to a source that does not exist is answered 404 and recorded as unknown_source', async () => {
    const response = await post(`${gw.url}/api/webhooks/shopfiy`, '{"typo":1}', { 'user-agent': 'Misspelt-Sender' });
    expect(response.status).toBe(404);
    const row = await waitFor(async () => {
      const { json } = await api('/api/requests?cause=unknown_source');
      return json.requests.find((r: any) => r.source === 'shopfiy');
    });
    expect(row).toMatchObject({
      status: 404,
      user_agent: 'Misspelt-Sender',
      body_bytes: 10,
      count: 1,
      aggregate: false,
    });
  });

  it('a flood to random source names stays within the cap: a few rows, the rest counted under one bucket', async () => {
    // Made-up names, some long and some with a percent-encoded NUL (text columns refuse NUL).
    const names = Array.from({ length: 60 }, (_, i) =>
      i % 3 === 0 ? `x${i}-${'a'.repeat(500)}` : i % 3 === 1 ? `nul%00${i}` : `random-${i}-${Math.random()}`,
    );
    const send = (name: string) => {
      const url = `${gw.url}/api/webhooks/${name}`;
      return post(url, '{}', {}).catch(() => post(url, '{}', {}));
    };
    const answers = await Promise.all(names.map(send));
    expect(answers.every((a) => a.status === 404)).toBe(true);
    // The earlier test's request plus the flood, all accounted for (kept or counted).
    const rows = await waitFor(async () => {
      const found = await gw.query<{ source: string; repeat_count: number; aggregate_minute: Date | null }>(
        `select source, repeat_count, aggregate_minute from rejected_requests where cause = 'unknown_source'`,
      );
      return found.reduce((n, r) => n + Number(r.repeat_count), 0) >= names.length + 1 ? found : null;
    });
    expect(rows!.reduce((n, r) => n + Number(r.repeat_count), 0)).toBe(names.length + 1);
    const detailed = rows!.filter((r) => r.aggregate_minute === null);
    const aggregates = rows!.filter((r) => r.aggregate_minute !== null);
    // Per-minute cap 3, and the flood may straddle a minute boundary: at most 6 kept, 2 aggregates.
    expect(detailed.length).toBeLessThanOrEqual(6);
    expect(aggregates.length).toBeGreaterThanOrEqual(1);
    expect(aggregates.length).toBeLessThanOrEqual(2);
    expect(aggregates.every((r) => r.source === '*')).toBe(true);
    expect(detailed.every((r) => r.source.length <= 64 && !r.source.includes('\u0000'))).toBe(true);
  });

  // Last: the 413 is answered before the body is read and its connection closed mid-upload.
  it('a missing signature and an oversized body are recorded with their own causes', async () => {
    await post(shopify(), '{}', { 'x-shopify-webhook-id': 'no-sig', 'x-shopify-topic': 'orders/create' });
    const big = 'x'.repeat(gw.config.maxBodyBytes + 10);
    expect((await post(shopify(), big, shopifyHeaders(SECRETS.shopify, big, 'big'))).status).toBe(413);
    const causes = await waitFor(async () => {
      const { json } = await api('/api/requests?source=shopify');
      const found = new Set(json.requests.map((r: any) => r.cause));
      return found.has('missing_signature') && found.has('payload_too_large') ? json.requests : undefined;
    });
    expect(causes.find((r: any) => r.cause === 'payload_too_large').body_bytes).toBe(Buffer.byteLength(big));
  });
});
