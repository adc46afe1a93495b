import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseGatewayDocument } from '../src/config/file';
import { loadKeyring } from '../src/control/crypto';
import { planDestinations } from '../src/control/destination-plan';
import { checkFileTransforms } from '../src/transform';
import { databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { startReceiver } from './helpers/receiver';
import { post, shopifyHeaders } from './helpers/signers';

// Transformations through the real server: destinations created with the API, a JSONata and a
// JavaScript transformation, signed webhooks in, real receivers verifying the Standard Webhooks
// signature over the transformed bytes. Loops, memory bombs, throws and deep recursion in both
// languages fail only their own delivery (transformation_failed, once), never the worker.

const MASTER_KEY = randomBytes(32).toString('base64');
const SOURCE_SECRET = `shop-${randomBytes(12).toString('hex')}`;
const auth = { authorization: `Bearer ${SECRETS.ops}`, 'content-type': 'application/json' };
const flat = (h: IncomingHttpHeaders) => Object.fromEntries(Object.entries(h).map(([k, v]) => [k, String(v)]));
type Receiver = Awaited<ReturnType<typeof startReceiver>>;

const HOSTILE: [string, 'jsonata' | 'javascript', string, RegExp][] = [
  [
    'an endless JSONata recursion',
    'jsonata',
    '($f := function($n){ $f($n + 1) }; $f(0))',
    /did not finish within 1000 ms|stack|memory/,
  ],
  // A bomb is stopped by whichever limit it reaches first (on a loaded machine, sometimes the deadline).
  [
    'a JSONata memory bomb',
    'jsonata',
    '[1..10000000].{"a": $string($)}',
    /ran out of memory|did not finish within 1000 ms/,
  ],
  ['a JSONata $error', 'jsonata', '$error("no such order")', /D3137: no such order \(at offset/],
  ['a JSONata expression with no result', 'jsonata', 'body.missing', /gave no result/],
  ['while (true)', 'javascript', 'function transform(input) {\n  while (true) {}\n}', /did not finish within 1000 ms/],
  [
    'a JavaScript memory bomb',
    'javascript',
    'function transform(input) { const a = []; for (;;) a.push({ n: a.length }); }',
    /ran out of memory|did not finish/,
  ],
  [
    'a JavaScript throw',
    'javascript',
    'function transform(input) {\n  throw new Error("bad order");\n}',
    /Error: bad order \(at line 2, column/,
  ],
  [
    'deep JavaScript recursion',
    'javascript',
    'function f(n) { return f(n + 1) + 1; }\nfunction transform(input) { return f(0); }',
    /stack overflow/,
  ],
];

describe.each(databaseKinds())('destination transformations (%s)', (kind) => {
  let gw: TestGateway;
  const receivers: Record<string, Receiver> = {};
  const secrets: Record<string, string> = {};
  let n = 0;
  /** The last event a hostile transformation failed. */
  let failedEvent = 0;
  let failedOrder = 0;
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
      shopifyHeaders(SOURCE_SECRET, body, `tr-${n}-${Date.now()}`),
    );
    expect(res.status).toBe(200);
    return res.json.id as number;
  };
  const settled = (id: number, status: 'completed' | 'failed') =>
    waitFor(async () => (await api(`/api/events/${id}`)).json.status === status, 15_000, `event ${id} ${status}`);
  const received = async (name: string, id: number) => {
    const got = (await waitFor(
      () => receivers[name]!.deliveries.find((d) => d.headers['webhook-id'] === `evt_${id}`),
      10_000,
      `event ${id} at ${name}`,
    ))!;
    // The signature covers the transformed bytes exactly as they arrived.
    return new Webhook(secrets[name]!).verify(got.bytes.toString('utf8'), flat(got.headers)) as Record<string, unknown>;
  };
  const create = async (name: string, transform?: unknown) => {
    receivers[name] = await startReceiver();
    const created = await api('/api/destinations', {
      method: 'POST',
      body: { name, url: receivers[name].url, sources: ['shop'], ...(transform ? { transform } : {}) },
    });
    expect(created.status).toBe(201);
    secrets[name] = created.json.secret;
    return created.json;
  };

  beforeAll(async () => {
    // A destination of GATEWAY_CONFIG with a JSONata transform, beside those created through the API.
    receivers.filed = await startReceiver();
    secrets.filed = `whsec_${randomBytes(24).toString('base64')}`;
    gw = await startTestGateway(kind, {
      control: { keyring: loadKeyring({ key: MASTER_KEY }), refreshMs: 60_000 },
      destinations: [
        {
          name: 'filed',
          url: receivers.filed.url,
          secret: secrets.filed,
          timeoutMs: 2000,
          sources: ['shop'],
          transform: { language: 'jsonata', code: '{"filed": body.id, "topic": topic}' },
        },
      ],
    });
    expect(
      (
        await api('/api/sources', {
          method: 'POST',
          body: { name: 'shop', provider: 'shopify', secrets: [SOURCE_SECRET] },
        })
      ).status,
    ).toBe(201);
  }, 120_000);
  afterAll(async () => {
    await gw?.stop();
    await Promise.all(Object.values(receivers).map((r) => r.close()));
  });

  it('refuses invalid expressions and scripts at save time with the position of the error', async () => {
    const bad = async (transform: unknown) =>
      api('/api/destinations', {
        method: 'POST',
        body: { name: 'bad', url: 'http://127.0.0.1:9/x', sources: ['shop'], transform },
      });
    const jsonata = await bad({ language: 'jsonata', code: '{"a": body.id +}' });
    expect(jsonata.status).toBe(400);
    expect(jsonata.json.error.code).toBe('invalid_transform');
    expect(jsonata.json.error.message).toMatch(/^transform\.code: invalid JSONata: S0211: .*\(at offset 16\)$/);
    const script = await bad({ language: 'javascript', code: 'function transform(input) {\n  return { a: };\n}' });
    expect(script.status).toBe(400);
    expect(script.json.error).toMatchObject({ code: 'invalid_transform' });
    expect(script.json.error.message).toMatch(/SyntaxError: .*\(at line 2, column \d+\)$/);
    const missing = await bad({ language: 'javascript', code: 'function transfrom(input) { return input; }' });
    expect(missing.status).toBe(400);
    expect(missing.json.error.message).toMatch(/must define function transform\(input\)/);
    expect((await bad({ language: 'lua', code: 'x' })).json.error.code).toBe('invalid_transform');
    const long = await bad({ language: 'jsonata', code: `"${'x'.repeat(64 * 1024)}"` });
    expect(long.status).toBe(400);
    expect(long.json.error.message).toMatch(/^transform\.code: must be at most 65536 characters/);
    expect((await api('/api/destinations/bad')).status).toBe(404);
  });

  it('posts what JSONata and JavaScript compute, signed over the transformed bytes, and records the rule version', async () => {
    const mapped = await create('mapped', {
      language: 'jsonata',
      code: '{"order": body.id, "total": $number(body.total_price), "kind": topic, "from": event.source}',
    });
    expect(mapped).toMatchObject({ transform: { language: 'jsonata' }, rule_version: 1 });
    await create('scripted', {
      language: 'javascript',
      code: 'function transform(input) {\n  return { orderId: String(input.body.id), lines: input.body.items.length, webhook: input.event.webhookId };\n}',
    });
    await create('plain');
    const id = await send({ total_price: '199.50', items: [{ sku: 'a' }, { sku: 'b' }] });
    expect(await received('mapped', id)).toEqual({ order: n, total: 199.5, kind: 'orders/create', from: 'shop' });
    expect(await received('scripted', id)).toEqual({
      orderId: String(n),
      lines: 2,
      webhook: expect.stringMatching(/\/tr-\d+-/),
    });
    expect(await received('plain', id)).toMatchObject({ source_service: 'shop', data: { id: n } });
    expect(await received('filed', id)).toEqual({ filed: n, topic: 'orders/create' });
    await settled(id, 'completed');
    const deliveries = (await api(`/api/events/${id}`)).json.deliveries;
    expect(
      deliveries
        .filter((d: any) => d.outcome === 'delivered')
        .map((d: any) => [d.destination, d.rule_version])
        .sort(),
    ).toEqual([
      ['filed', null],
      ['mapped', 1],
      ['plain', 1],
      ['scripted', 1],
    ]);
  });

  it.each(HOSTILE)(
    '%s fails only its own delivery, once, as transformation_failed',
    async (_what, language, code, message) => {
      const before = (await api('/api/destinations/mapped')).json.rule_version as number;
      const patched = await api('/api/destinations/mapped', {
        method: 'PATCH',
        body: { transform: { language, code } },
      });
      expect(patched.status).toBe(200);
      expect(patched.json.rule_version).toBeGreaterThan(before);
      const id = (failedEvent = await send({ total_price: '5.00', items: [] }));
      failedOrder = n;
      // The other destinations are served; the event then fails without burning its attempts.
      expect(await received('plain', id)).toMatchObject({ data: { id: n } });
      await settled(id, 'failed');
      const [row] = await gw.query<{ attempts: number }>('select attempts from webhook_events where id = $1', [id]);
      expect(row!.attempts).toBe(1);
      const failed = (await api(`/api/events/${id}`)).json.deliveries.filter((d: any) => d.destination === 'mapped');
      expect(failed).toHaveLength(1);
      expect(failed[0]).toMatchObject({
        outcome: 'failed',
        http_status: null,
        rule_version: patched.json.rule_version,
      });
      expect(failed[0].error).toMatch(/^transformation_failed: /);
      expect(failed[0].error).toMatch(message);
      expect(receivers.mapped!.deliveries.some((d) => d.headers['webhook-id'] === `evt_${id}`)).toBe(false);
    },
    30_000,
  );

  it('the worker still processes: after the hostile runs, a later event is transformed and delivered', async () => {
    const patched = await api('/api/destinations/mapped', {
      method: 'PATCH',
      body: { transform: { language: 'jsonata', code: '{"again": body.id}' } },
    });
    const id = await send({ items: [] });
    expect(await received('mapped', id)).toEqual({ again: n });
    await settled(id, 'completed');
    const row = (await api(`/api/events/${id}`)).json.deliveries.find((d: any) => d.destination === 'mapped');
    expect(row.rule_version).toBe(patched.json.rule_version);
    // A change of anything but the rules keeps the rule version.
    const timeout = await api('/api/destinations/mapped', { method: 'PATCH', body: { timeout_ms: 5000 } });
    expect(timeout.json.rule_version).toBe(patched.json.rule_version);
    expect(timeout.json.version).toBeGreaterThan(patched.json.version);

    // With the transformation fixed (a new rule version), a replay delivers the failed event to it;
    // the destinations that already got it are not posted again.
    const plainBefore = receivers.plain!.deliveries.length;
    expect((await api(`/api/events/${failedEvent}/replay`, { method: 'POST' })).status).toBe(200);
    expect(await received('mapped', failedEvent)).toEqual({ again: failedOrder });
    await settled(failedEvent, 'completed');
    expect(receivers.plain!.deliveries.length).toBe(plainBefore);
  });

  it('preview runs a draft transform and filter without saving them; a failing draft answers its error', async () => {
    const draft = {
      transform: { language: 'javascript', code: 'function transform(i) { return { preview: i.body.id }; }' },
    };
    const ok = await api('/api/destinations/plain/preview', {
      method: 'POST',
      body: { payload: { id: 7 }, topic: 'orders/create', draft },
    });
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ matched: true, body: '{"preview":7}', rule_version: 1 });
    expect(ok.json.headers['webhook-signature']).toMatch(/^v1,/);
    const failing = await api('/api/destinations/plain/preview', {
      method: 'POST',
      body: { payload: { id: 7 }, draft: { transform: { language: 'jsonata', code: '$error("nope")' } } },
    });
    expect(failing.status).toBe(200);
    expect(failing.json).toMatchObject({
      matched: true,
      error: { code: 'transformation_failed', position: { offset: 7 } },
    });
    expect(failing.json.body).toBeUndefined();
    const filtered = await api('/api/destinations/plain/preview', {
      method: 'POST',
      body: { payload: { id: 7 }, draft: { filter: { body: { id: { $gt: 100 } } } } },
    });
    expect(filtered.json.matched).toBe(false);
    const badFilter = await api('/api/destinations/plain/preview', {
      method: 'POST',
      body: { payload: {}, draft: { filter: { body: { id: { $gtx: 1 } } } } },
    });
    expect(badFilter.status).toBe(400);
    expect(badFilter.json.error.code).toBe('invalid_filter');
    // Nothing was saved.
    expect((await api('/api/destinations/plain')).json).toMatchObject({
      transform: null,
      filter: null,
      rule_version: 1,
    });
  });

  it('apply -f round trip: the plan creates the transform, and is empty against what was saved', async () => {
    const view = (await api('/api/destinations/scripted')).json;
    const desired = {
      name: 'scripted',
      url: view.url,
      timeoutMs: view.timeout_ms,
      headers: {},
      filter: null,
      transform: { code: view.transform.code, language: view.transform.language },
      rateLimit: null,
      circuit: null,
      sources: ['shop'],
      secret: secrets.scripted!,
    };
    expect(planDestinations([desired], [view])).toEqual([]);
    const changed = planDestinations([{ ...desired, transform: { language: 'jsonata', code: 'body' } }], [view]);
    expect(changed).toEqual([expect.objectContaining({ action: 'update', keys: ['transform'] })]);
    const created = planDestinations([{ ...desired, name: 'fresh' }], []);
    expect(created[0]).toMatchObject({ action: 'create', body: { transform: desired.transform } });
  });
});

