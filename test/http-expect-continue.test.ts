import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, type TestGateway } from './helpers/gateway';
import { openRequest, requestHead } from './helpers/raw-exchange';

// A sender with `Expect: 100-continue` (curl -H 'Expect: 100-continue', .NET Framework's
// HttpWebRequest by default, Java's HttpClient with expectContinue(true)) sends its headers and
// waits for `100 Continue` before the body. Node wrote the 100 before any route judged the
// headers, so a request the gateway was about to refuse was still asked for its body
// (src/http/expect-continue.ts).

const TARGET = '/api/webhooks/shopify/orders/create';
const sign = (body: string) => createHmac('sha256', SECRETS.shopify).update(body).digest('base64');
const shopify = (body: string, id: string, signature = sign(body)) => ({
  'x-shopify-hmac-sha256': signature,
  'x-shopify-webhook-id': id,
  'x-shopify-shop-domain': 'acme.myshopify.com',
  'x-shopify-topic': 'orders/create',
  'content-type': 'application/json',
  'content-length': String(Buffer.byteLength(body)),
  expect: '100-continue',
});
// Larger than curl's own Expect threshold would need; the signed JSON a sender would send.
const BODY = JSON.stringify({ id: 8209829119, note: 'x'.repeat(3000), crlf: '\r\n' });

describe.each(databaseKinds())('Expect: 100-continue (%s)', (kind) => {
  let gw: TestGateway;
  let port: number;
  const storedBodies = async (webhookId: string) =>
    (await gw.query<{ body: Uint8Array }>('select body from webhook_events where webhook_id = $1', [webhookId])).map(
      (row) => Buffer.from(row.body).toString('utf8'),
    );

  beforeAll(async () => {
    gw = await startTestGateway(kind);
    port = Number(new URL(gw.url).port);
  }, 120_000);
  afterAll(() => gw?.stop());

  it('a signed webhook gets 100 Continue, then its body is read and stored byte for byte', async () => {
    const request = openRequest(port, requestHead(TARGET, shopify(BODY, 'expect-1')));
    try {
      await expect.poll(request.answer, { timeout: 10_000 }).toBe('HTTP/1.1 100 Continue\r\n\r\n');
      request.socket.write(BODY);
      await expect.poll(request.answer, { timeout: 10_000 }).toMatch(/\{"status":"accepted","id":\d+\}$/);
      expect(await storedBodies('acme.myshopify.com/expect-1')).toEqual([BODY]);
    } finally {
      request.socket.destroy();
    }
  });

  it.each([
    ['a malformed signature', shopify(BODY, 'expect-2', 'not base64!'), 401, 'invalid_signature'],
    ['an unknown source', { ...shopify(BODY, 'expect-3'), target: '/api/webhooks/nowhere' }, 404, 'not_found'],
    [
      'a Content-Length over MAX_BODY_BYTES',
      { ...shopify(BODY, 'expect-4'), 'content-length': '99999999' },
      413,
      'payload_too_large',
    ],
  ])(
    '%s is answered from its head, without asking for the body, and the connection is closed',
    async (_, headers, status, code) => {
      const { target = TARGET, ...rest } = headers as Record<string, string>;
      const request = openRequest(port, requestHead(target, rest));
      try {
        await request.closed;
        const answer = request.answer();
        expect(answer).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
        expect(answer).not.toContain('100 Continue');
        expect(answer).toMatch(/\r\nConnection: close\r\n/i);
        expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)).error.code).toBe(code);
      } finally {
        request.socket.destroy();
      }
      expect(await gw.query('select 1 from webhook_events where webhook_id like $1', ['%/expect-_'])).toHaveLength(1);
    },
  );

  it.skipIf(!existsSync('/usr/bin/curl'))('curl waiting for 100 Continue delivers the body', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'expect-'));
    try {
      const file = join(dir, 'body.json');
      writeFileSync(file, BODY);
      const { ['content-length']: _length, ...headers } = shopify(BODY, 'expect-curl');
      // --expect100-timeout far above the test's: curl sends the body only after the server's 100.
      const { stdout } = await promisify(execFile)('curl', [
        '-s',
        '--max-time',
        '20',
        '--expect100-timeout',
        '60',
        '-w',
        '\n%{http_code}',
        ...Object.entries(headers).flatMap(([name, value]) => ['-H', `${name}: ${value}`]),
        '--data-binary',
        `@${file}`,
        `${gw.url}${TARGET}`,
      ]);
      const [answer, status] = stdout.split('\n');
      expect(status).toBe('200');
      expect(JSON.parse(answer!).status).toBe('accepted');
      expect(await storedBodies('acme.myshopify.com/expect-curl')).toEqual([BODY]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
