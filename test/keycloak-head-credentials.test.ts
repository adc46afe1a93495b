import { createHmac, randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseSourcesDocument } from '../src/config/file';
import { databaseKinds } from './helpers/database';
import { startTestGateway, type TestGateway } from './helpers/gateway';
import { headFirstClient } from './helpers/head-first';
import { post } from './helpers/signers';

// Keycloak's Basic and bearer-secret credentials are wholly in the headers: a request with a wrong
// or missing one is refused before its body is read. The HMAC (X-Keycloak-Signature) and p2's JWT
// are bound to the body and are checked once it has arrived. Requests go over raw sockets, so a
// test can send the head, look at the answer, and only then send (or never send) the body.

const BASIC_SECRET = 'keycloak:vymalo-basic-password-2Fz8';
const BEARER_SECRET = 'kc-bearer-secret-9Jx4pQ2wLm';
const MAX_BODY = 64 * 1024;

/** OkHttp's Credentials.basic, as vymalo's client sends it. */
const basic = (credentials: string) => `Basic ${Buffer.from(credentials, 'latin1').toString('base64')}`;
/** p2's hex HMAC-SHA256 of the body. */
const hmac = (secret: string, body: Buffer) => createHmac('sha256', secret).update(body).digest('hex');
/** A Keycloak LOGIN event with a fresh id, so each accepted request stores its own event. */
const loginEvent = () => {
  const id = randomUUID();
  const body = Buffer.from(JSON.stringify({ id, type: 'LOGIN', realmId: 'acme', clientId: 'web', time: Date.now() }));
  return { id, body };
};

describe.each(databaseKinds())('Keycloak header credentials before the body on %s', (kind) => {
  let gw: TestGateway;
  beforeAll(async () => {
    const sources = parseSourcesDocument(
      {
        sources: [
          { name: 'kc', provider: 'keycloak', secrets: [BASIC_SECRET, BEARER_SECRET] },
          // p2's bearer mode: a bearer token is a JWT bound to the body. Its JWKS is never reached
          // here (nothing listens on port 9): no request in this file gets that far.
          {
            name: 'kc-jwt',
            provider: 'keycloak',
            secrets: [BASIC_SECRET],
            jwks_url: 'http://127.0.0.1:9/certs',
            audience: 'gateway',
          },
        ],
      },
      {},
    );
    gw = await startTestGateway(kind, {
      sources,
      maxBodyBytes: MAX_BODY,
      ingestBodyBudgetBytes: 4 * MAX_BODY,
      timeouts: { headersMs: 5000, requestMs: 5000 },
    });
  });
  afterEach(() => closeAll());
  afterAll(() => gw?.stop());

  const { held, heldIs, sendHead, answered, closeAll } = headFirstClient(() => gw.url);

  it('a wrong or missing Basic or bearer credential is answered 401 before any of the body is sent', async () => {
    const { body } = loginEvent();
    const cases: [string, Record<string, string>, string, string][] = [
      [
        '/api/webhooks/kc',
        { authorization: basic('keycloak:wrong-password-000000') },
        'invalid_credentials',
        'Basic credentials in authorization are not accepted',
      ],
      [
        '/api/webhooks/kc/',
        { authorization: basic('keycloak:wrong-password-000000') },
        'invalid_credentials',
        'Basic credentials in authorization are not accepted',
      ],
      [
        '/api/webhooks/kc',
        { authorization: 'Bearer not-the-bearer-secret' },
        'invalid_credentials',
        'Bearer token in authorization is not accepted',
      ],
      [
        '/api/webhooks/kc',
        { authorization: 'Token abc' },
        'invalid_credentials',
        'authorization must be Bearer or Basic',
      ],
      ['/api/webhooks/kc', {}, 'missing_signature', 'Required headers missing: authorization'],
      // A right HMAC does not excuse a wrong header credential: that one is checked first.
      [
        '/api/webhooks/kc',
        { authorization: basic('keycloak:wrong-password-000000'), 'x-keycloak-signature': hmac(BASIC_SECRET, body) },
        'invalid_credentials',
        'Basic credentials in authorization are not accepted',
      ],
      // With jwks_url, Basic is still a header credential.
      [
        '/api/webhooks/kc-jwt',
        { authorization: basic('keycloak:wrong-password-000000') },
        'invalid_credentials',
        'Basic credentials in authorization are not accepted',
      ],
    ];
    for (const [target, headers, code, message] of cases) {
      const request = sendHead(target, headers, body.length);
      const answer = await answered(request, `the answer to ${target} ${JSON.stringify(Object.keys(headers))}`);
      expect(answer, `${target} ${code}`).toEqual({ status: 401, json: { error: { code, message } } });
    }
    // None of them was admitted to read a body.
    expect(await held()).toBe(0);
  });

  it('the right Basic credential with its HMAC goes on to read the body: 200, stored', async () => {
    const { id, body } = loginEvent();
    const request = sendHead(
      '/api/webhooks/kc/',
      { authorization: basic(BASIC_SECRET), 'x-keycloak-signature': hmac(BASIC_SECRET, body) },
      body.length,
    );
    // Admitted: its declared length is taken from the budget while the body is awaited.
    await heldIs(body.length);
    request.socket.write(body);
    const answer = await answered(request, 'the answer once the body is sent');
    expect(answer.status).toBe(200);
    expect(answer.json.status).toBe('accepted');
    const rows = await gw.query<{ webhook_id: string; body: Buffer | Uint8Array }>(
      'select webhook_id, body from webhook_events where id = $1',
      [answer.json.id],
    );
    expect(rows.map((r) => ({ webhook_id: r.webhook_id, body: Buffer.from(r.body).toString() }))).toEqual([
      { webhook_id: id, body: body.toString() },
    ]);
    await heldIs(0);
  });

  it('the right bearer secret is accepted and stored', async () => {
    const { id, body } = loginEvent();
    const res = await post(`${gw.url}/api/webhooks/kc`, body, { authorization: `Bearer ${BEARER_SECRET}` });
    expect(res.status).toBe(200);
    expect(res.json.status).toBe('accepted');
    expect(await gw.query('select webhook_id from webhook_events where id = $1', [res.json.id])).toEqual([
      { webhook_id: id },
    ]);
  });

  it('a right Basic credential with a wrong HMAC is still refused once the body is read', async () => {
    const { id, body } = loginEvent();
    const request = sendHead(
      '/api/webhooks/kc',
      { authorization: basic(BASIC_SECRET), 'x-keycloak-signature': hmac('some-other-secret-00000000', body) },
      body.length,
    );
    await heldIs(body.length);
    request.socket.write(body);
    const answer = await answered(request, 'the refusal');
    expect(answer.status).toBe(401);
    expect(answer.json.error?.code).toBe('invalid_signature');
    expect(await gw.query('select id from webhook_events where webhook_id = $1', [id])).toEqual([]);
  });

  it('an HMAC alone, or a JWT, waits for the body it is bound to', async () => {
    const { body } = loginEvent();
    for (const [target, headers] of [
      ['/api/webhooks/kc', { 'x-keycloak-signature': hmac(BASIC_SECRET, body) }],
      ['/api/webhooks/kc-jwt', { authorization: 'Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln' }],
    ] as const) {
      const request = sendHead(target, headers, body.length);
      // Not refused from the head: admitted, its body awaited.
      await heldIs(body.length);
      expect(request.answer(), target).toBe('');
      request.socket.destroy();
      await heldIs(0);
    }
  });
});
