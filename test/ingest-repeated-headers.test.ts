import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSourcesDocument } from '../src/config/file';
import { databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, type TestGateway } from './helpers/gateway';
import { rawExchange } from './helpers/raw-exchange';

// A header sent twice reaches the providers joined with ", " (as Fetch joins it). For a signature
// or an identity header that value is neither of the two the sender sent: two X-Shopify-Webhook-Id
// headers "a" and "b" were stored as one event with the id "a, b". Such requests are refused from
// their head (providers/repeated-headers.ts); other repeated headers are kept joined, as before.

const GITHUB_SECRET = 'github-repeated-secret-0123';
const BODY = '{"id":1,"action":"opened"}';
const hmac = (secret: string, encoding: 'base64' | 'hex') => createHmac('sha256', secret).update(BODY).digest(encoding);
const SHOPIFY_SIGNATURE = hmac(SECRETS.shopify, 'base64');

/** The raw request: `lines` as given (repeats included), then the body; the connection closes after it. */
const raw = (target: string, lines: string[]) =>
  `POST ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\n` +
  `${lines.map((l) => `${l}\r\n`).join('')}Content-Length: ${BODY.length}\r\n\r\n${BODY}`;
const shopify = (overrides: Record<string, string[]> = {}) =>
  Object.entries({
    'X-Shopify-Hmac-Sha256': [SHOPIFY_SIGNATURE],
    'X-Shopify-Webhook-Id': ['rep-1'],
    'X-Shopify-Shop-Domain': ['acme.myshopify.com'],
    'X-Shopify-Topic': ['orders/create'],
    ...overrides,
  }).flatMap(([name, values]) => values.map((value) => `${name}: ${value}`));

/** Status and parsed JSON body of the one answer in `answer`. */
function parse(answer: string) {
  const body = answer.slice(answer.indexOf('\r\n\r\n') + 4);
  return {
    status: Number(answer.split(' ')[1]),
    error: (JSON.parse(body) as { error?: { code: string; message: string } }).error,
  };
}

describe.each(databaseKinds())('repeated signature and identity headers (%s)', (kind) => {
  let gw: TestGateway;
  let port: number;
  const events = () => gw.query<{ webhook_id: string }>('select webhook_id from webhook_events order by id');

  beforeAll(async () => {
    const sources = parseSourcesDocument(
      { sources: [{ name: 'gh', provider: 'github', secrets: [GITHUB_SECRET] }] },
      {},
    );
    gw = await startTestGateway(kind, { sources });
    port = Number(new URL(gw.url).port);
  }, 120_000);
  afterAll(() => gw?.stop());

  it.each([
    ['two different webhook ids', { 'X-Shopify-Webhook-Id': ['rep-a', 'rep-b'] }, 'x-shopify-webhook-id'],
    ['the same webhook id twice', { 'X-Shopify-Webhook-Id': ['rep-c', 'rep-c'] }, 'x-shopify-webhook-id'],
    ['two shop domains', { 'X-Shopify-Shop-Domain': ['a.myshopify.com', 'b.myshopify.com'] }, 'x-shopify-shop-domain'],
  ])('%s: 400 repeated_header naming the header, before the body, and nothing stored', async (_, overrides, name) => {
    const { status, error } = parse(
      await rawExchange(port, raw('/api/webhooks/shopify/orders/create', shopify(overrides))),
    );
    expect(status).toBe(400);
    expect(error).toEqual({
      code: 'repeated_header',
      message: `Headers sent more than once: ${name}; send each exactly once`,
    });
    expect(await events()).toEqual([]);
  });

  it('two signature headers, both valid: 401 invalid_signature saying it was sent twice', async () => {
    const lines = shopify({ 'X-Shopify-Hmac-Sha256': [SHOPIFY_SIGNATURE, SHOPIFY_SIGNATURE] });
    const { status, error } = parse(await rawExchange(port, raw('/api/webhooks/shopify/orders/create', lines)));
    expect(status).toBe(401);
    expect(error).toEqual({
      code: 'invalid_signature',
      message: 'Headers sent more than once: x-shopify-hmac-sha256; send each exactly once',
    });
    expect(await events()).toEqual([]);
  });

  it("two X-GitHub-Hook-ID headers (part of GitHub's dedupe key): 400 repeated_header", async () => {
    const lines = [
      `X-Hub-Signature-256: sha256=${hmac(GITHUB_SECRET, 'hex')}`,
      'X-GitHub-Event: issues',
      'X-GitHub-Delivery: 72d3162e-cc78-11e3-81ab-4c9367dc0958',
      'X-GitHub-Hook-ID: 111',
      'X-GitHub-Hook-ID: 222',
    ];
    const { status, error } = parse(await rawExchange(port, raw('/api/webhooks/gh', lines)));
    expect(status).toBe(400);
    expect(error?.code).toBe('repeated_header');
    expect(await events()).toEqual([]);
  });

  it('a repeated header the gateway does not verify or identify with is accepted, the event stored once', async () => {
    const lines = [
      ...shopify({ 'X-Shopify-Webhook-Id': ['rep-ok'] }),
      'User-Agent: Shopify-Captain-Hook',
      'User-Agent: again',
    ];
    const { status } = parse(await rawExchange(port, raw('/api/webhooks/shopify/orders/create', lines)));
    expect(status).toBe(200);
    expect(await events()).toEqual([{ webhook_id: 'acme.myshopify.com/rep-ok' }]);
  });
});
