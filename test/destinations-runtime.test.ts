import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKeyring } from '../src/control/crypto';
import { databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { post, shopifyHeaders } from './helpers/signers';

// Runtime destinations through the real server: created with the API, attached to a source, fed
// by signed webhooks, delivered to a real HTTP receiver that verifies the Standard Webhooks signature.

const MASTER_KEY = randomBytes(32).toString('base64');
const PARTNER_SECRET = `partner-${randomBytes(12).toString('hex')}`;
const HEADER_TOKEN = `Bearer hdr-${randomBytes(12).toString('hex')}`;
const FILE_SECRET = `whsec_${randomBytes(24).toString('base64')}`;
const answer = async (pending: Promise<Response>) =>
  (await pending) as Omit<Response, 'json'> & { json(): Promise<any> };
const auth = { authorization: `Bearer ${SECRETS.ops}`, 'content-type': 'application/json' };

interface Received {
  path: string;
  body: string;
  headers: IncomingHttpHeaders;
}

/** A real receiver on a free port; remembers every request, answers 204. */
async function startReceiver(): Promise<{ url: string; got: Received[]; close(): Promise<void>; server: Server }> {
  const got: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({ path: req.url ?? '', body: Buffer.concat(chunks).toString('utf8'), headers: req.headers });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, got, server, close: () => new Promise((r) => server.close(() => r())) };
}

const flat = (h: IncomingHttpHeaders) => Object.fromEntries(Object.entries(h).map(([k, v]) => [k, String(v)]));

