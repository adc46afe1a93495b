import { isLosslessNumber, parse as parseLossless, type LosslessNumber } from 'lossless-json';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSourcesDocument } from '../src/config/file';
import { runCli } from './helpers/cli';
import { databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, type TestGateway } from './helpers/gateway';
import { DEEP, EDGE_NUMBERS, SHOPIFY_ORDER, nested } from './helpers/json-bodies';
import { post, shopifyHeaders } from './helpers/signers';

// The ops API's event view (and the CLI on top of it) shows the payload exactly as sent: the
// response text holds every number literal as the sender wrote it, masking changes only the
// masked values, and no body can make the view fail.

const MASK = ['customer', 'line_items.*.price', 'refund', 'nested.ids.1.deep', 'text', 'card', 'no.such.path'];

describe.each(databaseKinds())('the event view shows the payload exactly on %s', (kind) => {
  let gw: TestGateway;

  beforeAll(async () => {
    const sources = parseSourcesDocument(
      {
        sources: [
          { name: 'shop', provider: 'shopify', secrets: [SECRETS.shopify] },
          { name: 'shop-masked', provider: 'shopify', secrets: [SECRETS.shopify], mask: MASK },
        ],
      },
      {},
    );
    gw = await startTestGateway(
      kind,
      { sources, maxBodyBytes: 1024 * 1024, worker: { cron: '0 0 1 1 *' } },
      { role: 'web' },
    );
  });
  afterAll(() => gw?.stop());

  let n = 0;
  async function store(source: string, body: Buffer): Promise<number> {
    const res = await post(
      `${gw.url}/api/webhooks/${source}`,
      body,
      shopifyHeaders(SECRETS.shopify, body, `view-${++n}`),
    );
    expect(res.json).toMatchObject({ status: 'accepted' });
    return res.json.id as number;
  }
  /** The detail response as text (what a client receives), checked to be one JSON document. */
  async function detailText(id: number): Promise<string> {
    const res = await fetch(`${gw.url}/api/events/${id}`, { headers: { authorization: `Bearer ${SECRETS.ops}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const text = await res.text();
    expect(() => JSON.parse(text)).not.toThrow();
    return text;
  }
  /** The response embeds the payload text byte for byte (whitespace around the value included). */
  const payloadIs = (response: string, payload: string) =>
    expect(response).toContain(`"payload":${payload},"payload_unavailable":null,`);

  it("shows a Shopify order's ids exactly; the web UI's parser (lossless-json) reads them as sent", async () => {
    const text = await detailText(await store('shop', SHOPIFY_ORDER));
    payloadIs(text, SHOPIFY_ORDER.toString());
    const detail = parseLossless(text) as {
      payload: Record<string, any>;
      payload_unavailable: null;
      body: { data: string; masked: boolean };
    };
    expect(isLosslessNumber(detail.payload.id) && (detail.payload.id as LosslessNumber).value).toBe(
      '820982911946154508',
    );
    expect((detail.payload.line_items[1].id as LosslessNumber).value).toBe('976318377106520349');
    expect(detail.payload_unavailable).toBeNull();
    expect(detail.body).toMatchObject({ data: SHOPIFY_ORDER.toString(), masked: false });
  });

  it('shows every kind of number, escape, whitespace and key order as sent', async () => {
    const text = await detailText(await store('shop', EDGE_NUMBERS));
    payloadIs(text, EDGE_NUMBERS.toString());
    for (const literal of [
      '820982911946154508',
      '12345678901234567890.123456789',
      '-9007199254740993',
      '18446744073709551615',
      '1e400',
      '-0',
      '1E-7',
      '0.1000000000000000055511151231257827',
    ]) {
      expect(text).toContain(literal);
    }
  });

  it('masking replaces only the masked values; every other byte is as sent', async () => {
    const order = SHOPIFY_ORDER.toString();
    const customerAt = order.indexOf('"customer":') + '"customer":'.length;
    const expectedOrder = `${order.slice(0, customerAt).replaceAll('"price":"199.00"', '"price":"[masked]"')}"[masked]"}`;
    const edge = EDGE_NUMBERS.toString();
    const expectedEdge = edge
      .replace('-9007199254740993', '"[masked]"')
      .replace('-18446744073709551617', '"[masked]"')
      .replace('"caf\\u00e9 \\ud83d\\ude00 \\/ \\u2028 \\"quoted\\""', '"[masked]"');
    expect(expectedEdge).not.toBe(edge);

    for (const [body, expected] of [
      [SHOPIFY_ORDER, expectedOrder],
      [EDGE_NUMBERS, expectedEdge],
    ] as const) {
      const text = await detailText(await store('shop-masked', body));
      payloadIs(text, expected);
      expect(JSON.parse(text).body).toEqual({ encoding: 'utf8', data: expected, masked: true });
    }
    // The shipping line's price is not under line_items: untouched.
    expect(expectedOrder).toContain('"price":"4.00"');
  });

  it('a repeated key is masked every time; the body is shown raw with the reason, since it has no single reading', async () => {
    const body = Buffer.from('{"card":"4242424242424242","id":820982911946154508,"card":"5555555555554444"}');
    const masked = JSON.parse(await detailText(await store('shop-masked', body)));
    expect(masked.payload).toBeNull();
    expect(masked.payload_unavailable.reason).toBe('duplicate_keys');
    expect(masked.body).toEqual({
      encoding: 'utf8',
      data: '{"card":"[masked]","id":820982911946154508,"card":"[masked]"}',
      masked: true,
    });
    const plain = JSON.parse(await detailText(await store('shop', body)));
    expect(plain.body.data).toBe(body.toString());
  });

  it('a body nested 200,000 levels deep: the view answers 200 with the raw body and says why', async () => {
    const plain = JSON.parse(await detailText(await store('shop', DEEP)));
    expect(plain.payload).toBeNull();
    expect(plain.payload_unavailable).toEqual({
      reason: 'nesting_too_deep',
      message:
        'The body nests arrays or objects deeper than 256 levels, the most the gateway parses; read it as raw text',
    });
    expect(plain.body).toEqual({ encoding: 'utf8', data: DEEP.toString(), masked: false });
    // With masking configured, a body that cannot be masked is never shown.
    const masked = JSON.parse(await detailText(await store('shop-masked', DEEP)));
    expect(masked.body).toEqual({ encoding: 'utf8', data: '[masked: body nests too deeply to mask]', masked: true });
  });

  it('nesting up to 256 levels is shown as payload; 257 is not; brackets inside strings do not count', async () => {
    payloadIs(await detailText(await store('shop-masked', nested(256))), nested(256).toString());
    expect(JSON.parse(await detailText(await store('shop', nested(257)))).payload_unavailable.reason).toBe(
      'nesting_too_deep',
    );
    const brackets = Buffer.from(`{"note":"${'['.repeat(300)}\\"${'{'.repeat(300)}","id":820982911946154508}`);
    payloadIs(await detailText(await store('shop', brackets)), brackets.toString());
  });

  it('a body that is not JSON is shown raw (or base64) with the reason', async () => {
    const text = JSON.parse(await detailText(await store('shop', Buffer.from('id=820982911946154508&x=1'))));
    expect(text).toMatchObject({
      payload: null,
      payload_unavailable: { reason: 'not_json' },
      body: { encoding: 'utf8', data: 'id=820982911946154508&x=1' },
    });
    const bytes = Buffer.from([0xff, 0x00, 0x7b]);
    const binary = JSON.parse(await detailText(await store('shop', bytes)));
    expect(binary).toMatchObject({
      payload: null,
      payload_unavailable: { reason: 'not_utf8' },
      body: { encoding: 'base64', data: bytes.toString('base64') },
    });
  });

  it('the CLI prints the payload with every number exactly and keys in their order', async () => {
    const id = await store('shop', EDGE_NUMBERS);
    const run = await runCli(['events', 'show', String(id), '--url', gw.url, '--token', SECRETS.ops]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    for (const line of [
      '"id": 820982911946154508,',
      '"amount": 12345678901234567890.123456789,',
      '"exponent": 1e400,',
      '"negative_zero": -0,',
      '"small": 1E-7,',
      '"long_decimal": 0.1000000000000000055511151231257827,',
      '18446744073709551615,',
      '"deep": -18446744073709551617',
    ]) {
      expect(run.stdout).toContain(line);
    }
    expect(run.stdout.indexOf('"10": "an integer-like key')).toBeGreaterThan(run.stdout.indexOf('"text": '));
    expect(run.stdout).toContain('"text": "caf\\u00e9 \\ud83d\\ude00 \\/ \\u2028 \\"quoted\\""');
  });
});
