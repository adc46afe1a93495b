import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseGatewayDocument, parseSourcesDocument } from '../src/config/file';
import { loadKeyring } from '../src/control/crypto';
import { checkFileTransforms } from '../src/transform';
import { runCli } from './helpers/cli';
import { databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { startReceiver } from './helpers/receiver';
import { post, shopifyHeaders } from './helpers/signers';

// A source's transformation (docs/destinations.md#a-sources-transformation) through the real
// gateway: sources and destinations created with the API, signed webhooks in, real receivers.
// The transformation runs once per attempt before routing: destination filters, destination
// transformations and the envelope see what it computes; the stored body never changes. A
// failure fails the event at once (transformation_failed), with no delivery and no retry.

const SHOP_SECRET = `shop-${randomBytes(12).toString('hex')}`;
const PLAIN_SECRET = `plain-${randomBytes(12).toString('hex')}`;
const FILED_SECRET = `filed-${randomBytes(12).toString('hex')}`;
const auth = { authorization: `Bearer ${SECRETS.ops}`, 'content-type': 'application/json' };
const MAPPING = '{"order": $string(body.id), "total": $number(body.total_price), "kind": topic}';
type Receiver = Awaited<ReturnType<typeof startReceiver>>;

describe.each(databaseKinds())('source transformations (%s)', (kind) => {
  let gw: TestGateway;
  const receivers: Record<string, Receiver> = {};
  let n = 0;
  const api = async (path: string, init: { method?: string; body?: unknown } = {}) => {
    const res = await fetch(`${gw.url}${path}`, {
      method: init.method ?? 'GET',
      headers: auth,
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    return { status: res.status, json: (await res.json()) as any };
  };
  const send = async (source: string, secret: string, payload: Record<string, unknown>) => {
    const body = JSON.stringify({ id: ++n, ...payload });
    const res = await post(
      `${gw.url}/api/webhooks/${source}`,
      body,
      shopifyHeaders(secret, body, `st-${n}-${Date.now()}`),
    );
    expect(res.status).toBe(200);
    return res.json.id as number;
  };
  const settled = (id: number, status: 'completed' | 'failed', timeoutMs = 15_000) =>
    waitFor(async () => (await api(`/api/events/${id}`)).json.status === status, timeoutMs, `event ${id} ${status}`);
  const received = async (name: string, id: number) => {
    const got = await waitFor(
      () => receivers[name]!.deliveries.find((d) => d.headers['webhook-id'] === `evt_${id}`),
      10_000,
      `event ${id} at ${name}`,
    );
    return JSON.parse(got!.bytes.toString('utf8')) as Record<string, any>;
  };
  const gotAnything = (name: string, id: number) =>
    receivers[name]!.deliveries.some((d) => d.headers['webhook-id'] === `evt_${id}`);
  const destination = async (name: string, sources: string[], extra: Record<string, unknown> = {}) => {
    receivers[name] = await startReceiver();
    const created = await api('/api/destinations', {
      method: 'POST',
      body: { name, url: receivers[name].url, sources, ...extra },
    });
    expect(created.status).toBe(201);
  };

  beforeAll(async () => {
    // A GATEWAY_CONFIG source with a transformation too: it has no versions (attempts record 0).
    const sources = parseSourcesDocument(
      {
        sources: [
          {
            name: 'filed',
            provider: 'shopify',
            secrets: [FILED_SECRET],
            transform: { language: 'javascript', code: 'function transform(i) { return { filed: i.body.id }; }' },
          },
        ],
      },
      {},
    );
    gw = await startTestGateway(kind, {
      sources,
      control: { keyring: loadKeyring({ key: randomBytes(32).toString('base64') }), refreshMs: 60_000 },
    });
    const shop = await api('/api/sources', {
      method: 'POST',
      body: {
        name: 'shop',
        provider: 'shopify',
        secrets: [SHOP_SECRET],
        transform: { language: 'jsonata', code: MAPPING },
      },
    });
    expect(shop.status).toBe(201);
    expect(shop.json).toMatchObject({ transform: { language: 'jsonata', code: MAPPING }, transform_version: 1 });
    const plain = await api('/api/sources', {
      method: 'POST',
      body: { name: 'plain', provider: 'shopify', secrets: [PLAIN_SECRET] },
    });
    expect(plain.json).toMatchObject({ transform: null });
    await destination('all', ['shop', 'plain', 'filed']);
    // Only the transformation's output has `total`: the filter matches on what it computed.
    await destination('big', ['shop'], { filter: { body: { total: { $gt: 100 } } } });
    await destination('mapped', ['shop'], {
      transform: { language: 'jsonata', code: '{"t": body.total, "o": body.order}' },
    });
  }, 120_000);
  afterAll(async () => {
    await gw?.stop();
    await Promise.all(Object.values(receivers).map((r) => r.close()));
  });

  it('what JSONata computes is what receivers get and what filters match; the stored body is unchanged', async () => {
    const big = await send('shop', SHOP_SECRET, { total_price: '150.00', secret_note: 'internal' });
    const bigOrder = n;
    const small = await send('shop', SHOP_SECRET, { total_price: '50.00' });
    const transformed = { order: String(bigOrder), total: 150, kind: 'orders/create' };
    expect((await received('all', big)).data).toEqual(transformed);
    expect(await received('big', big)).toMatchObject({ data: transformed, source_service: 'shop' });
    expect(await received('mapped', big)).toEqual({ t: 150, o: String(bigOrder) });
    expect((await received('all', small)).data).toMatchObject({ total: 50 });
    await settled(big, 'completed');
    await settled(small, 'completed');
    expect(gotAnything('big', small)).toBe(false);
    const detail = (await api(`/api/events/${small}`)).json;
    expect(detail.deliveries.find((d: any) => d.destination === 'big')).toMatchObject({
      outcome: 'ignored',
      error: 'filtered',
    });
    // The transformation ran once per attempt, and the attempt says which version it was.
    expect(detail.attempt_log).toEqual([expect.objectContaining({ attempt: 1, transform_version: 1 })]);
    // Stored as received: the API shows the original payload, secret_note and all.
    const stored = (await api(`/api/events/${big}`)).json;
    expect(stored.payload).toMatchObject({ id: bigOrder, total_price: '150.00', secret_note: 'internal' });

    // A source without a transformation: the envelope carries the body as received, no version recorded.
    const plain = await send('plain', PLAIN_SECRET, { total_price: '7.00' });
    expect((await received('all', plain)).data).toEqual({ id: n, total_price: '7.00' });
    await settled(plain, 'completed');
    expect((await api(`/api/events/${plain}`)).json.attempt_log[0].transform_version).toBeNull();

    // A GATEWAY_CONFIG source's transformation runs too; it has no versions: 0.
    const filed = await send('filed', FILED_SECRET, { total_price: '1.00' });
    expect((await received('all', filed)).data).toEqual({ filed: n });
    await settled(filed, 'completed');
    expect((await api(`/api/events/${filed}`)).json.attempt_log[0].transform_version).toBe(0);
    const view = (await api('/api/sources/filed')).json;
    expect(view).toMatchObject({ managed_by: 'file', transform: { language: 'javascript' }, transform_version: 0 });
  });

  it('refuses invalid code at save time with its position; nothing is changed', async () => {
    const create = (transform: unknown) =>
      api('/api/sources', {
        method: 'POST',
        body: { name: 'bad', provider: 'shopify', secrets: ['bad-secret-123456'], transform },
      });
    const jsonata = await create({ language: 'jsonata', code: '{"a": body.id +}' });
    expect(jsonata.status).toBe(400);
    expect(jsonata.json.error.code).toBe('invalid_transform');
    expect(jsonata.json.error.message).toMatch(/^transform\.code: invalid JSONata: S0211: .*\(at offset 16\)$/);
    const script = await create({ language: 'javascript', code: 'function transform(input) {\n  return { a: };\n}' });
    expect(script.status).toBe(400);
    expect(script.json.error.code).toBe('invalid_transform');
    expect(script.json.error.message).toMatch(
      /^transform\.code: invalid JavaScript: SyntaxError: .*\(at line 2, column \d+\)$/,
    );
    const missing = await create({ language: 'javascript', code: 'function transfrom(i) { return i; }' });
    expect(missing.json.error.message).toMatch(/must define function transform\(input\)/);
    expect((await create({ language: 'lua', code: 'x' })).json.error.code).toBe('invalid_transform');
    expect((await api('/api/sources/bad')).status).toBe(404);

    const before = (await api('/api/sources/shop')).json;
    const patched = await api('/api/sources/shop', {
      method: 'PATCH',
      body: { transform: { language: 'javascript', code: 'function transform(i) {\n  return i.;\n}' } },
    });
    expect(patched.status).toBe(400);
    expect(patched.json.error.message).toMatch(/\(at line 2, column \d+\)$/);
    const after = (await api('/api/sources/shop')).json;
    expect(after).toMatchObject({ version: before.version, transform: { code: MAPPING }, transform_version: 1 });
  });

  it('preview applies the source transformation first and says so', async () => {
    const id = await send('shop', SHOP_SECRET, { total_price: '300.00' });
    const order = n;
    await settled(id, 'completed');
    const stored = await api('/api/destinations/big/preview', { method: 'POST', body: { event_id: id } });
    expect(stored.status).toBe(200);
    expect(stored.json).toMatchObject({ matched: true, source_transform: { source: 'shop', transform_version: 1 } });
    expect(JSON.parse(stored.json.body).data).toEqual({ order: String(order), total: 300, kind: 'orders/create' });
    // The filter decides on the transformed payload: total_price alone is not `total`.
    const pasted = await api('/api/destinations/big/preview', {
      method: 'POST',
      body: { payload: { id: 5, total_price: '20.00' }, topic: 'orders/create', source: 'shop' },
    });
    expect(pasted.json).toMatchObject({ matched: false, source_transform: { transform_version: 1 } });
    const mapped = await api('/api/destinations/mapped/preview', {
      method: 'POST',
      body: { payload: { id: 5, total_price: '120.00' }, source: 'shop' },
    });
    expect(JSON.parse(mapped.json.body)).toEqual({ t: 120, o: '5' });
    const plain = await api('/api/destinations/all/preview', {
      method: 'POST',
      body: { payload: { id: 5 }, source: 'plain' },
    });
    expect(plain.json.source_transform).toBeNull();
    expect(JSON.parse(plain.json.body).data).toEqual({ id: 5 });
  });

  it('a JavaScript throw fails the event once as transformation_failed, with no delivery; preview shows the error', async () => {
    const patched = await api('/api/sources/shop', {
      method: 'PATCH',
      body: {
        transform: { language: 'javascript', code: 'function transform(input) {\n  throw new Error("bad order");\n}' },
      },
    });
    expect(patched.status).toBe(200);
    expect(patched.json.transform_version).toBe(patched.json.version);
    expect(patched.json.transform_version).toBeGreaterThan(1);
    const id = await send('shop', SHOP_SECRET, { total_price: '500.00' });
    await settled(id, 'failed');
    const detail = (await api(`/api/events/${id}`)).json;
    expect(detail.attempts).toBe(1);
    expect(detail.last_error).toMatch(/^transformation_failed: Error: bad order \(at line 2, column \d+\)$/);
    expect(detail.attempt_log).toEqual([
      expect.objectContaining({ outcome: 'failed', transform_version: patched.json.transform_version }),
    ]);
    expect(detail.deliveries).toEqual([]);
    for (const name of ['all', 'big', 'mapped']) expect(gotAnything(name, id)).toBe(false);
    const preview = await api('/api/destinations/all/preview', { method: 'POST', body: { event_id: id } });
    expect(preview.json).toMatchObject({
      matched: false,
      source_transform: { source: 'shop', transform_version: patched.json.transform_version },
      error: { code: 'transformation_failed', stage: 'source', message: expect.stringMatching(/bad order/) },
    });
    expect(preview.json.body).toBeUndefined();
    // A change of anything else keeps the transform version.
    const other = await api('/api/sources/shop', { method: 'PATCH', body: { rate_limit: { per_second: 50 } } });
    expect(other.json.version).toBeGreaterThan(patched.json.version);
    expect(other.json.transform_version).toBe(patched.json.transform_version);
  });

  it('an endless loop fails its event within the deadline; events of other sources are unaffected', async () => {
    await api('/api/sources/shop', {
      method: 'PATCH',
      body: { transform: { language: 'javascript', code: 'function transform(input) {\n  while (true) {}\n}' } },
    });
    const looping = await send('shop', SHOP_SECRET, { total_price: '1.00' });
    const other = await send('plain', PLAIN_SECRET, { total_price: '2.00' });
    expect((await received('all', other)).data).toEqual({ id: n, total_price: '2.00' });
    await settled(other, 'completed');
    await settled(looping, 'failed');
    const detail = (await api(`/api/events/${looping}`)).json;
    expect(detail.last_error).toMatch(/^transformation_failed: did not finish within 1000 ms/);
    // The deadline plus the round trip and the outcome's write; far from the 30 s lease.
    expect(detail.attempt_log[0].duration_ms).toBeLessThan(5000);
    expect(detail.deliveries).toEqual([]);

    // Removed: events go as received again, and the worker is fine.
    const removed = await api('/api/sources/shop', { method: 'PATCH', body: { transform: null } });
    expect(removed.json).toMatchObject({ transform: null });
    const after = await send('shop', SHOP_SECRET, { total_price: '9.00' });
    expect((await received('all', after)).data).toEqual({ id: n, total_price: '9.00' });
    await settled(after, 'completed');
    expect((await api(`/api/events/${after}`)).json.attempt_log[0].transform_version).toBeNull();
  }, 30_000);

  it('apply -f round trip: creates the transformation, is idempotent, updates it as a new version', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'source-transform-'));
    try {
      const file = join(dir, 'gateway.yaml');
      const entry = (code: string) =>
        `sources:\n  - name: applied\n    provider: shopify\n    secrets: [env:APPLIED_SECRET]\n    transform:\n      language: jsonata\n      code: '${code}'\n`;
      const env = { APPLIED_SECRET: `applied-${randomBytes(12).toString('hex')}` };
      const cli = (args: string[]) => runCli([...args, '--url', gw.url, '--token', SECRETS.ops], env, 60_000);
      writeFileSync(file, entry('{"a": body.id}'));
      expect((await cli(['apply', '-f', file])).stdout).toContain('Plan: 1 to create');
      expect((await cli(['apply', '-f', file])).stdout).toContain('No changes');
      expect((await cli(['sources', 'list'])).stdout).toMatch(/applied\s+shopify.*jsonata v1/);
      writeFileSync(file, entry('{"b": body.id}'));
      expect((await cli(['apply', '-f', file])).stdout).toContain('~ update applied: transform');
      const view = (await api('/api/sources/applied')).json;
      expect(view).toMatchObject({ transform: { code: '{"b": body.id}' }, transform_version: view.version });
      expect(view.version).toBeGreaterThan(1);
      // An invalid one is refused by the gateway, as through the API.
      writeFileSync(file, entry('{"b": body.id +}'));
      const refused = await cli(['apply', '-f', file]);
      expect(refused.code).not.toBe(0);
      expect(refused.stdout + refused.stderr).toMatch(/invalid JSONata.*at offset/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});

describe('source transformations in the config file', () => {
  const file = (transform: unknown) => ({
    sources: [{ name: 'shop', provider: 'shopify', secrets: ['file-secret-123456'], transform }],
  });
  it('is kept on the source', () => {
    const parsed = parseGatewayDocument(file({ language: 'jsonata', code: '{"id": body.id}' }), {});
    expect(parsed.sources[0]!.processing.transform).toEqual({ language: 'jsonata', code: '{"id": body.id}' });
  });
  it('an invalid JSONata transformation stops the start with its position', () => {
    expect(() => parseGatewayDocument(file({ language: 'jsonata', code: 'body.(' }), {})).toThrow(
      /sources\[0\]\.transform\.code \(source "shop"\): invalid JSONata: .*\(at offset 6\)/,
    );
  });
  it('an invalid JavaScript transformation stops the start with its line and column', async () => {
    const parsed = parseGatewayDocument(
      file({ language: 'javascript', code: 'function transform(i) {\n  return {;\n}' }),
      {},
    );
    await expect(
      checkFileTransforms(
        [],
        parsed.sources.map((s) => ({ name: s.name, transform: s.processing.transform })),
      ),
    ).rejects.toThrow(
      /GATEWAY_CONFIG source "shop": transform\.code: invalid JavaScript: SyntaxError: .*\(at line 2, column \d+\)/,
    );
  });
});
