import { createHmac, randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseGatewayDocument } from '../src/config/file';
import { loadKeyring } from '../src/control/crypto';
import { databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { startReceiver } from './helpers/receiver';
import { post, shopifyHeaders } from './helpers/signers';

// Filters per destination through the real server: a destination created with the API with a
// filter on body.total > 100 gets only matching events, signed, on a real local receiver; the
// other events are logged as "ignored: filtered" and complete. Preview answers the same question
// without sending anything.

const MASTER_KEY = randomBytes(32).toString('base64');
const SOURCE_SECRET = `shop-${randomBytes(12).toString('hex')}`;
const FILE_SECRET = `whsec_${randomBytes(24).toString('base64')}`;
const auth = { authorization: `Bearer ${SECRETS.ops}`, 'content-type': 'application/json' };
const flat = (h: IncomingHttpHeaders) => Object.fromEntries(Object.entries(h).map(([k, v]) => [k, String(v)]));

describe.each(databaseKinds())('destination filters (%s)', (kind) => {
  let gw: TestGateway;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let filed: Awaited<ReturnType<typeof startReceiver>>;
  let secret = '';
  let n = 0;
  const api = async (path: string, init: { method?: string; body?: unknown } = {}) => {
    const res = await fetch(`${gw.url}${path}`, {
      method: init.method ?? 'GET',
      headers: auth,
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    return { status: res.status, json: (await res.json()) as any };
  };
  const send = async (payload: Record<string, unknown>) => {
    const body = JSON.stringify({ id: ++n, ...payload });
    const res = await post(
      `${gw.url}/api/webhooks/shop`,
      body,
      shopifyHeaders(SOURCE_SECRET, body, `flt-${n}-${Date.now()}`),
    );
    expect(res.status).toBe(200);
    return res.json.id as number;
  };
  const completed = (id: number) =>
    waitFor(
      async () => (await api(`/api/events/${id}`)).json.status === 'completed',
      10_000,
      `event ${id} to complete`,
    );

  beforeAll(async () => {
    receiver = await startReceiver();
    filed = await startReceiver();
    gw = await startTestGateway(kind, {
      control: { keyring: loadKeyring({ key: MASTER_KEY }), refreshMs: 60_000 },
      // A file destination with a topic filter: only refunds go there.
      destinations: [
        {
          name: 'refunds-only',
          url: filed.url,
          secret: FILE_SECRET,
          timeoutMs: 2000,
          sources: ['shop'],
          filter: { topic: 'refunds/*' },
        },
      ],
    });
    const source = await api('/api/sources', {
      method: 'POST',
      body: { name: 'shop', provider: 'shopify', secrets: [SOURCE_SECRET] },
    });
    expect(source.status).toBe(201);
  }, 120_000);
  afterAll(async () => {
    await gw?.stop();
    await receiver?.close();
    await filed?.close();
  });

  it('an invalid filter is refused with 400 naming its path, on create and on PATCH', async () => {
    const bad = await api('/api/destinations', {
      method: 'POST',
      body: { name: 'big', url: receiver.url, sources: ['shop'], filter: { body: { total: { $gtx: 100 } } } },
    });
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe('invalid_destination');
    expect(bad.json.error.message).toMatch(/^filter\.body\.total\.\$gtx: unknown operator/);
    expect((await api('/api/destinations/big')).status).toBe(404);
  });

  it('a destination filtering on body.total > 100 gets only the matching events; the others are ignored: filtered and complete', async () => {
    const created = await api('/api/destinations', {
      method: 'POST',
      body: { name: 'big', url: receiver.url, sources: ['shop'], filter: { body: { total: { $gt: 100 } } } },
    });
    expect(created.status).toBe(201);
    expect(created.json.filter).toEqual({ body: { total: { $gt: 100 } } });
    secret = created.json.secret;

    const small = await send({ total: 50 });
    const large = await send({ total: 150 });
    await completed(small);
    await completed(large);
    const got = (await waitFor(
      () => receiver.deliveries.find((d) => d.headers['webhook-id'] === `evt_${large}`),
      10_000,
      'the large order',
    ))!;
    expect(new Webhook(secret).verify(got.bytes.toString('utf8'), flat(got.headers))).toMatchObject({
      data: { total: 150 },
    });
    expect(receiver.deliveries.filter((d) => d.headers['webhook-id'] === `evt_${small}`)).toHaveLength(0);

    const smallView = (await api(`/api/events/${small}`)).json;
    expect(smallView.deliveries).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ destination: 'big', outcome: 'ignored', error: 'filtered', http_status: null }),
        expect.objectContaining({ destination: 'refunds-only', outcome: 'ignored', error: 'filtered' }),
      ]),
    );
    const largeView = (await api(`/api/events/${large}`)).json;
    expect(largeView.deliveries).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ destination: 'big', outcome: 'delivered' }),
        expect.objectContaining({ destination: 'refunds-only', outcome: 'ignored', error: 'filtered' }),
      ]),
    );
    // The file destination's topic filter kept both orders away from it.
    expect(filed.deliveries).toHaveLength(0);
  });

  it('PATCH replaces the filter, and null removes it', async () => {
    const patched = await api('/api/destinations/big', {
      method: 'PATCH',
      body: { filter: { body: { total: { $lt: 10 } } } },
    });
    expect(patched.status).toBe(200);
    expect(patched.json.filter).toEqual({ body: { total: { $lt: 10 } } });
    const bad = await api('/api/destinations/big', { method: 'PATCH', body: { filter: { $or: [] } } });
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toMatch(/^filter\.\$or: /);
    const removed = await api('/api/destinations/big', { method: 'PATCH', body: { filter: null } });
    expect(removed.json.filter).toBeNull();
    const any = await send({ total: 1 });
    await completed(any);
    expect(receiver.deliveries.some((d) => d.headers['webhook-id'] === `evt_${any}`)).toBe(true);
    expect(
      (await api('/api/destinations/big', { method: 'PATCH', body: { filter: { body: { total: { $gt: 100 } } } } }))
        .status,
    ).toBe(200);
  });

  it('preview of a stored event: not matched, with the exact envelope and a signature at the fixed preview time', async () => {
    const small = await send({ total: 20 });
    await completed(small);
    const preview = await api('/api/destinations/big/preview', { method: 'POST', body: { event_id: small } });
    expect(preview.status).toBe(200);
    expect(preview.json.matched).toBe(false);
    expect(JSON.parse(preview.json.body)).toMatchObject({
      event_type: 'orders/create',
      source_service: 'shop',
      data: { total: 20 },
    });
    const headers = preview.json.headers as Record<string, string>;
    expect(headers['webhook-id']).toBe(`evt_${small}`);
    expect(headers['webhook-timestamp']).toBe('946684800');
    const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
    const expected = createHmac('sha256', key).update(`evt_${small}.946684800.${preview.json.body}`).digest('base64');
    expect(headers['webhook-signature']).toBe(`v1,${expected}`);
  });

  it('preview of the event that was delivered shows the bytes the receiver got', async () => {
    const large = await send({ total: 999 });
    const got = (await waitFor(
      () => receiver.deliveries.find((d) => d.headers['webhook-id'] === `evt_${large}`),
      10_000,
      'the delivery',
    ))!;
    const preview = await api('/api/destinations/big/preview', { method: 'POST', body: { event_id: large } });
    expect(preview.json.matched).toBe(true);
    expect(preview.json.body).toBe(got.bytes.toString('utf8'));
  });

  it('preview of a pasted payload, matched and not matched; bad requests name the field', async () => {
    const yes = await api('/api/destinations/big/preview', {
      method: 'POST',
      body: { payload: { total: 500 }, topic: 'orders/paid' },
    });
    expect(yes.status).toBe(200);
    expect(yes.json.matched).toBe(true);
    expect(JSON.parse(yes.json.body)).toMatchObject({ event_type: 'orders/paid', data: { total: 500 } });
    const no = await api('/api/destinations/refunds-only/preview', {
      method: 'POST',
      body: { payload: { total: 500 }, topic: 'orders/paid' },
    });
    expect(no.json.matched).toBe(false);
    const nothing = await api('/api/destinations/big/preview', { method: 'POST', body: {} });
    expect(nothing.status).toBe(400);
    expect(nothing.json.error.message).toMatch(/^payload: /);
    expect((await api('/api/destinations/big/preview', { method: 'POST', body: { event_id: 999999 } })).status).toBe(
      404,
    );
    expect((await api('/api/destinations/nope/preview', { method: 'POST', body: { payload: {} } })).status).toBe(404);
  });
});

describe('filters in the config file', () => {
  const entry = (filter: unknown) => ({
    destinations: [
      { name: 'erp', url: 'https://erp.example.test/hooks', secret: FILE_SECRET, sources: ['shop'], filter },
    ],
  });
  it('a valid filter is kept on the destination', () => {
    const parsed = parseGatewayDocument(entry({ topic: 'orders/*' }), {});
    expect(parsed.destinations[0]!.filter).toEqual({ topic: 'orders/*' });
  });
  it('an invalid filter stops the start with the path of the problem', () => {
    expect(() => parseGatewayDocument(entry({ body: { total: { $gtx: 1 } } }), {})).toThrow(
      /filter\.body\.total\.\$gtx: unknown operator/,
    );
  });
});