describe.each(databaseKinds())('runtime destinations (%s)', (kind) => {
  let gw: TestGateway;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let billingSecret = '';
  let n = 0;
  const api = (path: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}) =>
    answer(
      fetch(`${gw.url}${path}`, {
        method: init.method ?? 'GET',
        headers: { ...auth, ...init.headers },
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
      }),
    );
  const send = async () => {
    const body = JSON.stringify({ id: ++n });
    const res = await post(
      `${gw.url}/api/webhooks/partner`,
      body,
      shopifyHeaders(PARTNER_SECRET, body, `dest-${n}-${Date.now()}`),
    );
    expect(res.status).toBe(200);
    return res.json.id as number;
  };
  const event = async (id: number) =>
    (
      await gw.query<{ status: string; attempts: number }>(
        'select status, attempts from webhook_events where id = $1',
        [id],
      )
    )[0]!;
  const receivedFor = (path: string, id: number) =>
    receiver.got.filter((r) => r.path === path && r.headers['webhook-id'] === `evt_${id}`);
  /** The delivery of event `id` at `path`, once the receiver has it. */
  const deliveryTo = async (path: string, id: number) =>
    (await waitFor(() => receivedFor(path, id)[0], 10_000, `the delivery of event ${id} to ${path}`))!;

  beforeAll(async () => {
    receiver = await startReceiver();
    gw = await startTestGateway(kind, {
      control: { keyring: loadKeyring({ key: MASTER_KEY }), refreshMs: 60_000 },
      // A top-level destination of GATEWAY_CONFIG, serving a source created later at runtime.
      destinations: [
        { name: 'filed', url: `${receiver.url}/filed`, secret: FILE_SECRET, timeoutMs: 2000, sources: ['partner'] },
      ],
    });
    expect(
      (
        await api('/api/sources', {
          method: 'POST',
          body: { name: 'partner', provider: 'shopify', secrets: [PARTNER_SECRET] },
        })
      ).status,
    ).toBe(201);
  }, 120_000);
  afterAll(async () => {
    await gw?.stop();
    await receiver?.close();
  });

  it("delivers a source's events to a destination created through the API, signed with its generated secret", async () => {
    const created = await api('/api/destinations', {
      method: 'POST',
      body: {
        name: 'billing',
        url: `${receiver.url}/billing`,
        sources: ['partner'],
        headers: { authorization: HEADER_TOKEN },
      },
    });
    expect(created.status).toBe(201);
    const view = await created.json();
    billingSecret = view.secret;
    expect(billingSecret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(view).toMatchObject({
      name: 'billing',
      managed_by: 'database',
      sources: ['partner'],
      paused: false,
      version: 1,
      header_names: ['authorization'],
    });
    expect(created.headers.get('etag')).toBe('"1"');
    // Shown once: never again, and neither the header's value.
    const read = await api('/api/destinations/billing');
    const text = await read.text();
    expect(text).not.toContain(billingSecret);
    expect(text).not.toContain(HEADER_TOKEN);

    const id = await send();
    const got = await deliveryTo('/billing', id);
    const verified = new Webhook(billingSecret).verify(got.body, flat(got.headers));
    expect(verified).toMatchObject({ source_service: 'partner', data: { id: n } });
    expect(got.headers.authorization).toBe(HEADER_TOKEN);
    await waitFor(async () => (await event(id)).status === 'completed', 10_000, 'the event to complete');

    const health = (await (await api('/api/destinations/billing')).json()).health;
    expect(health.delivered).toBeGreaterThanOrEqual(1);
    expect(health.last_deliveries[0]).toMatchObject({ event_id: id, outcome: 'delivered', http_status: 204 });
    // Stored encrypted, never logged.
    const rows = await gw.query<{ c: string }>("select encode(ciphertext, 'escape') as c from destinations");
    expect(rows[0]!.c).not.toContain(billingSecret);
    expect(gw.logs.join('')).not.toContain(billingSecret);
    expect(gw.logs.join('')).not.toContain(HEADER_TOKEN);
  });

  it('holds deliveries while paused: the event is not failed and no attempt is counted; resume delivers it', async () => {
    expect(
      (
        await api('/api/destinations', {
          method: 'POST',
          body: { name: 'audit', url: `${receiver.url}/audit`, sources: ['partner'] },
        })
      ).status,
    ).toBe(201);
    expect((await api('/api/destinations/billing/pause', { method: 'POST' })).status).toBe(200);

    const id = await send();
    // The other destination of the same event still gets its delivery.
    await waitFor(() => receivedFor('/audit', id).length === 1, 10_000, "the unpaused destination's delivery");
    const held = await waitFor(
      async () => {
        const [q] = await gw.query<{ held_for: unknown }>('select held_for from event_queue where event_id = $1', [id]);
        return q?.held_for ? q : undefined;
      },
      10_000,
      'the event to be held',
    );
    expect(held!.held_for).toEqual(['billing']);
    expect(await event(id)).toEqual({ status: 'received', attempts: 0 });
    expect(receivedFor('/billing', id)).toHaveLength(0);
    expect((await (await api('/api/destinations/billing')).json()).health.held).toBe(1);

    const resumed = await api('/api/destinations/billing/resume', { method: 'POST' });
    expect(resumed.status).toBe(200);
    await waitFor(() => receivedFor('/billing', id).length === 1, 5_000, 'the held delivery after resume');
    await waitFor(async () => (await event(id)).status === 'completed', 5_000, 'the event to complete');
    expect((await event(id)).attempts).toBe(1);
    expect(receivedFor('/audit', id)).toHaveLength(1); // not delivered twice
  });

  it('a held event whose source is detached from the paused destination no longer waits for it', async () => {
    expect(
      (
        await api('/api/sources', {
          method: 'POST',
          body: { name: 'detached', provider: 'shopify', secrets: [PARTNER_SECRET] },
        })
      ).status,
    ).toBe(201);
    expect(
      (
        await api('/api/destinations', {
          method: 'POST',
          body: { name: 'only', url: `${receiver.url}/only`, sources: ['detached'] },
        })
      ).status,
    ).toBe(201);
    expect((await api('/api/destinations/only/pause', { method: 'POST' })).status).toBe(200);
    const body = JSON.stringify({ id: 'detach-me' });
    const id = (
      await post(
        `${gw.url}/api/webhooks/detached`,
        body,
        shopifyHeaders(PARTNER_SECRET, body, `detached-${Date.now()}`),
      )
    ).json.id as number;
    await waitFor(
      async () =>
        (await gw.query('select 1 from event_queue where event_id = $1 and held_for is not null', [id])).length === 1,
      10_000,
      'the event to be held',
    );
    expect((await api('/api/destinations/only', { method: 'PATCH', body: { sources: [] } })).status).toBe(200);
    await waitFor(
      async () => (await event(id)).status === 'completed',
      5_000,
      'the event to complete without the destination',
    );
    expect(await event(id)).toEqual({ status: 'completed', attempts: 1 });
    expect(receivedFor('/only', id)).toHaveLength(0);
  });

  it('rotates the signing secret: returned once, the next delivery is signed with it', async () => {
    const rotated = await api('/api/destinations/billing/rotate-secret', { method: 'POST', body: {} });
    expect(rotated.status).toBe(200);
    const fresh = (await rotated.json()).secret as string;
    expect(fresh).not.toBe(billingSecret);
    const id = await send();
    const got = await deliveryTo('/billing', id);
    expect(() => new Webhook(fresh).verify(got.body, flat(got.headers))).not.toThrow();
    expect(() => new Webhook(billingSecret).verify(got.body, flat(got.headers))).toThrow();
  });

  it('refuses a bad URL, credentials in the URL, an unknown source and a taken name, naming the field', async () => {
    const cases: [unknown, number, RegExp][] = [
      [{ name: 'x1', url: 'ftp://example.test/x' }, 400, /^url: /],
      [{ name: 'x2', url: 'https://user:pw@example.test/x' }, 400, /^url: must not contain credentials/],
      [{ name: 'x3', url: 'https://example.test/x', sources: ['nope'] }, 400, /^sources: .*"nope"/],
      [{ name: 'x4', url: 'https://example.test/x', secret: 'plain' }, 400, /^secret: /],
      [{ name: 'billing', url: 'https://example.test/x' }, 409, /^name: .*already exists/],
    ];
    for (const [body, status, message] of cases) {
      const res = await api('/api/destinations', { method: 'POST', body });
      expect(res.status, JSON.stringify(body)).toBe(status);
      expect((await res.json()).error.message).toMatch(message);
    }
    expect((await api('/api/destinations/x1')).status).toBe(404);
  });

  it('refuses a header value no HTTP request can carry (a line break), instead of failing every delivery', async () => {
    const created = await api('/api/destinations', {
      method: 'POST',
      body: { name: 'x5', url: 'https://example.test/x', headers: { 'x-token': 'abc\r\nx-injected: 1' } },
    });
    expect(created.status).toBe(400);
    expect((await created.json()).error.message).toMatch(/^headers\.x-token: /);
    expect((await api('/api/destinations/x5')).status).toBe(404);
    expect(
      (await api('/api/destinations', { method: 'POST', body: { name: 'x6', url: 'https://example.test/x' } })).status,
    ).toBe(201);
    const patched = await api('/api/destinations/x6', { method: 'PATCH', body: { headers: { 'x-token': 'a\nb' } } });
    expect(patched.status).toBe(400);
    expect((await (await api('/api/destinations/x6')).json()).header_names).toEqual([]);
  });

  it('answers 412 to a stale If-Match and changes nothing', async () => {
    const current = await api('/api/destinations/audit');
    const etag = current.headers.get('etag')!;
    expect(
      (
        await api('/api/destinations/audit', {
          method: 'PATCH',
          body: { timeout_ms: 3000 },
          headers: { 'if-match': etag },
        })
      ).status,
    ).toBe(200);
    const stale = await api('/api/destinations/audit', {
      method: 'PATCH',
      body: { timeout_ms: 4000 },
      headers: { 'if-match': etag },
    });
    expect(stale.status).toBe(412);
    expect((await stale.json()).error.code).toBe('version_mismatch');
    expect((await (await api('/api/destinations/audit')).json()).timeout_ms).toBe(3000);
  });

  it("applies a database source's processing keys: payload schemas and retry.max_attempts", async () => {
    const strict = {
      name: 'strict',
      provider: 'shopify',
      secrets: [PARTNER_SECRET],
      retry: { max_attempts: 1 },
      schemas: { '*': { type: 'object', properties: { must: { type: 'number' } }, required: ['must'] } },
    };
    expect((await api('/api/sources', { method: 'POST', body: strict })).status).toBe(201);
    const refused = await api('/api/sources', {
      method: 'POST',
      body: { ...strict, name: 'inline', destinations: [] },
    });
    expect(refused.status).toBe(400);
    expect((await refused.json()).error.message).toMatch(/^destinations: /);
    // A receiver that always fails: with max_attempts 1 the first failure is final.
    expect(
      (
        await api('/api/destinations', {
          method: 'POST',
          body: { name: 'down', url: `${receiver.url}/down`, sources: ['strict'] },
        })
      ).status,
    ).toBe(201);
    receiver.server.removeAllListeners('request');
    receiver.server.on('request', (req, res) =>
      req.resume().on('end', () => res.writeHead(req.url === '/down' ? 503 : 204).end()),
    );
    const sendTo = async (payload: object, i: number) => {
      const body = JSON.stringify(payload);
      return (
        await post(
          `${gw.url}/api/webhooks/strict`,
          body,
          shopifyHeaders(PARTNER_SECRET, body, `strict-${i}-${Date.now()}`),
        )
      ).json.id as number;
    };
    const invalid = await sendTo({ other: 1 }, 1);
    const valid = await sendTo({ must: 1 }, 2);
    const finalOf = async (id: number) => {
      const [row] = await gw.query<{ status: string; attempts: number; last_error: string }>(
        'select status, attempts, last_error from webhook_events where id = $1',
        [id],
      );
      return row?.status === 'failed' ? row : undefined;
    };
    const failedInvalid = await waitFor(() => finalOf(invalid), 10_000, 'the invalid payload to fail');
    expect(failedInvalid!.last_error).toMatch(/payload failed validation: .*must/);
    const failedValid = await waitFor(() => finalOf(valid), 10_000, 'the failing delivery to fail for good');
    expect(failedValid).toMatchObject({ attempts: 1 });
    expect(failedValid!.last_error).toMatch(/down: HTTP 503/);

    // mask: the payload is shown masked and is never searched.
    expect(
      (
        await api('/api/sources', {
          method: 'POST',
          body: { name: 'masked', provider: 'shopify', secrets: [PARTNER_SECRET], mask: ['card'] },
        })
      ).status,
    ).toBe(201);
    const body = JSON.stringify({ card: '4242-4242' });
    const maskedId = (
      await post(`${gw.url}/api/webhooks/masked`, body, shopifyHeaders(PARTNER_SECRET, body, `masked-${Date.now()}`))
    ).json.id as number;
    expect(await (await api(`/api/events/${maskedId}`)).text()).not.toContain('4242-4242');
    const search = await api('/api/events?source=masked&q=4242');
    expect(search.status).toBe(400);
    expect((await search.json()).error.code).toBe('search_not_allowed');
    expect(JSON.stringify((await (await api('/api/events?q=4242')).json()).events)).not.toContain(`"id":${maskedId},`);
  });

  it("serves the file's destinations read-only, next to the runtime ones", async () => {
    const filed = (await (await api('/api/destinations')).json()).destinations.find(
      (d: { name: string }) => d.name === 'filed',
    );
    expect(filed).toMatchObject({ managed_by: 'file', sources: ['partner'], paused: false, version: null });
    expect(filed.health.delivered).toBeGreaterThanOrEqual(1); // it got partner's events too
    expect(JSON.stringify(filed)).not.toContain(FILE_SECRET);
    const patched = await api('/api/destinations/filed', { method: 'PATCH', body: { timeout_ms: 3000 } });
    expect(patched.status).toBe(409);
    expect((await patched.json()).error).toMatchObject({
      code: 'managed_by_file',
      message: expect.stringContaining('change it there and restart the gateway'),
    });
    const taken = await api('/api/destinations', {
      method: 'POST',
      body: { name: 'filed', url: 'https://example.test/x' },
    });
    expect(taken.status).toBe(409);
    expect((await taken.json()).error.message).toMatch(/^name: /);
  });

  it('deletes a destination and audits every change without its secret', async () => {
    expect((await api('/api/destinations/audit', { method: 'DELETE' })).status).toBe(200);
    expect((await api('/api/destinations/audit')).status).toBe(404);
    const audit = await gw.query<{ action: string; after: unknown }>(
      "select action, after from audit_log where target like 'destination:%' order by id",
    );
    expect(audit.map((a) => a.action)).toEqual(
      expect.arrayContaining([
        'destination.create',
        'destination.pause',
        'destination.resume',
        'destination.rotate_secret',
        'destination.update',
        'destination.delete',
      ]),
    );
    expect(JSON.stringify(audit)).not.toContain(billingSecret);
    expect(JSON.stringify(audit)).not.toContain(HEADER_TOKEN);
  });
});
