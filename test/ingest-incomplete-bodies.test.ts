import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, type TestGateway } from './helpers/gateway';
import { openRequest, requestHead } from './helpers/raw-exchange';

// A sender that goes away mid-body — it crashed, its own timeout fired, or the gateway cut it at
// REQUEST_TIMEOUT_MS after a 408 — leaves nothing stored, and is a rejected request of its own
// (incomplete_request), not an "unhandled error" logged at error level with a stack trace
// (src/ingest/incomplete-body.ts).

const TARGET = '/api/webhooks/shopify/orders/create';
const MARKER = 'PAYLOAD-VALUE-7f3a';
const BODY = JSON.stringify({ id: 1, customer: MARKER, pad: 'p'.repeat(2000) });
const SIGNATURE = createHmac('sha256', SECRETS.shopify).update(BODY).digest('base64');
const headers = (id: string) => ({
  'x-shopify-hmac-sha256': SIGNATURE,
  'x-shopify-webhook-id': id,
  'x-shopify-shop-domain': 'acme.myshopify.com',
  'x-shopify-topic': 'orders/create',
  'content-type': 'application/json',
});
const chunk = (text: string) => `${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`;

describe.each(databaseKinds())('request bodies that never complete (%s)', (kind) => {
  let gw: TestGateway;
  let port: number;
  const logLines = () => gw.logs.flatMap((l) => l.split('\n')).filter((l) => l !== '');
  const bytesHeld = async () => {
    const metrics = await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${SECRETS.ops}` } });
    return Number(/^webhook_gateway_ingest_body_bytes_held (\d+)/m.exec(await metrics.text())?.[1]);
  };
  const rejection = (reason: string) =>
    logLines().filter((l) => l.includes('"request rejected"') && l.includes(`"reason":"${reason}"`)).length;

  beforeAll(async () => {
    // A short request timeout, so the trickling sender is cut within the test.
    gw = await startTestGateway(kind, { timeouts: { headersMs: 2000, requestMs: 2000 } });
    port = Number(new URL(gw.url).port);
  }, 120_000);
  afterAll(() => gw?.stop());

  it.each([
    ['with a Content-Length', 'gone-1', { 'content-length': String(BODY.length) }, BODY.slice(0, 1500)],
    ['chunked', 'gone-2', { 'transfer-encoding': 'chunked' }, chunk(BODY.slice(0, 1500))],
  ])('a sender that disconnects mid-body (%s) stores nothing and logs no error', async (_, id, framing, part) => {
    const before = rejection('incomplete_request');
    const request = openRequest(port, requestHead(TARGET, { ...headers(id), ...framing }) + part);
    // Evidence the request reached ingest and its body is being read: the body budget holds it.
    await expect.poll(bytesHeld, { timeout: 10_000 }).toBeGreaterThan(0);
    request.socket.destroy();
    await expect.poll(() => rejection('incomplete_request'), { timeout: 10_000 }).toBe(before + 1);
    expect(logLines().filter((l) => l.includes('"level":50'))).toEqual([]);
    expect(logLines().join('\n')).not.toContain(MARKER);
    expect(logLines().join('\n')).not.toContain(SIGNATURE);
    expect(await gw.query('select 1 from webhook_events where webhook_id = $1', [`acme.myshopify.com/${id}`])).toEqual(
      [],
    );
  });

  it('a sender trickling its body past REQUEST_TIMEOUT_MS gets 408 JSON, and nothing is stored or logged as an error', async () => {
    const before = rejection('incomplete_request');
    const request = openRequest(
      port,
      requestHead(TARGET, { ...headers('slow-1'), 'content-length': String(BODY.length) }),
    );
    let sent = 0;
    const trickle = setInterval(() => {
      if (!request.socket.destroyed && sent < BODY.length) request.socket.write(BODY.slice(sent, (sent += 10)));
    }, 100);
    try {
      await request.closed;
    } finally {
      clearInterval(trickle);
    }
    expect(sent).toBeLessThan(BODY.length);
    const answer = request.answer();
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)).error.code).toBe('request_timeout');
    await expect.poll(() => rejection('incomplete_request'), { timeout: 10_000 }).toBe(before + 1);
    expect(logLines().filter((l) => l.includes('"level":50'))).toEqual([]);
    expect(logLines().join('\n')).not.toContain(MARKER);
    expect(await gw.query("select 1 from webhook_events where webhook_id like '%/slow-1'")).toEqual([]);
  });
});