describe('transformations in the config file', () => {
  const entry = (transform: unknown) => ({
    destinations: [
      {
        name: 'erp',
        url: 'https://erp.example.test/hooks',
        secret: `whsec_${randomBytes(24).toString('base64')}`,
        sources: ['shop'],
        transform,
      },
    ],
  });
  it('a valid JSONata transform is kept on the destination', () => {
    const parsed = parseGatewayDocument(entry({ language: 'jsonata', code: '{"id": body.id}' }), {});
    expect(parsed.destinations[0]!.transform).toEqual({ language: 'jsonata', code: '{"id": body.id}' });
  });
  it('an invalid JavaScript transform stops the start with its line and column', async () => {
    const parsed = parseGatewayDocument(
      entry({ language: 'javascript', code: 'function transform(input) {\n  return {;\n}' }),
      {},
    );
    await expect(checkFileTransforms(parsed.destinations)).rejects.toThrow(
      /destination "erp": transform\.code: invalid JavaScript: SyntaxError: .*\(at line 2, column \d+\)/,
    );
    await expect(
      checkFileTransforms([
        { name: 'ok', transform: { language: 'javascript', code: 'function transform(i) { return i; }' } },
      ]),
    ).resolves.toBeUndefined();
  });
  it('an invalid JSONata transform stops the start with its position', () => {
    expect(() => parseGatewayDocument(entry({ language: 'jsonata', code: 'body.(' }), {})).toThrow(
      /invalid JSONata: .*at offset/,
    );
  });
});
