import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKeyring } from '../src/control/crypto';
import { loadConfig } from '../src/config/env';
import { runCli } from './helpers/cli';
import { databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { startReceiver } from './helpers/receiver';
import { post, shopifyHeaders } from './helpers/signers';

// A number no double holds, in a source's tenant_context, was stored, shown and
// written into every envelope rounded (820982911946154508 as 820982911946154500). It is refused when
// the source is saved, through the API and in GATEWAY_CONFIG; numbers JSON.parse reads exactly pass.

const BIG = '820982911946154508';
const FINE = '0.1000000000000000055511151231257827';
const SHOP_SECRET = `shop-${randomBytes(12).toString('hex')}`;
const auth = { authorization: `Bearer ${SECRETS.ops}`, 'content-type': 'application/json' };

describe.each(databaseKinds())('a source saved through the API (%s)', (kind) => {
  let gw: TestGateway;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  /** The body is text: JSON.stringify of a JavaScript value could not hold these numbers either. */
  const send = async (method: string, path: string, text: string) => {
    const res = await fetch(`${gw.url}${path}`, { method, headers: auth, body: text || undefined });
    return { status: res.status, text: await res.text() };
  };

  beforeAll(async () => {
    receiver = await startReceiver();
    gw = await startTestGateway(kind, {
      control: { keyring: loadKeyring({ key: randomBytes(32).toString('base64') }), refreshMs: 60_000 },
    });
  }, 120_000);
  afterAll(async () => {
    await gw?.stop();
    await receiver?.close();
  });

  it.each([
    ['tenant_context.shop_id', BIG, `{"tenant_context": {"shop_id": ${BIG}}}`],
    ['tenant_context.rate', FINE, `{"tenant_context": {"rate": ${FINE}}}`],
    ['tenant_context.ids[1]', BIG, `{"tenant_context": {"ids": [1, ${BIG}]}}`],
  ])('refuses %s = %s on create and on change, saying to write it as a string', async (path, literal, keys) => {
    const entry = `{"name": "refused", "provider": "shopify", "secrets": ["${SHOP_SECRET}"], ${keys.slice(1, -1)}}`;
    const created = await send('POST', '/api/sources', entry);
    expect(created.status).toBe(400);
    const { error } = JSON.parse(created.text) as { error: { code: string; message: string } };
    expect(error.code).toBe('invalid_value');
    expect(error.message).toContain(`${path}: ${literal} `);
    expect(error.message).toContain(`write it as a string, e.g. "${literal}"`);
    expect((await send('GET', '/api/sources/refused', '')).status).toBe(404);

    const name = `patched-${path.length}-${literal.length}`;
    const plain = `{"name": "${name}", "provider": "shopify", "secrets": ["${SHOP_SECRET}"]}`;
    expect((await send('POST', '/api/sources', plain)).status).toBe(201);
    const patched = await send('PATCH', `/api/sources/${name}`, keys);
    expect(patched.status).toBe(400);
    expect(JSON.parse(patched.text).error.message).toContain(`write it as a string, e.g. "${literal}"`);
    const stored = await send('GET', `/api/sources/${name}`, '');
    expect(JSON.parse(stored.text).spec).not.toHaveProperty(path.split('.')[0]!);
  });

  it('refuses it from `sources create --set`, which sends the digits as written', async () => {
    const run = await runCli(
      [
        'sources',
        'create',
        'from-cli',
        '--provider',
        'shopify',
        '--secret',
        SHOP_SECRET,
        '--url',
        gw.url,
        '--set',
        `tenant_context={"shop_id":${BIG}}`,
      ],
      { OPS_API_TOKEN: SECRETS.ops },
      90_000,
    );
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain(`write it as a string, e.g. "${BIG}"`);
    expect((await send('GET', '/api/sources/from-cli', '')).status).toBe(404);
  }, 120_000);

  it('keeps numbers a double holds exactly, and the id written as a string, in the envelope', async () => {
    const tenant = `{"shop_id": "${BIG}", "small_id": 820982911946154, "rate": 1.5, "n": 1e3}`;
    const entry = `{"name": "kept", "provider": "shopify", "secrets": ["${SHOP_SECRET}"], "tenant_context": ${tenant}}`;
    const created = await send('POST', '/api/sources', entry);
    expect(created.status, created.text).toBe(201);
    const destination = JSON.stringify({ name: 'local', url: receiver.url, sources: ['kept'] });
    expect((await send('POST', '/api/destinations', destination)).status).toBe(201);
    const shown = JSON.parse((await send('GET', '/api/sources/kept', '')).text);
    expect(shown.spec.tenant_context).toEqual({ shop_id: BIG, small_id: 820982911946154, rate: 1.5, n: 1000 });

    const body = JSON.stringify({ id: 7 });
    const res = await post(
      `${gw.url}/api/webhooks/kept`,
      body,
      shopifyHeaders(SHOP_SECRET, body, `kept-${Date.now()}`),
    );
    expect(res.status).toBe(200);
    const delivery = await waitFor(() => receiver.deliveries[0], 10_000, 'the delivery to the local destination');
    // The bytes, not a parse: a rounded number would parse to the same double.
    const bytes = delivery!.bytes.toString('utf8');
    expect(bytes).toContain(`"shop_id":"${BIG}"`);
    expect(bytes).toMatch(/"small_id":820982911946154[,}]/);
    expect(JSON.parse(bytes).tenant_context).toEqual({ shop_id: BIG, small_id: 820982911946154, rate: 1.5, n: 1000 });
  });
});

describe('a source in GATEWAY_CONFIG', () => {
  const dir = mkdtempSync(join(tmpdir(), 'inexact-numbers-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const start = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return () => loadConfig({ GATEWAY_CONFIG: path, OPS_TOKENS: SECRETS.ops });
  };

  it.each([
    [
      'gateway.json',
      `{"sources": [{"name": "shop", "provider": "shopify", "secrets": ["${SHOP_SECRET}"],
       "tenant_context": {"shop_id": ${BIG}, "rate": ${FINE}}}]}`,
    ],
    [
      'gateway.yaml',
      `sources:\n  - name: shop\n    provider: shopify\n    secrets: ["${SHOP_SECRET}"]\n    tenant_context: { shop_id: ${BIG}, rate: ${FINE} }\n`,
    ],
  ])('%s: refuses them at start-up, naming each and saying to write it as a string', (name, text) => {
    const load = start(name, text);
    expect(load).toThrow(`sources[0] (source "shop").tenant_context.shop_id: ${BIG} `);
    expect(load).toThrow(`write it as a string, e.g. "${BIG}"`);
    expect(load).toThrow(`tenant_context.rate: ${FINE} `);
    expect(load).toThrow(`write it as a string, e.g. "${FINE}"`);
  });

  it('accepts numbers a double holds exactly, unchanged', () => {
    const config = start(
      'exact.yaml',
      `sources:\n  - name: shop\n    provider: shopify\n    secrets: ["${SHOP_SECRET}"]\n    tenant_context: { shop_id: 820982911946154, rate: 1.5, n: 1e3, id: "${BIG}" }\n`,
    )();
    expect(config.sources.find((s) => s.name === 'shop')!.processing.tenantContext).toEqual({
      shop_id: 820982911946154,
      rate: 1.5,
      n: 1000,
      id: BIG,
    });
  });
});
