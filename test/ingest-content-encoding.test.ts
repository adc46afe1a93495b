import { createHmac } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, type TestGateway } from './helpers/gateway';

// Senders that compress webhooks (GetStream's Content-Encoding: gzip option, QuickNode Streams)
// sign the uncompressed JSON and gzip it for transport. The gateway does not decode bodies: such
// a request is answered 415 before its body is read, never a misleading 401 nor a 200 for bytes
// nothing downstream can read (src/ingest/content-coding.ts).

const TARGET = '/api/webhooks/shopify/orders/create';
const JSON_BODY = JSON.stringify({ id: 42, note: 'compressed by the sender' });
const sign = (bytes: Buffer) => createHmac('sha256', SECRETS.shopify).update(bytes).digest('base64');
const send = (gw: TestGateway, id: string, body: Buffer, signature: string, headers: Record<string, string>) =>
  fetch(`${gw.url}${TARGET}`, {
    method: 'POST',
    headers: {
      'x-shopify-hmac-sha256': signature,
      'x-shopify-webhook-id': id,
      'x-shopify-shop-domain': 'acme.myshopify.com',
      'x-shopify-topic': 'orders/create',
      'content-type': 'application/json',
      ...headers,
    },
    body,
  });

describe.each(databaseKinds())('request bodies with a Content-Encoding (%s)', (kind) => {
  let gw: TestGateway;
  const stored = (id: string) =>
    gw.query('select 1 from webhook_events where webhook_id = $1', [`acme.myshopify.com/${id}`]);

  beforeAll(async () => {
    gw = await startTestGateway(kind);
  }, 120_000);
  afterAll(() => gw?.stop());

  const compressed = gzipSync(JSON_BODY);
  it.each([
    ['signed before compression (as GetStream and QuickNode sign)', 'gz-1', sign(Buffer.from(JSON_BODY)), 'gzip'],
    ['signed over the compressed bytes', 'gz-2', sign(compressed), 'gzip'],
    ['with a coding the gateway has never heard of', 'gz-3', sign(compressed), 'x-custom, gzip'],
  ])(
    'a gzip body %s is refused with 415 and Accept-Encoding: identity, and not stored',
    async (_, id, signature, coding) => {
      const response = await send(gw, id, compressed, signature, { 'content-encoding': coding });
      expect(response.status).toBe(415);
      expect(response.headers.get('accept-encoding')).toBe('identity');
      const { error } = (await response.json()) as { error: { code: string; message: string } };
      expect(error.code).toBe('unsupported_content_encoding');
      expect(error.message).toMatch(/send it uncompressed/);
      expect(await stored(id)).toEqual([]);
    },
  );

  it('Content-Encoding: identity is no coding: the body is stored as sent', async () => {
    const body = Buffer.from(JSON_BODY);
    const response = await send(gw, 'id-1', body, sign(body), { 'content-encoding': 'Identity' });
    expect(response.status).toBe(200);
    const rows = await gw.query<{ body: Uint8Array }>('select body from webhook_events where webhook_id = $1', [
      'acme.myshopify.com/id-1',
    ]);
    expect(rows.map((r) => Buffer.from(r.body).toString('utf8'))).toEqual([JSON_BODY]);
  });

  it('the credential is judged first: a compressed body without a signature is 401', async () => {
    const response = await send(gw, 'gz-4', compressed, '', { 'content-encoding': 'gzip' });
    expect(response.status).toBe(401);
  });
});
