import net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, defineConfig, loadConfig } from '../src/config/env';
import { createGateway } from '../src/gateway';
import { createLogger } from '../src/logger';
import { databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { PROVIDER_SECRETS, providerSources } from './helpers/provider-signers';
import { openRequest } from './helpers/raw-exchange';
import { post, shopifyHeaders } from './helpers/signers';

// INGEST_BODY_BUDGET_BYTES: ingest bodies are read before their signature can be checked, so all
// connections together may hold at most this many body bytes (src/ingest/body-budget.ts).

const MAX_BODY = 64 * 1024;
const BUDGET = 100 * 1024;
const PATH = '/api/webhooks/shopify/orders/create';

/** Request line and headers of a signed Shopify delivery of `body`, declared with its length. */
function signedHead(body: Buffer, id: string, length: number | 'chunked' = body.length): string {
  const headers: Record<string, string> = {
    host: 'x',
    'content-type': 'application/json',
    ...shopifyHeaders(SECRETS.shopify, body, id),
    ...(length === 'chunked' ? { 'transfer-encoding': 'chunked' } : { 'content-length': String(length) }),
  };
  return `POST ${PATH} HTTP/1.1\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\r\n')}\r\n\r\n`;
}

const jsonBody = (bytes: number, mark: string) => {
  const start = `{"mark":"${mark}","pad":"`;
  return Buffer.from(start + 'x'.repeat(bytes - start.length - 2) + '"}');
};

describe.each(databaseKinds())('ingest body budget on %s', (kind) => {
  let gw: TestGateway;
  let port: number;
  const sockets: net.Socket[] = [];
  beforeAll(async () => {
    gw = await startTestGateway(kind, {
      sources: providerSources(),
      maxBodyBytes: MAX_BODY,
      ingestBodyBudgetBytes: BUDGET,
      // Refusal at once, as with INGEST_BODY_WAIT_MS=0; waiting for room is test/ingest-body-wait.test.ts.
      ingestBodyWait: { waitMs: 0, maxWaiting: 0 },
      timeouts: { headersMs: 3000, requestMs: 3000 },
      rejectedRequests: { perMinute: 20, bufferSize: 1000, flushIntervalMs: 50, retentionDays: 7 },
    });
    port = Number(new URL(gw.url).port);
  });
  afterEach(() => sockets.splice(0).forEach((s) => s.destroy()));
  afterAll(() => gw?.stop());

  const metrics = async () =>
    (await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${SECRETS.ops}` } })).text();
  const held = async () => Number(/^webhook_gateway_ingest_body_bytes_held (\d+)/m.exec(await metrics())![1]);
  const heldIs = (bytes: number) => waitFor(async () => (await held()) === bytes, 10_000, `${bytes} body bytes held`);
  const stored = async (mark: string) =>
    Number(
      (
        await gw.query<{ n: string }>(
          `select count(*) as n from webhook_events where convert_from(body, 'UTF8') like $1`,
          [`%"mark":"${mark}"%`],
        )
      )[0]!.n,
    );

  /** Starts a signed delivery of MAX_BODY bytes and sends all of it but the last byte. */
  async function holdLargeBody(mark: string) {
    const body = jsonBody(MAX_BODY, mark);
    const request = openRequest(port, signedHead(body, `held-${mark}`));
    sockets.push(request.socket);
    request.socket.write(body.subarray(0, body.length - 1));
    await heldIs(MAX_BODY);
    return { request, finish: () => request.socket.write(body.subarray(body.length - 1)) };
  }

  it('a declared body that does not fit while a large one is held is refused at once: 503 ingest_busy with Retry-After', async () => {
    const large = await holdLargeBody('large');
    // Only the headers are sent: the answer must come before any of the body.
    const body = jsonBody(40 * 1024, 'refused');
    const refused = openRequest(port, signedHead(body, 'refused'));
    sockets.push(refused.socket);
    await waitFor(() => refused.answer().includes('\r\n\r\n{'), 10_000, 'the refusal');
    expect(refused.answer()).toMatch(/^HTTP\/1\.1 503 /);
    expect(refused.answer()).toMatch(/\r\nretry-after: 5\r\n/i);
    const json = JSON.parse(refused.answer().slice(refused.answer().indexOf('\r\n\r\n') + 4));
    expect(json.error.code).toBe('ingest_busy');
    expect(await held()).toBe(MAX_BODY);

    // The held request, once complete, is verified and stored; its bytes are given back.
    large.finish();
    await waitFor(() => large.request.answer().includes('"accepted"'), 10_000, 'the held request accepted');
    await heldIs(0);
    expect(await stored('large')).toBe(1);

    // The refused sender's retry now fits.
    const retry = await post(`${gw.url}${PATH}`, body, shopifyHeaders(SECRETS.shopify, body, 'refused'));
    expect(retry.status).toBe(200);
    expect(retry.json.status).toBe('accepted');
    expect(await stored('refused')).toBe(1);

    expect(await metrics()).toMatch(
      /webhook_gateway_requests_total\{source="shopify",outcome="rejected",reason="ingest_busy"\} [1-9]/,
    );
    const log = await waitFor(
      async () => {
        const res = await fetch(`${gw.url}/api/requests?source=shopify&cause=ingest_busy`, {
          headers: { authorization: `Bearer ${SECRETS.ops}` },
        });
        const rows = ((await res.json()) as { requests: { status: number; body_bytes: number | null }[] }).requests;
        return rows.length > 0 ? rows : undefined;
      },
      10_000,
      'the refusal in the rejected-request log',
    );
    // The body was never read: its declared length is what the log knows.
    expect(log?.[0]).toMatchObject({ status: 503, body_bytes: 40 * 1024 });
  });

  it('a chunked body takes its bytes as they arrive and is refused once over the budget', async () => {
    const large = await holdLargeBody('chunk-holder');
    const body = jsonBody(40 * 1024, 'chunked');
    const chunked = openRequest(port, signedHead(body, 'chunked', 'chunked'));
    sockets.push(chunked.socket);
    chunked.socket.write(`${body.length.toString(16)}\r\n`);
    chunked.socket.write(body);
    chunked.socket.write('\r\n');
    await waitFor(() => chunked.answer().includes('\r\n\r\n{'), 10_000, 'the refusal');
    expect(chunked.answer()).toMatch(/^HTTP\/1\.1 503 /);
    expect(chunked.answer()).toContain('"ingest_busy"');
    large.request.socket.destroy();
    await heldIs(0);

    // With room, the same chunked delivery is accepted.
    const again = openRequest(port, signedHead(body, 'chunked', 'chunked'));
    sockets.push(again.socket);
    again.socket.write(`${body.length.toString(16)}\r\n`);
    again.socket.write(body);
    again.socket.write('\r\n0\r\n\r\n');
    await waitFor(() => again.answer().includes('"accepted"'), 10_000, 'the chunked delivery accepted');
    expect(await stored('chunked')).toBe(1);
    await heldIs(0);
  });

  it('aborted and timed-out requests give their bytes back: afterwards a body of the largest size is accepted', async () => {
    for (let round = 0; round < 15; round++) {
      const aborted = [0, 1].map((i) => {
        const body = jsonBody(MAX_BODY / 2 + 1000, `aborted-${round}-${i}`);
        const request = openRequest(port, signedHead(body, `aborted-${round}-${i}`));
        request.socket.write(body.subarray(0, 1000));
        return request;
      });
      await heldIs(2 * (MAX_BODY / 2 + 1000));
      aborted.forEach((r) => r.socket.destroy());
      await heldIs(0);
    }
    // A sender that stops sending is cut at REQUEST_TIMEOUT_MS (3 s here): its bytes come back too.
    const stalled = await holdLargeBody('stalled');
    await stalled.request.closed;
    await heldIs(0);

    const body = jsonBody(MAX_BODY, 'after-aborts');
    const res = await post(`${gw.url}${PATH}`, body, shopifyHeaders(SECRETS.shopify, body, 'after-aborts'));
    expect(res.status).toBe(200);
    expect(await stored('after-aborts')).toBe(1);
    expect(await stored('stalled')).toBe(0);
  });
});

describe.each(databaseKinds())('credentials carried in headers on %s', (kind) => {
  let gw: TestGateway;
  let port: number;
  const sockets: net.Socket[] = [];
  beforeAll(async () => {
    gw = await startTestGateway(kind, { sources: providerSources(), maxBodyBytes: MAX_BODY });
    port = Number(new URL(gw.url).port);
  });
  afterEach(() => sockets.splice(0).forEach((s) => s.destroy()));
  afterAll(() => gw?.stop());

  /** Sends only the request line and headers, declaring a body that never comes. */
  async function answerWithoutBody(target: string, headers: Record<string, string>) {
    const lines = Object.entries({ host: 'x', 'content-length': String(MAX_BODY), ...headers }).map(
      ([k, v]) => `${k}: ${v}`,
    );
    const request = openRequest(port, `POST ${target} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`);
    sockets.push(request.socket);
    await waitFor(() => request.answer().includes('\r\n\r\n{'), 10_000, `the answer to ${target}`);
    return request.answer();
  }

  it('a wrong or missing Basic or API-key credential is refused before the body is read', async () => {
    const basic = (credential: string) => `Basic ${Buffer.from(credential).toString('base64')}`;
    for (const [target, headers, code] of [
      ['/api/webhooks/basic', { authorization: basic('hooks:wrong horse battery') }, 'invalid_credentials'],
      ['/api/webhooks/basic', {}, 'missing_signature'],
      ['/api/webhooks/apikey', { 'x-api-key': 'not-the-key' }, 'invalid_credentials'],
      ['/api/webhooks/apikey-query?token=not-the-key', {}, 'invalid_credentials'],
    ] as const) {
      const answer = await answerWithoutBody(target, headers);
      expect(answer, target).toMatch(/^HTTP\/1\.1 401 /);
      expect(answer, target).toContain(`"code":"${code}"`);
    }
    // The right credential still goes on to read the body and store the event.
    const body = '{"k":"after-head-check"}';
    const res = await post(`${gw.url}/api/webhooks/basic`, body, { authorization: basic(PROVIDER_SECRETS.basic) });
    expect(res.json.status).toBe('accepted');
    const ok = await post(`${gw.url}/api/webhooks/apikey-query?token=${PROVIDER_SECRETS.apiKeyQuery}`, body);
    expect(ok.json.status).toBe('accepted');
  });
  it('a Shopify delivery without X-Shopify-Topic still takes its topic from the sub-path', async () => {
    const body = '{"id":"sub-path-topic"}';
    const { 'x-shopify-topic': _topic, ...headers } = shopifyHeaders(SECRETS.shopify, body, 'sub-path-topic');
    const res = await post(`${gw.url}/api/webhooks/shopify//orders/paid`, body, headers);
    expect(res.json.status).toBe('accepted');
    const [row] = await gw.query<{ topic: string }>('select topic from webhook_events where id = $1', [res.json.id]);
    expect(row?.topic).toBe('orders/paid');
  });
});

