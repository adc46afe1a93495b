import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, type TestGateway } from './helpers/gateway';
import { rawExchange } from './helpers/raw-exchange';

// How a body is framed on the wire, as senders' HTTP stacks frame it: chunked with chunk
// extensions and trailers, several requests pipelined on one connection, and a transfer coding
// besides chunked, which Node's parser passes through still coded (src/http/refused-request.ts).

const TARGET = '/api/webhooks/shopify/orders/create';
const head = (body: string, id: string, framing: string) =>
  `POST ${TARGET} HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
  `X-Shopify-Hmac-Sha256: ${createHmac('sha256', SECRETS.shopify).update(body).digest('base64')}\r\n` +
  `X-Shopify-Webhook-Id: ${id}\r\nX-Shopify-Shop-Domain: acme.myshopify.com\r\nX-Shopify-Topic: orders/create\r\n` +
  `Content-Type: application/json\r\n${framing}\r\n`;
const sized = (body: string, id: string) => head(body, id, `Content-Length: ${Buffer.byteLength(body)}\r\n`) + body;

/** Each answer in `raw`, in order: status and body (the gateway's answers carry Content-Length). */
function answers(raw: string) {
  const found: { status: number; body: string }[] = [];
  let rest = raw;
  while (rest.startsWith('HTTP/1.1 ')) {
    const end = rest.indexOf('\r\n\r\n');
    const length = Number(/\r\ncontent-length: (\d+)/i.exec(rest.slice(0, end))?.[1] ?? 0);
    found.push({ status: Number(rest.split(' ')[1]), body: rest.slice(end + 4, end + 4 + length) });
    rest = rest.slice(end + 4 + length);
  }
  return found;
}

describe.each(databaseKinds())('request framing (%s)', (kind) => {
  let gw: TestGateway;
  let port: number;
  const stored = async (id: string) =>
    (
      await gw.query<{ body: Uint8Array }>('select body from webhook_events where webhook_id = $1', [
        `acme.myshopify.com/${id}`,
      ])
    ).map((row) => Buffer.from(row.body).toString('utf8'));

  beforeAll(async () => {
    gw = await startTestGateway(kind);
    port = Number(new URL(gw.url).port);
  }, 120_000);
  afterAll(() => gw?.stop());

  it('a chunked body with chunk extensions and trailers is stored as the chunks joined', async () => {
    const body = '{"id":1,"note":"chunked\\r\\n"}';
    const raw = await rawExchange(
      port,
      head(body, 'chunk-1', 'Transfer-Encoding: chunked\r\nConnection: close\r\n') +
        `5;name=value\r\n${body.slice(0, 5)}\r\n${(body.length - 5).toString(16)};q="x"\r\n${body.slice(5)}\r\n` +
        '0\r\nX-Trailer: t\r\n\r\n',
    );
    expect(answers(raw).map((a) => a.status)).toEqual([200]);
    expect(await stored('chunk-1')).toEqual([body]);
  });

  it('pipelined requests on one connection are answered in order, each stored once', async () => {
    const [a, b] = ['{"id":"pipe-a"}', '{"id":"pipe-b"}'];
    const raw = await rawExchange(
      port,
      sized(a, 'pipe-a') +
        sized(b, 'pipe-b') +
        sized(a, 'pipe-a') +
        'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    );
    const [first, second, third, health] = answers(raw);
    expect([first?.status, second?.status, third?.status, health?.status]).toEqual([200, 200, 200, 200]);
    expect(JSON.parse(first!.body).status).toBe('accepted');
    expect(JSON.parse(second!.body).status).toBe('accepted');
    expect(JSON.parse(third!.body)).toEqual({ status: 'duplicate' });
    expect([await stored('pipe-a'), await stored('pipe-b')]).toEqual([[a], [b]]);
  });

  it('a transfer coding besides chunked is 501 JSON, the body unread and nothing stored', async () => {
    const body = '{"id":2}';
    const raw = await rawExchange(
      port,
      head(body, 'coded-1', 'Transfer-Encoding: gzip, chunked\r\n') +
        `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`,
    );
    expect(raw).toMatch(/\r\nconnection: close\r\n/i);
    const [answer] = answers(raw);
    expect(answer?.status).toBe(501);
    expect(JSON.parse(answer!.body).error.code).toBe('unsupported_transfer_coding');
    expect(await stored('coded-1')).toEqual([]);
  });
});
