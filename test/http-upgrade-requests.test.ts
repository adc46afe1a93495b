import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, type TestGateway } from './helpers/gateway';
import { rawExchange } from './helpers/raw-exchange';

// curl --http2 and Java's HttpClient (HTTP/2 by default) ask a cleartext server to switch with
// `Connection: Upgrade, HTTP2-Settings` and `Upgrade: h2c` on their first request. Node 20 handed
// such a request to the WebSocket upgrade listener, which ignored it: the webhook was never
// answered nor stored. The gateway answers it as HTTP/1.1 (src/http/upgrade-fallback.ts).

const TARGET = '/api/webhooks/shopify/orders/create';
const sign = (body: string) => createHmac('sha256', SECRETS.shopify).update(body).digest('base64');
const shopifyHeaders = (body: string, id: string) =>
  [
    `X-Shopify-Hmac-Sha256: ${sign(body)}`,
    `X-Shopify-Webhook-Id: ${id}`,
    'X-Shopify-Shop-Domain: acme.myshopify.com',
    'X-Shopify-Topic: orders/create',
    'Content-Type: application/json',
  ].join('\r\n');

/** Each HTTP answer in `raw`: its status and body (bodies here are small JSON with Content-Length). */
function answers(raw: string) {
  const found: { status: number; body: string }[] = [];
  let rest = raw;
  while (rest.startsWith('HTTP/1.1 ')) {
    const end = rest.indexOf('\r\n\r\n');
    const head = rest.slice(0, end);
    const length = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1] ?? 0);
    found.push({ status: Number(head.split(' ')[1]), body: rest.slice(end + 4, end + 4 + length) });
    rest = rest.slice(end + 4 + length);
  }
  return found;
}

describe.each(databaseKinds())('requests asking for a protocol upgrade (%s)', (kind) => {
  let gw: TestGateway;
  let port: number;
  const storedBody = async (webhookId: string) => {
    const rows = await gw.query<{ body: Uint8Array }>('select body from webhook_events where webhook_id = $1', [
      webhookId,
    ]);
    return rows.length === 1 ? Buffer.from(rows[0]!.body).toString('utf8') : `${rows.length} rows`;
  };

  beforeAll(async () => {
    gw = await startTestGateway(kind);
    port = Number(new URL(gw.url).port);
  }, 120_000);
  afterAll(() => gw?.stop());

  it('an h2c upgrade is answered as HTTP/1.1, the body stored as sent, and the connection serves the next request', async () => {
    const body = '{"id":820982911946154508,"note":"upgrade\\r\\n"}';
    const raw = await rawExchange(
      port,
      `POST ${TARGET} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n` +
        `HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n${shopifyHeaders(body, 'h2c-1')}\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}` +
        'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n',
    );
    const [webhook, health] = answers(raw);
    expect(webhook?.status, raw).toBe(200);
    expect(JSON.parse(webhook!.body).status).toBe('accepted');
    expect(health?.status, raw).toBe(200);
    expect(raw).not.toMatch(/101 Switching/);
    expect(await storedBody('acme.myshopify.com/h2c-1')).toBe(body);
  });

  it('a chunked body behind an upgrade request is read by its chunks', async () => {
    const body = '{"id":2,"total_price":"199.00"}';
    const raw = await rawExchange(
      port,
      `POST ${TARGET} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close, Upgrade\r\nUpgrade: h2c, foo/1\r\n` +
        `${shopifyHeaders(body, 'h2c-2')}\r\nTransfer-Encoding: chunked\r\n\r\n` +
        `5\r\n${body.slice(0, 5)}\r\n${(body.length - 5).toString(16)}\r\n${body.slice(5)}\r\n0\r\n\r\n`,
    );
    expect(answers(raw).map((a) => a.status)).toEqual([200]);
    expect(await storedBody('acme.myshopify.com/h2c-2')).toBe(body);
  });

  it('a refused WebSocket upgrade is still refused by its status', async () => {
    const raw = await rawExchange(
      port,
      'GET /api/events/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    );
    expect(raw).toMatch(/^HTTP\/1\.1 401 /);
  });

  it('a refused WebSocket upgrade says why in JSON, as every other refusal does', async () => {
    const upgrade = (target: string, extra = '') =>
      rawExchange(
        port,
        `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n${extra}` +
          'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
      );
    const jsonAnswer = (raw: string) => {
      const [answer] = answers(raw);
      expect(raw).toMatch(/\r\ncontent-type: application\/json/i);
      return { status: answer!.status, body: JSON.parse(answer!.body) as { error: { code: string; message: string } } };
    };
    const noToken = jsonAnswer(await upgrade('/api/events/stream'));
    expect(noToken.status).toBe(401);
    expect(noToken.body.error.code).toBe('missing_token');
    expect(noToken.body.error.message).toMatch(/token/i);
    const wrongToken = jsonAnswer(await upgrade('/api/events/stream?token=not-the-token'));
    expect(wrongToken).toMatchObject({ status: 401, body: { error: { code: 'invalid_token' } } });
    const noWebSocket = jsonAnswer(await upgrade('/api/no-such-route'));
    expect(noWebSocket.status).toBe(404);
    expect(noWebSocket.body.error.code).toMatch(/not_found/);
  });

  it.skipIf(!existsSync('/usr/bin/curl'))('curl --http2 delivers a signed webhook to the cleartext port', async () => {
    const body = '{"id":3}';
    const { stdout } = await promisify(execFile)('curl', [
      '-s',
      '--max-time',
      '20',
      '--http2',
      '-w',
      '\n%{http_code} %{http_version}',
      ...shopifyHeaders(body, 'h2c-curl')
        .split('\r\n')
        .flatMap((h) => ['-H', h]),
      '--data-binary',
      body,
      `${gw.url}${TARGET}`,
    ]);
    const [answer, status] = stdout.split('\n');
    expect(status).toBe('200 1.1');
    expect(JSON.parse(answer!).status).toBe('accepted');
    expect(await storedBody('acme.myshopify.com/h2c-curl')).toBe(body);
  });
});