describe('INGEST_BODY_BUDGET_BYTES', () => {
  it('is 64 MiB by default, and MAX_BODY_BYTES when that is larger', () => {
    expect(loadConfig({}).ingestBodyBudgetBytes).toBe(64 * 1024 * 1024);
    expect(loadConfig({ MAX_BODY_BYTES: String(256 * 1024 * 1024) }).ingestBodyBudgetBytes).toBe(256 * 1024 * 1024);
    expect(loadConfig({ INGEST_BODY_BUDGET_BYTES: '1048576' }).ingestBodyBudgetBytes).toBe(1024 * 1024);
  });

  it('below MAX_BODY_BYTES stops the start, naming both', () => {
    expect(() => loadConfig({ INGEST_BODY_BUDGET_BYTES: '1000' })).toThrow(ConfigError);
    expect(() => loadConfig({ INGEST_BODY_BUDGET_BYTES: '1000' })).toThrow(
      'INGEST_BODY_BUDGET_BYTES (1000) must be at least MAX_BODY_BYTES (1048576)',
    );
    expect(() => loadConfig({ MAX_BODY_BYTES: '2000000', INGEST_BODY_BUDGET_BYTES: '1999999' })).toThrow(
      'INGEST_BODY_BUDGET_BYTES (1999999) must be at least MAX_BODY_BYTES (2000000)',
    );
  });

  it('must be a positive whole number', () => {
    for (const value of ['0', '-5', '1.5', 'lots']) {
      expect(() => loadConfig({ INGEST_BODY_BUDGET_BYTES: value }), value).toThrow(/INGEST_BODY_BUDGET_BYTES: /);
    }
  });

  it('a config built in code with a budget below its body limit makes no gateway', () => {
    const config = defineConfig({ maxBodyBytes: 2048, ingestBodyBudgetBytes: 1024 });
    expect(() => createGateway(config, { logger: createLogger('silent') })).toThrow(
      'INGEST_BODY_BUDGET_BYTES (1024) must be at least MAX_BODY_BYTES (2048)',
    );
  });
});
