import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSourcesDocument } from '../src/config/file';
import { SECRETS, startTestGateway, type TestGateway } from './helpers/gateway';
import { easypostSignature, post, shopifyHeaders } from './helpers/signers';

/** Sends raw bytes on a socket; resolves with what came back and when the server closed it. */
function rawExchange(port: number, chunks: { data: string; afterMs: number }[], options: { halfClose?: boolean } = {}) {
  return new Promise<{ response: string; closedAfterMs: number }>((resolve) => {
    const started = Date.now();
    const socket = net.connect(port, '127.0.0.1');
    let response = '';
    socket.on('data', (d) => (response += d));
    socket.on('error', () => {});
    socket.on('close', () => resolve({ response, closedAfterMs: Date.now() - started }));
    let delay = 0;
    for (const chunk of chunks) {
      delay += chunk.afterMs;
      setTimeout(() => socket.writable && socket.write(chunk.data), delay);
    }
    if (options.halfClose) setTimeout(() => socket.end(), delay + 10);
  });
}

describe('ingest protection', () => {
  let gw: TestGateway;
  let port: number;
  beforeAll(async () => {
    const sources = parseSourcesDocument(
      {
        sources: [
          {
            name: 'limited',
            provider: 'easypost',
            secrets: [SECRETS.easypost],
            rate_limit: { per_second: 1, burst: 2 },
          },
        ],
      },
      {},
    );
    gw = await startTestGateway('pglite', { sources, timeouts: { headersMs: 500, requestMs: 1500 } });
    port = Number(new URL(gw.url).port);
  });
  afterAll(() => gw?.stop());

  const signedEasypost = (payload: object) => {
    const body = JSON.stringify(payload);
    return { body, headers: { 'x-hmac-signature': easypostSignature(SECRETS.easypost, body) } };
  };

  it('a source over its rate limit gets 429 with Retry-After, and nothing is stored for it', async () => {
    const answers = [];
    for (let i = 0; i < 3; i++) {
      const { body, headers } = signedEasypost({ id: `rl-${i}`, description: 'x' });
      answers.push(await post(`${gw.url}/api/webhooks/limited`, body, headers));
    }
    expect(answers.map((a) => a.status)).toEqual([200, 200, 429]);
    expect(answers[2]!.json.error.code).toBe('rate_limited');
    expect(Number(answers[2]!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await gw.query(`select 1 from webhook_events where webhook_id = 'rl-2'`)).toHaveLength(0);
    // Other sources are not affected.
    const body = '{"n":1}';
    expect(
      (await post(`${gw.url}/api/webhooks/shopify/x`, body, shopifyHeaders(SECRETS.shopify, body, 'rl-other'))).status,
    ).toBe(200);
  });

  it('an id containing NUL is refused with 400, not stored, and does not read as an outage', async () => {
    const { body, headers } = signedEasypost({ id: 'evt_\u0000bad', description: 'x' });
    const res = await post(`${gw.url}/api/webhooks/easypost`, body, headers);
    expect(res.status).toBe(400);
    expect(res.json.error).toEqual({
      code: 'invalid_identity',
      message: "The event's webhookId contains a NUL character",
    });
  });

  it('an absurdly long id is refused with 400', async () => {
    const { body, headers } = signedEasypost({ id: 'x'.repeat(600), description: 'x' });
    const res = await post(`${gw.url}/api/webhooks/easypost`, body, headers);
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe('invalid_identity');
  });

  it('a slow-loris client that never finishes its headers is disconnected', async () => {
    const { closedAfterMs, response } = await rawExchange(port, [
      { data: 'POST /api/webhooks/easypost HTTP/1.1\r\nHost: x\r\n', afterMs: 0 },
      { data: 'X-A: 1\r\n', afterMs: 300 },
      { data: 'X-B: 2\r\n', afterMs: 300 },
      { data: 'X-C: 3\r\n', afterMs: 300 },
      { data: 'X-D: 4\r\n', afterMs: 300 },
    ]);
    expect(closedAfterMs).toBeLessThan(5_000);
    expect(response === '' || response.startsWith('HTTP/1.1 408')).toBe(true);
    expect(
      await gw.query('select 1 from webhook_events where source = $1 and webhook_id = $2', ['easypost', 'never']),
    ).toHaveLength(0);
  });

  it('a body that stops arriving is cut off by the request timeout and nothing is stored', async () => {
    const { body, headers } = signedEasypost({ id: 'evt_slow_body', description: 'x' });
    const head = `POST /api/webhooks/easypost HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Hmac-Signature: ${headers['x-hmac-signature']}\r\nContent-Length: ${body.length}\r\n\r\n`;
    const { closedAfterMs } = await rawExchange(port, [
      { data: head, afterMs: 0 },
      { data: body.slice(0, 10), afterMs: 10 },
    ]);
    expect(closedAfterMs).toBeLessThan(6_000);
    expect(await gw.query(`select 1 from webhook_events where webhook_id = 'evt_slow_body'`)).toHaveLength(0);
  });

  it('a half-closed connection with a short body is answered with an error and nothing is stored', async () => {
    const { body, headers } = signedEasypost({ id: 'evt_half', description: 'x' });
    const head = `POST /api/webhooks/easypost HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Hmac-Signature: ${headers['x-hmac-signature']}\r\nContent-Length: ${body.length + 50}\r\n\r\n`;
    const { response, closedAfterMs } = await rawExchange(port, [{ data: head + body, afterMs: 0 }], {
      halfClose: true,
    });
    expect(closedAfterMs).toBeLessThan(6_000);
    expect(response).toMatch(/^HTTP\/1\.1 (400|408)/);
    expect(await gw.query(`select 1 from webhook_events where webhook_id = 'evt_half'`)).toHaveLength(0);
  });
});
