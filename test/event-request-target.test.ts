import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKeyring } from '../src/control/crypto';
import { storedRequestTarget, parseRequestTarget, MAX_STORED_QUERY_BYTES } from '../src/ingest/request-target';
import { databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { startReceiver } from './helpers/receiver';
import { post, shopifyHeaders } from './helpers/signers';

// The path and query string are stored with each event (migration 0018), so destination filters on
// `path` and `query` match in real deliveries; credential-like parameters and the one an api-key
// source verifies with never reach the row.

describe('storedRequestTarget', () => {
  it('drops credential-like and verification parameters, keeps the rest in order and encoding', () => {
    expect(
      storedRequestTarget('/api/webhooks/shop', 'region=eu&access_token=t1&x=a%20b&Signature=s&code=c&pwd=p', ['code']),
    ).toBe('/api/webhooks/shop?region=eu&x=a%20b');
    expect(storedRequestTarget('/p', '')).toBe('/p');
    expect(storedRequestTarget('/p', 'apiKey=1&auth=2&sig=3')).toBe('/p');
  });

  it('keeps at most 2 KiB of whole parameters, and leaves out a name that does not decode', () => {
    const long = Array.from({ length: 400 }, (_, i) => `p${i}=vvvvvv`).join('&');
    const stored = storedRequestTarget('/p', `${long}&%E0%A4%A=1`);
    const query = stored.slice('/p?'.length);
    expect(Buffer.byteLength(query)).toBeLessThanOrEqual(MAX_STORED_QUERY_BYTES);
    expect(query.split('&').every((part) => /^p\d+=vvvvvv$/.test(part))).toBe(true);
    expect(storedRequestTarget('/p', '%E0%A4%A=1&a=1')).toBe('/p?a=1');
    // A decoded path may hold what PostgreSQL text cannot: replaced, never a failed batch.
    expect(storedRequestTarget('/p/a\u0000b\uD800', '')).toBe('/p/a\uFFFDb\uFFFD');
    expect(parseRequestTarget(storedRequestTarget('/p/a?b', 'x=1'))).toEqual({ path: '/p/a%3Fb', query: { x: '1' } });
  });

  it('is read back as a path and a name → value map (first of a repeated name)', () => {
    const { path, query } = parseRequestTarget('/a/b?x=1&x=2&__proto__=y');
    expect(path).toBe('/a/b');
    expect(query!.x).toBe('1');
    // An own key named __proto__, not a prototype.
    expect(Object.getOwnPropertyDescriptor(query, '__proto__')?.value).toBe('y');
    expect(Object.getPrototypeOf(query)).toBe(Object.prototype);
    expect(parseRequestTarget(null)).toEqual({});
  });
});

const MASTER_KEY = randomBytes(32).toString('base64');
const SHOP_SECRET = `shop-${randomBytes(12).toString('hex')}`;
const API_KEY = `key-${randomBytes(16).toString('hex')}`;
const auth = { authorization: `Bearer ${SECRETS.ops}`, 'content-type': 'application/json' };

describe.each(databaseKinds())('path and query at ingest (%s)', (kind) => {
  let gw: TestGateway;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let n = 0;
  const api = async (path: string, init: { method?: string; body?: unknown } = {}) => {
    const res = await fetch(`${gw.url}${path}`, {
      method: init.method ?? 'GET',
      headers: auth,
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    return { status: res.status, json: (await res.json()) as any };
  };
  const completed = (id: number) =>
    waitFor(
      async () => (await api(`/api/events/${id}`)).json.status === 'completed',
      10_000,
      `event ${id} to complete`,
    );
  const sendShop = async (query: string) => {
    const body = JSON.stringify({ id: ++n, total: 5 });
    const res = await post(
      `${gw.url}/api/webhooks/shop?${query}`,
      body,
      shopifyHeaders(SHOP_SECRET, body, `rt-${n}-${Date.now()}`),
    );
    expect(res.status).toBe(200);
    return res.json.id as number;
  };

  beforeAll(async () => {
    receiver = await startReceiver();
    gw = await startTestGateway(kind, { control: { keyring: loadKeyring({ key: MASTER_KEY }), refreshMs: 60_000 } });
    for (const body of [
      { name: 'shop', provider: 'shopify', secrets: [SHOP_SECRET] },
      { name: 'partner', provider: 'api-key', query: 'code', secrets: [API_KEY] },
    ])
      expect((await api('/api/sources', { method: 'POST', body })).status).toBe(201);
    const created = await api('/api/destinations', {
      method: 'POST',
      body: {
        name: 'eu-only',
        url: receiver.url,
        sources: ['shop'],
        filter: { query: { region: 'eu' }, path: { $startsWith: '/api/webhooks/' } },
      },
    });
    expect(created.status).toBe(201);
  }, 120_000);
  afterAll(async () => {
    await gw?.stop();
    await receiver?.close();
  });

  it('a filter on query and path matches in a real delivery; the credential parameter is not stored', async () => {
    const eu = await sendShop('region=eu&token=abc123');
    const us = await sendShop('region=us');
    await completed(eu);
    await completed(us);
    await waitFor(
      () => receiver.deliveries.find((d) => d.headers['webhook-id'] === `evt_${eu}`),
      10_000,
      'the eu event',
    );
    expect(receiver.deliveries.filter((d) => d.headers['webhook-id'] === `evt_${us}`)).toHaveLength(0);
    expect((await api(`/api/events/${us}`)).json.deliveries).toEqual([
      expect.objectContaining({ destination: 'eu-only', outcome: 'ignored', error: 'filtered' }),
    ]);

    const rows = await gw.query<{ request_target: string }>('select request_target from webhook_events where id = $1', [
      eu,
    ]);
    expect(rows[0]!.request_target).toBe('/api/webhooks/shop?region=eu');
    expect((await api(`/api/events/${eu}`)).json.request_target).toBe('/api/webhooks/shop?region=eu');
  });

  it('preview evaluates a draft filter and sources instead of the saved ones, with a pasted path and query', async () => {
    const preview = (body: unknown) => api('/api/destinations/eu-only/preview', { method: 'POST', body });
    const pasted = { payload: { total: 5 }, topic: 'orders/create', path: '/api/webhooks/shop' };
    expect((await preview({ ...pasted, query: 'region=eu' })).json).toMatchObject({ matched: true, routed: true });
    expect((await preview({ ...pasted, query: 'region=us' })).json.matched).toBe(false);
    // A draft that asks for region=us matches it; nothing was saved.
    const draft = { filter: { query: { region: 'us' } }, sources: ['shop'] };
    expect((await preview({ ...pasted, query: 'region=us', draft })).json.matched).toBe(true);
    expect((await api('/api/destinations/eu-only')).json.filter).toEqual({
      query: { region: 'eu' },
      path: { $startsWith: '/api/webhooks/' },
    });
    // A credential-like parameter is dropped as at ingest, so a draft cannot match on it either.
    const onToken = { filter: { query: { token: { $exists: true } } } };
    expect((await preview({ ...pasted, query: 'token=abc', draft: onToken })).json.matched).toBe(false);
    // A draft without the event's source: not routed.
    const elsewhere = await preview({ ...pasted, source: 'shop', draft: { sources: ['partner'], filter: null } });
    expect(elsewhere.json).toMatchObject({ matched: false, routed: false });
    const bad = await preview({ ...pasted, draft: { filter: { body: { total: { $gtx: 1 } } } } });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatchObject({ code: 'invalid_filter' });
    expect(bad.json.error.message).toMatch(/^draft\.filter\.body\.total\.\$gtx: unknown operator/);
  });

  it("an api-key source's own query parameter never reaches the row", async () => {
    const body = JSON.stringify({ id: 'p-1' });
    const res = await post(`${gw.url}/api/webhooks/partner?code=${API_KEY}&batch=7`, body, {
      'content-type': 'application/json',
      'x-webhook-id': `p-${Date.now()}`,
    });
    expect(res.status).toBe(200);
    const rows = await gw.query<{ request_target: string; headers: unknown }>(
      'select request_target, headers::text as headers from webhook_events where id = $1',
      [res.json.id],
    );
    expect(rows[0]!.request_target).toBe('/api/webhooks/partner?batch=7');
    expect(JSON.stringify(rows[0])).not.toContain(API_KEY);
  });
});
