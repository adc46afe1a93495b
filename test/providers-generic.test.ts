import { createHash, createHmac } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSourcesDocument } from '../src/config/file';
import { startTestGateway, type TestGateway } from './helpers/gateway';
import { hexHmac, nowSeconds, PROVIDER_SECRETS as S, providerSources } from './helpers/provider-signers';
import { post } from './helpers/signers';

/** POSTs with the request target exactly as given (fetch would normalise it first). */
function rawPost(base: string, target: string, body: string, headers: Record<string, string>) {
  return new Promise<{ status: number; json: any }>((resolve, reject) => {
    const { hostname, port } = new URL(base);
    const req = httpRequest(
      { hostname, port, path: target, method: 'POST', headers: { ...headers, 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, json: JSON.parse(text) }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

// Configurable sources: generic HMAC (the X-Honey and X-OpsIQ schemes, a sha1/sha512 variant),
// basic auth and API keys, and the content-hash id for sources that send no id.
describe('configurable sources', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    const extra = parseSourcesDocument(
      {
        sources: [
          {
            name: 'legacy-sha1',
            provider: 'generic-hmac',
            secrets: ['sha1-hook-secret-0123'],
            algorithm: 'sha1',
            signature_header: 'X-Hook-Signature',
            signature_prefix: 'sha1=',
            id_path: 'meta.delivery.0',
            topic_path: 'meta.kind',
          },
          {
            name: 'bearer-key',
            provider: 'api-key',
            secrets: ['bearer-key-0123456789'],
            header: 'Authorization',
            prefix: 'Bearer ',
          },
          { name: 'basic-latin1', provider: 'basic-auth', secrets: ['hooks:contraseña-muy-segura-42'] },
          {
            name: 'query-signed',
            provider: 'generic-hmac',
            secrets: ['query-hook-secret-0123'],
            signature_header: 'X-Query-Signature',
            signed_payload: '{query}.{body}',
          },
        ],
      },
      {},
    );
    gw = await startTestGateway('pglite', { sources: [...providerSources(), ...extra] });
  });
  afterAll(() => gw?.stop());

  const row = async (id: number) =>
    (
      await gw.query<{ webhook_id: string; topic: string; headers: Record<string, string> }>(
        'select webhook_id, topic, headers from webhook_events where id = $1',
        [id],
      )
    )[0]!;
  const count = async (source: string) =>
    Number(
      (await gw.query<{ n: string }>('select count(*) as n from webhook_events where source = $1', [source]))[0]!.n,
    );

  describe('generic HMAC', () => {
    const stock = JSON.stringify({
      event_type: 'inventory.stock_received',
      dedupe_key: 'stock-rcv-0742',
      data: { quantity: 48 },
    });

    it('X-Honey scheme: sha256= hex over "<timestamp>.<body>"; id and topic from headers', async () => {
      const ts = String(nowSeconds());
      const res = await post(`${gw.url}/api/webhooks/honey`, stock, {
        'x-honey-signature': `sha256=${hexHmac(S.honey, `${ts}.${stock}`)}`,
        'x-honey-timestamp': ts,
        'x-honey-delivery-id': 'dlv_9x8y7z6w',
        'x-honey-event-type': 'inventory.stock_received',
      });
      expect(res.json.status).toBe('accepted');
      const stored = await row(res.json.id);
      expect(stored).toMatchObject({ webhook_id: 'dlv_9x8y7z6w', topic: 'inventory.stock_received' });
      expect(stored.headers).toMatchObject({ 'x-honey-timestamp': ts, 'x-honey-delivery-id': 'dlv_9x8y7z6w' });
      expect(stored.headers).not.toHaveProperty('x-honey-signature');
    });

    it('X-Honey scheme: the signature prefix is required', async () => {
      const ts = String(nowSeconds());
      const res = await post(`${gw.url}/api/webhooks/honey`, stock, {
        'x-honey-signature': hexHmac(S.honey, `${ts}.${stock}`),
        'x-honey-timestamp': ts,
        'x-honey-delivery-id': 'dlv_noprefix',
      });
      expect(res.status).toBe(401);
      expect(res.json.error.code).toBe('invalid_signature');
    });

    it('X-OpsIQ scheme: body, timestamp and path are signed; the topic comes from the payload', async () => {
      const body = JSON.stringify({ event: 'invoice.paid', invoice: 'inv_1' });
      const ts = String(nowSeconds());
      const res = await post(`${gw.url}/api/webhooks/opsiq`, body, {
        'x-opsiq-signature': `sha256=${hexHmac(S.opsiq, `${body}${ts}/api/webhooks/opsiq`)}`,
        'x-opsiq-timestamp': ts,
        'x-opsiq-nonce': 'nonce-generic-1',
      });
      expect(res.json.status).toBe('accepted');
      expect((await row(res.json.id)).topic).toBe('invoice.paid');
    });

    it('X-OpsIQ scheme: a signature made for another path is rejected (no substitution)', async () => {
      const body = JSON.stringify({ event: 'invoice.paid', invoice: 'inv_2' });
      const ts = String(nowSeconds());
      const before = await count('opsiq');
      const res = await post(`${gw.url}/api/webhooks/opsiq`, body, {
        'x-opsiq-signature': `sha256=${hexHmac(S.opsiq, `${body}${ts}/api/webhooks/other-endpoint`)}`,
        'x-opsiq-timestamp': ts,
        'x-opsiq-nonce': 'nonce-generic-2',
      });
      expect(res.status).toBe(401);
      expect(await count('opsiq')).toBe(before);
    });

    it('{query} is the query string exactly as sent, whatever characters it holds', async () => {
      // The request target goes through WHATWG URL parsing on its way to c.req.url once it holds a
      // "%", which escapes ' " < > in the query: the signature was checked over other bytes (401).
      const body = '{"n":1}';
      for (const query of ["a=%41&b='c'", 'filter=name%20eq%20"x"&t=<1>', 'x=1']) {
        const signature = createHmac('sha256', 'query-hook-secret-0123').update(`${query}.${body}`).digest('hex');
        const res = await rawPost(gw.url, `/api/webhooks/query-signed?${query}`, body, {
          'x-query-signature': signature,
        });
        expect(res.status, query).toBe(200);
        expect(
          (
            await gw.query<{ request_target: string }>('select request_target from webhook_events where id = $1', [
              res.json.id,
            ])
          )[0]!.request_target,
        ).toBe(`/api/webhooks/query-signed?${query}`);
      }
    });

    /** POSTs `body` to the legacy-sha1 source, signed as its sender does (sha1=<hex>). */
    const postLegacySha1 = (body: string) =>
      post(`${gw.url}/api/webhooks/legacy-sha1`, body, {
        'x-hook-signature': `sha1=${createHmac('sha1', 'sha1-hook-secret-0123').update(body).digest('hex')}`,
      });

    it('sha1 with a prefix; the id is found by a JSON path into the payload', async () => {
      const body = JSON.stringify({ meta: { delivery: ['d-legacy-1'], kind: 'order.shipped' } });
      const res = await postLegacySha1(body);
      expect(res.json.status).toBe('accepted');
      expect(await row(res.json.id)).toMatchObject({ webhook_id: 'd-legacy-1', topic: 'order.shipped' });
    });

    it('numeric ids beyond 2^53 at id_path are kept as sent: two ids differing in the last digit are two events', async () => {
      // JSON.parse reads both as 820982911946154500, which made the second a "duplicate" of the first.
      const ids = ['820982911946154508', '820982911946154509'];
      const answers = [];
      for (const id of ids) {
        const body = `{"meta":{"kind":"order.paid","delivery":[${id}]}}`;
        answers.push(await postLegacySha1(body));
      }
      expect(answers.map((a) => a.json.status)).toEqual(['accepted', 'accepted']);
      expect((await row(answers[0]!.json.id)).webhook_id).toBe(ids[0]);
      expect((await row(answers[1]!.json.id)).webhook_id).toBe(ids[1]);
    });

    it('numeric ids stay exact in bodies lossless-json does not read (too deep, a repeated key): still two events', async () => {
      // Such bodies are identified with JSON.parse, which read both ids as 820982911946154500: the
      // second delivery was answered "conflict" and never processed.
      const deep = `${'['.repeat(300)}${']'.repeat(300)}`;
      const cases = [
        (id: string) => `{"meta":{"kind":"order.paid","delivery":[${id}]},"deep":${deep}}`,
        (id: string) => `{"meta":{"kind":"order.paid","delivery":[${id}]},"x":1,"x":2}`,
      ];
      for (const [n, bodyOf] of cases.entries()) {
        const ids = [`82098291194615450${n}1`, `82098291194615450${n}2`];
        const answers = [];
        for (const id of ids) {
          const body = bodyOf(id);
          answers.push(await postLegacySha1(body));
        }
        expect(answers.map((a) => a.json.status)).toEqual(['accepted', 'accepted']);
        expect((await row(answers[0]!.json.id)).webhook_id).toBe(ids[0]);
        expect((await row(answers[1]!.json.id)).webhook_id).toBe(ids[1]);
      }
    });

    it('a signed payload without a value at id_path is rejected with 400 naming the path', async () => {
      const body = JSON.stringify({ meta: { kind: 'order.shipped' } });
      const res = await postLegacySha1(body);
      expect(res.status).toBe(400);
      expect(res.json.error).toEqual({
        code: 'missing_id',
        message: 'generic-hmac payload has no string or number at meta.delivery.0 to deduplicate on',
      });
    });

    it('a signed body that is not JSON is rejected with 400 when the id is in the payload', async () => {
      const body = 'delivery=d-legacy-2';
      const res = await postLegacySha1(body);
      expect(res.status).toBe(400);
      expect(res.json.error.code).toBe('invalid_json');
    });
  });

  describe('a source without webhook ids', () => {
    const sign = (body: string) => createHmac('sha512', S.plain).update(body).digest('base64');

    it('gets the hash of the signed content as id, so a retried delivery stores once', async () => {
      const body = JSON.stringify({ order: 42, status: 'shipped' });
      const first = await post(`${gw.url}/api/webhooks/plain`, body, { 'x-signature': sign(body) });
      const retry = await post(`${gw.url}/api/webhooks/plain`, body, { 'x-signature': sign(body) });
      expect([first.json.status, retry.json.status]).toEqual(['accepted', 'duplicate']);
      const digest = createHash('sha256').update(body).digest('hex');
      expect((await row(first.json.id)).webhook_id).toBe(`sha256:${digest}`);
    });

    it('different content is a different event', async () => {
      const a = JSON.stringify({ order: 43 });
      const b = JSON.stringify({ order: 44 });
      const answers = [
        await post(`${gw.url}/api/webhooks/plain`, a, { 'x-signature': sign(a) }),
        await post(`${gw.url}/api/webhooks/plain`, b, { 'x-signature': sign(b) }),
      ];
      expect(answers.map((r) => r.json.status)).toEqual(['accepted', 'accepted']);
    });

    it('with a signed timestamp, the id covers the timestamp too: the same delivery retried is one event', async () => {
      const body = JSON.stringify({ event: 'ticket.created', ticket: 7 });
      const ts = String(nowSeconds());
      const headers = {
        'x-opsiq-signature': `sha256=${hexHmac(S.opsiq, `${body}${ts}/api/webhooks/opsiq`)}`,
        'x-opsiq-timestamp': ts,
        'x-opsiq-nonce': 'nonce-retried-delivery',
      };
      const first = await post(`${gw.url}/api/webhooks/opsiq`, body, headers);
      const retry = await post(`${gw.url}/api/webhooks/opsiq`, body, headers);
      expect([first.json.status, retry.json.status]).toEqual(['accepted', 'duplicate']);
      const digest = createHash('sha256').update(`${body}${ts}/api/webhooks/opsiq`).digest('hex');
      expect((await row(first.json.id)).webhook_id).toBe(`sha256:${digest}`);
    });
  });

  describe('basic auth', () => {
    const basic = (credentials: string) => `Basic ${Buffer.from(credentials).toString('base64')}`;

    it('accepts the configured user:password', async () => {
      const res = await post(`${gw.url}/api/webhooks/basic`, '{"n":1}', { authorization: basic(S.basic) });
      expect(res.json.status).toBe('accepted');
      expect((await row(res.json.id)).headers).not.toHaveProperty('authorization');
    });

    it('a wrong password is rejected with 401 and a Basic challenge', async () => {
      const res = await post(`${gw.url}/api/webhooks/basic`, '{"n":2}', { authorization: basic('hooks:wrong') });
      expect(res.status).toBe(401);
      expect(res.json.error.code).toBe('invalid_credentials');
      expect(res.headers.get('www-authenticate')).toBe('Basic realm="webhooks"');
    });

    // RFC 7617 leaves the charset to the client: OkHttp (Java/Kotlin senders) encodes ISO-8859-1,
    // curl sends UTF-8. Both are the configured password.
    it('a password with "ñ" is accepted in ISO-8859-1 (OkHttp) and in UTF-8 (curl)', async () => {
      const credentials = 'hooks:contraseña-muy-segura-42';
      for (const [n, encoding] of [
        [4, 'latin1'],
        [5, 'utf8'],
      ] as const) {
        const authorization = `Basic ${Buffer.from(credentials, encoding).toString('base64')}`;
        const res = await post(`${gw.url}/api/webhooks/basic-latin1`, `{"n":${n}}`, { authorization });
        expect(res.json.status, encoding).toBe('accepted');
      }
    });

    it('credentials that are not base64 are rejected', async () => {
      const res = await post(`${gw.url}/api/webhooks/basic`, '{"n":3}', { authorization: `Basic ${S.basic}` });
      expect(res.status).toBe(401);
    });
  });

  describe('API key', () => {
    it('accepts the key in its header, and never stores that header', async () => {
      const res = await post(`${gw.url}/api/webhooks/apikey`, '{"k":1}', { 'x-api-key': S.apiKey });
      expect(res.json.status).toBe('accepted');
      expect((await row(res.json.id)).headers).not.toHaveProperty('x-api-key');
    });

    it('accepts the key after its configured prefix', async () => {
      expect(
        (await post(`${gw.url}/api/webhooks/bearer-key`, '{"k":2}', { authorization: 'Bearer bearer-key-0123456789' }))
          .json.status,
      ).toBe('accepted');
      expect(
        (await post(`${gw.url}/api/webhooks/bearer-key`, '{"k":3}', { authorization: 'bearer-key-0123456789' })).status,
      ).toBe(401);
    });

    it('accepts the key in its query parameter', async () => {
      const res = await post(`${gw.url}/api/webhooks/apikey-query?token=${S.apiKeyQuery}`, '{"k":4}');
      expect(res.json.status).toBe('accepted');
    });

    it('a wrong key is rejected with 401 naming where the key was expected', async () => {
      const res = await post(`${gw.url}/api/webhooks/apikey`, '{"k":5}', { 'x-api-key': `${S.apiKey}x` });
      expect(res.status).toBe(401);
      expect(res.json.error).toEqual({ code: 'invalid_credentials', message: 'API key in x-api-key is not accepted' });
    });

    it('a query parameter key given twice is rejected, even when one copy is right', async () => {
      const res = await post(`${gw.url}/api/webhooks/apikey-query?token=${S.apiKeyQuery}&token=guess`, '{"k":6}');
      expect(res.status).toBe(401);
      expect(res.json.error.message).toBe('Query parameter token is given more than once');
    });

    it('a missing query parameter is rejected naming it', async () => {
      const res = await post(`${gw.url}/api/webhooks/apikey-query`, '{"k":7}', { 'x-api-key': S.apiKey });
      expect(res.status).toBe(401);
      expect(res.json.error).toEqual({ code: 'missing_signature', message: 'Required query parameter missing: token' });
    });
  });

  it('never writes a secret into the logs', () => {
    const everything = gw.logs.join('\n');
    for (const secret of [
      ...Object.values(S),
      'sha1-hook-secret-0123',
      'bearer-key-0123456789',
      Buffer.from(S.basic).toString('base64'),
    ]) {
      expect(everything).not.toContain(secret);
    }
    expect(gw.logs.length).toBeGreaterThan(10);
  });
});
