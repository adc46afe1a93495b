import { isLosslessNumber, type LosslessNumber } from 'lossless-json';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSourcesDocument } from '../src/config/file';
import { databaseKinds } from './helpers/database';
import { DESTINATION_SECRET } from './helpers/destinations';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { DEEP, EDGE_NUMBERS, SHOPIFY_ORDER } from './helpers/json-bodies';
import { startReceiver } from './helpers/receiver';
import { post, shopifyHeaders } from './helpers/signers';

// Forwarding embeds the payload's own bytes in the envelope: a real receiving server compares what
// arrived on its socket with what the sender signed. Handlers get the exact values too.

describe.each(databaseKinds())('forwarding and handlers see exactly what was sent on %s', (kind) => {
  let gw: TestGateway;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;

  beforeAll(async () => {
    receiver = await startReceiver();
    const destinations = [{ name: 'erp', url: receiver.url, secret: DESTINATION_SECRET, timeout_ms: 60_000 }];
    const sources = parseSourcesDocument(
      {
        sources: [
          { name: 'shop', provider: 'shopify', secrets: [SECRETS.shopify], destinations, tenant_context: { org: 7 } },
          { name: 'shop-ids', provider: 'shopify', secrets: [SECRETS.shopify], destinations, aggregate_id_path: 'id' },
          { name: 'shop-code', provider: 'shopify', secrets: [SECRETS.shopify] },
        ],
      },
      {},
    );
    gw = await startTestGateway(kind, { sources, maxBodyBytes: 1024 * 1024 });
  });
  afterAll(async () => {
    await gw?.stop();
    await receiver?.close();
  });

  /** Sends signed bytes and waits for the event to finish; returns its final row. */
  async function process(source: string, id: string, body: Buffer, topic = 'orders/create') {
    const res = await post(
      `${gw.url}/api/webhooks/${source}`,
      body,
      shopifyHeaders(SECRETS.shopify, body, id, 'acme.myshopify.com', topic),
    );
    expect(res.json).toMatchObject({ status: 'accepted' });
    const eventId = res.json.id as number;
    const finished = await waitFor(
      async () => {
        await gw.gateway.worker.tick();
        const [row] = await gw.query<{ id: number; status: string; attempts: number; last_error: string | null }>(
          'select id, status, attempts, last_error from webhook_events where id = $1',
          [eventId],
        );
        return row!.status === 'completed' || row!.status === 'failed' ? row! : undefined;
      },
      20_000,
      `event ${eventId} to finish`,
    );
    return finished!;
  }

  /** Sends signed bytes, waits for the event to finish and returns the bytes the receiver got for it. */
  async function forward(source: string, id: string, body: Buffer) {
    const row = await process(source, id, body);
    expect(row).toMatchObject({ status: 'completed', attempts: 1, last_error: null });
    const eventId = row.id;
    const delivery = receiver.deliveries.find((d) => d.headers['webhook-id'] === `evt_${eventId}`);
    expect(delivery).toBeDefined();
    return delivery!;
  }

  /** The envelope's bytes are `<members before>"data":<the body's bytes><members after>`. */
  function dataBytes(envelope: Buffer, after: string) {
    const start = envelope.indexOf('"data":') + '"data":'.length;
    expect(start).toBeGreaterThan(6);
    const tail = Buffer.from(after);
    expect(envelope.subarray(envelope.length - tail.length)).toEqual(tail);
    return envelope.subarray(start, envelope.length - tail.length);
  }

  it("a Shopify order's ids beyond 2^53 and escaped slashes arrive byte for byte, signed", async () => {
    const { bytes, headers } = await forward('shop', 'json-fw-1', SHOPIFY_ORDER);
    expect(dataBytes(bytes, ',"tenant_context":{"org":7}}')).toEqual(SHOPIFY_ORDER);
    expect(bytes.toString()).toContain('"id":820982911946154508,');
    expect(bytes.toString()).toContain('"aggregate_id":"gid://shopify/Order/820982911946154508"');
    // The signature covers these exact bytes.
    const verified = new Webhook(DESTINATION_SECRET).verify(bytes.toString(), headers as Record<string, string>);
    expect(verified).toMatchObject({ event_type: 'orders/create', source_service: 'shop', tenant_context: { org: 7 } });
  });

  it('every kind of number, escapes, whitespace and key order arrive as sent; aggregate_id keeps its digits', async () => {
    const { bytes } = await forward('shop-ids', 'json-fw-2', EDGE_NUMBERS);
    expect(dataBytes(bytes, '}')).toEqual(EDGE_NUMBERS);
    expect(bytes.toString()).toMatch(
      /^\{"event_type":"orders\/create","aggregate_id":"820982911946154508","schema_version":"1\.0",/,
    );
  });

  it('a body nested 200,000 levels deep is delivered verbatim at the first attempt, with no aggregate id', async () => {
    const { bytes } = await forward('shop-ids', 'json-fw-3', DEEP);
    expect(dataBytes(bytes, '}').equals(DEEP)).toBe(true);
    expect(bytes.toString()).toContain('"aggregate_id":null');
  });

  it('a body that is not JSON (or not UTF-8) still travels as base64', async () => {
    const notUtf8 = Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]); // {"a":"\xff\xfe"}
    const { bytes } = await forward('shop', 'json-fw-4', notUtf8);
    expect(JSON.parse(bytes.toString()).data).toEqual({ raw_base64: notUtf8.toString('base64') });
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a":1}')]);
    const { bytes: withBom } = await forward('shop', 'json-fw-5', bom);
    expect(JSON.parse(withBom.toString()).data).toEqual({ raw_base64: bom.toString('base64') });
  });

  it('a handler gets exact numbers in exactPayload and the text as sent in rawText', async () => {
    const seen: { exact: unknown; rawText: string | undefined; payload: unknown }[] = [];
    gw.gateway.on('shop-code', 'orders/create', (event) => {
      seen.push({ exact: event.exactPayload, rawText: event.rawText, payload: event.payload });
    });
    expect(await process('shop-code', 'json-h-1', EDGE_NUMBERS)).toMatchObject({ status: 'completed' });
    const [{ exact, rawText, payload }] = seen as [(typeof seen)[number]];
    expect(rawText).toBe(EDGE_NUMBERS.toString());
    const e = exact as Record<string, any>;
    for (const [value, text] of [
      [e.id, '820982911946154508'],
      [e.amount, '12345678901234567890.123456789'],
      [e.refund, '-9007199254740993'],
      [e.nested.ids[0], '18446744073709551615'],
      [e.nested.ids[1].deep, '-18446744073709551617'],
      [e.exponent, '1e400'],
      [e.negative_zero, '-0'],
      [e.small, '1E-7'],
      [e.long_decimal, '0.1000000000000000055511151231257827'],
    ] as const) {
      expect(isLosslessNumber(value)).toBe(true);
      expect((value as LosslessNumber).value).toBe(text);
    }
    expect(e.text).toBe('café 😀 / \u2028 "quoted"');
    expect((e.id as LosslessNumber).valueOf()).toBe(820982911946154508n);
    // The plain payload is documented as JSON.parse: this is what exactPayload is for.
    expect((payload as { id: number }).id).toBe(820982911946154500);
  });

  it('a handler reading exactPayload of a body nested beyond the limit fails at once, pointing to rawText', async () => {
    let rawLength = 0;
    gw.gateway.on('shop-code', 'orders/deep', (event) => {
      rawLength = event.rawText!.length;
      return event.exactPayload;
    });
    const row = await process('shop-code', 'json-h-2', DEEP, 'orders/deep');
    expect(rawLength).toBe(DEEP.length);
    expect(row).toMatchObject({ status: 'failed', attempts: 1 });
    expect(row.last_error).toBe(
      'exactPayload: The body nests arrays or objects deeper than 256 levels, the most the gateway parses; read it as raw text',
    );
  });
});
