import { Agent, request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, type TestGateway } from './helpers/gateway';
import { post, shopifyHeaders } from './helpers/signers';
import { proxyDatabase } from './helpers/tcp-proxy';

describe.each(databaseKinds())('request limits and routing on %s', (kind) => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway(kind, { maxBodyBytes: 1024 });
  });
  afterAll(() => gw?.stop());
  const stored = async () => Number((await gw.query<{ n: string }>('select count(*) as n from webhook_events'))[0]!.n);

  it('a body over the limit is rejected with 413 and not stored', async () => {
    const body = JSON.stringify({ pad: 'x'.repeat(2000) });
    const res = await post(
      `${gw.url}/api/webhooks/shopify/orders/create`,
      body,
      shopifyHeaders(SECRETS.shopify, body, 'big'),
    );
    expect(res.status).toBe(413);
    expect(res.json.error).toEqual({
      code: 'payload_too_large',
      message:
        "Request body exceeds the limit of 1024 bytes (MAX_BODY_BYTES, the gateway's default); " +
        'to accept larger bodies for source "shopify", set its max_body_bytes',
    });
    expect(await stored()).toBe(0);
  });

  it('a chunked body over the limit (no content-length) is rejected with 413', async () => {
    const body = JSON.stringify({ pad: 'y'.repeat(4000) });
    const chunks = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(body));
        controller.close();
      },
    });
    const res = await fetch(`${gw.url}/api/webhooks/shopify/orders/create`, {
      method: 'POST',
      body: chunks,
      headers: shopifyHeaders(SECRETS.shopify, body, 'big-chunked'),
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(await stored()).toBe(0);
  });

  it('after refusing a chunked body part-read, the answer closes the connection so a kept-alive client does not reuse it', async () => {
    // One socket, kept alive: the next request goes on the same connection unless the answer said close.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const send = (body: Buffer, id: string, chunked: boolean) =>
      new Promise<{ status: number; connection: string | undefined }>((resolve, reject) => {
        const headers: Record<string, string> = {
          'content-type': 'application/json',
          ...shopifyHeaders(SECRETS.shopify, body, id),
        };
        if (!chunked) headers['content-length'] = String(body.length);
        const request = httpRequest(
          `${gw.url}/api/webhooks/shopify/orders/create`,
          { method: 'POST', agent, headers },
          (res) => {
            res.resume();
            res.on('end', () => resolve({ status: res.statusCode!, connection: res.headers.connection }));
          },
        );
        request.on('error', reject);
        if (chunked) for (let i = 0; i < body.length; i += 16 * 1024) request.write(body.subarray(i, i + 16 * 1024));
        request.end(chunked ? undefined : body);
      });
    try {
      const big = Buffer.from(JSON.stringify({ pad: 'z'.repeat(256 * 1024) }));
      const refused = await send(big, 'big-chunked-keepalive', true);
      expect(refused).toEqual({ status: 413, connection: 'close' });
      const small = Buffer.from(JSON.stringify({ id: 'after-413' }));
      expect((await send(small, 'after-413', false)).status).toBe(200);
    } finally {
      agent.destroy();
    }
  });

  it('a wrong method on a webhook route answers 405 with Allow: POST', async () => {
    const res = await fetch(`${gw.url}/api/webhooks/easypost`, { method: 'PUT', body: '{}' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('method_not_allowed');
  });

  it('an unknown route answers 404 as JSON', async () => {
    const res = await post(`${gw.url}/api/webhooks/nobody`, '{}');
    expect(res.status).toBe(404);
    expect(res.json.error.code).toBe('not_found');
  });

  it('/healthz answers 200', async () => {
    const res = await fetch(`${gw.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });
});

describe('a provider without a secret', () => {
  it('accepts nothing: 503 source_not_configured, nothing stored', async () => {
    const gw = await startTestGateway('pglite', { secrets: { shopify: [], easypost: [], keycloak: [] } });
    try {
      const body = '{"id":"x"}';
      const res = await post(
        `${gw.url}/api/webhooks/shopify/orders/create`,
        body,
        shopifyHeaders('', body, 'no-secret'),
      );
      expect(res.status).toBe(503);
      expect(res.json.error.code).toBe('source_not_configured');
      expect(await gw.query('select 1 from webhook_events')).toHaveLength(0);
    } finally {
      await gw.stop();
    }
  });
});

describe('database unavailable', () => {
  it('PGlite closed under the gateway: ingest answers 503, never 200', async () => {
    const gw = await startTestGateway('pglite', {}, { role: 'web' });
    await gw.gateway.database.close();
    const body = '{"id":1}';
    const res = await post(
      `${gw.url}/api/webhooks/shopify/orders/create`,
      body,
      shopifyHeaders(SECRETS.shopify, body, 'down'),
    );
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    expect(res.json.error).toEqual({ code: 'database_unavailable', message: 'Storage is unavailable; retry later' });
    await gw.gateway.stop();
  });

  it.runIf(databaseKinds().includes('postgres'))(
    'PostgreSQL connection cut: 503 while it is gone, 200 and stored once it is back',
    async () => {
      const testDb = await createTestDatabase('postgres');
      const { proxy, url } = await proxyDatabase(testDb.url!);
      const viaProxy = { ...testDb, url };
      viaProxy.open = async () =>
        (await import('../src/db/client')).openDatabase({ url: viaProxy.url, connectTimeoutSeconds: 1, poolSize: 2 });
      const gw = await startTestGateway(
        'postgres',
        { database: { url: viaProxy.url } },
        { role: 'web', testDb: viaProxy },
      );
      try {
        const body = '{"id":2}';
        const headers = shopifyHeaders(SECRETS.shopify, body, 'outage');
        await proxy.cut();
        const started = Date.now();
        const down = await post(`${gw.url}/api/webhooks/shopify/orders/create`, body, headers);
        expect(down.status).toBe(503);
        expect(Date.now() - started).toBeLessThan(5_000);
        await proxy.restore();
        const up = await post(`${gw.url}/api/webhooks/shopify/orders/create`, body, headers);
        expect(up.status).toBe(200);
        expect(up.json.status).toBe('accepted');
      } finally {
        await gw.gateway.stop();
        await gw.gateway.database.close().catch(() => {});
        await proxy.close();
        await testDb.drop();
      }
    },
  );
});
