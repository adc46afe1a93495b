import { createHash, generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSourcesDocument } from '../src/config/file';
import { startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { post } from './helpers/signers';

// p2-inc/keycloak-events' bearer mode (WebhookJwtSigner): a JWT signed with the realm's key, checked
// against the realm's JWKS, served here by a real HTTP server. Tokens are built with node:crypto
// from p2's claim set (iss, aud, iat, exp, jti, request_body_sha256), never with the gateway's code.
const ISSUER = 'https://sso.acme.example/realms/acme';
const AUDIENCE = 'https://gateway.acme.example';

const realmKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
const strangerKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = (key: KeyObject, kid: string) => ({ ...key.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' });

const b64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
function jwt(claims: Record<string, unknown>, options: { key?: KeyObject; kid?: string; alg?: string } = {}) {
  const input = `${b64url({ alg: options.alg ?? 'RS256', typ: 'JWT', kid: options.kid ?? 'realm-key-1' })}.${b64url(claims)}`;
  return `${input}.${sign('sha256', Buffer.from(input), options.key ?? realmKey.privateKey).toString('base64url')}`;
}
/** The claims p2 mints for one send of `body`. */
const p2Claims = (body: Buffer, overrides: Record<string, unknown> = {}) => {
  const now = Math.floor(Date.now() / 1000);
  return {
    jti: randomUUID(),
    iss: ISSUER,
    aud: AUDIENCE,
    iat: now,
    exp: now + 300,
    request_body_sha256: createHash('sha256').update(body).digest('hex'),
    ...overrides,
  };
};

/** A JWKS endpoint; `respond` can be swapped per test, and every hit is counted. */
function jwksServer() {
  let hits = 0;
  let respond = (res: http.ServerResponse) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [jwk(realmKey.publicKey, 'realm-key-1')] }));
  };
  const server = http.createServer((_req, res) => {
    hits += 1;
    respond(res);
  });
  return {
    server,
    hits: () => hits,
    set: (next: typeof respond) => (respond = next),
    url: () => `http://127.0.0.1:${(server.address() as AddressInfo).port}/realms/acme/protocol/openid-connect/certs`,
  };
}

describe('Keycloak webhook JWTs (p2 bearer mode)', () => {
  const realm = jwksServer();
  const broken = jwksServer();
  const huge = jwksServer();
  let gw: TestGateway;
  beforeAll(async () => {
    for (const s of [realm, broken, huge])
      await new Promise<void>((resolve) => s.server.listen(0, '127.0.0.1', resolve));
    broken.set((res) => {
      res.statusCode = 500;
      res.end('upstream error');
    });
    huge.set((res) => {
      res.setHeader('content-type', 'application/json');
      res.write('{"keys":[');
      res.end(`${'{"kty":"oct","k":"AA"},'.repeat(20_000)}{"kty":"oct","k":"AA"}]}`);
    });
    const sources = parseSourcesDocument(
      {
        sources: [
          // No secret at all: the realm's keys are the only credential.
          { name: 'kc-jwt', provider: 'keycloak', jwks_url: realm.url(), audience: AUDIENCE, issuer: ISSUER },
          { name: 'kc-jwks-down', provider: 'keycloak', jwks_url: broken.url(), audience: AUDIENCE },
          { name: 'kc-jwks-huge', provider: 'keycloak', jwks_url: huge.url(), audience: AUDIENCE },
        ],
      },
      {},
    );
    gw = await startTestGateway('pglite', { sources });
  });
  afterAll(async () => {
    await gw?.stop();
    for (const s of [realm, broken, huge]) await new Promise((resolve) => s.server.close(resolve));
  });

  const fixture = readFileSync(new URL('./fixtures/keycloak/p2-admin-user-create.json', import.meta.url));
  /** The fixture with a fresh uid, so each test stores its own event. */
  const event = () => Buffer.from(fixture.toString().replace(/"uid":"[^"]+"/, `"uid":"${randomUUID()}"`));
  const send = (body: Buffer, token: string, source = 'kc-jwt') =>
    post(`${gw.url}/api/webhooks/${source}`, body, { authorization: `Bearer ${token}` });

  it('a token signed by the realm key for this body is accepted and audited', async () => {
    const body = event();
    const res = await send(body, jwt(p2Claims(body)));
    expect(res.json.status, JSON.stringify(res.json)).toBe('accepted');
    const row = await waitFor(
      async () =>
        (
          await gw.query<{ event_type: string; user_id: string }>(
            'select event_type, user_id from system_log where source_event_id = $1',
            [res.json.id],
          )
        )[0],
      20_000,
      'audit row',
    );
    expect(row).toEqual({ event_type: 'ADMIN_CREATE', user_id: '5e4d3c2b-1a09-4f8e-9d7c-6b5a4f3e2d1c' });
  });

  it('the JWKS is fetched once and cached across requests', async () => {
    const before = realm.hits();
    for (let i = 0; i < 3; i++) {
      const body = event();
      expect((await send(body, jwt(p2Claims(body)))).json.status).toBe('accepted');
    }
    expect(realm.hits() - before).toBe(0);
    expect(realm.hits()).toBe(1);
  });

  const refused: [string, (body: Buffer) => string, string][] = [
    [
      'a token for another body (request_body_sha256)',
      (body) => jwt(p2Claims(Buffer.concat([body, Buffer.from(' ')]))),
      "Bearer token's request_body_sha256 does not match the request body",
    ],
    [
      'a token without request_body_sha256',
      (body) => jwt(p2Claims(body, { request_body_sha256: undefined })),
      'claim request_body_sha256 is missing',
    ],
    [
      'a token for another audience',
      (body) => jwt(p2Claims(body, { aud: 'https://someone-else.example' })),
      'claim aud is not accepted',
    ],
    [
      'a token from another issuer',
      (body) => jwt(p2Claims(body, { iss: 'https://sso.acme.example/realms/other' })),
      'claim iss is not accepted',
    ],
    [
      'an expired token',
      (body) =>
        jwt(p2Claims(body, { iat: Math.floor(Date.now() / 1000) - 900, exp: Math.floor(Date.now() / 1000) - 600 })),
      'it has expired (exp)',
    ],
    ['a token without exp', (body) => jwt(p2Claims(body, { exp: undefined })), 'claim exp is missing'],
    [
      'a token signed by a key the realm does not publish',
      (body) => jwt(p2Claims(body), { key: strangerKey.privateKey }),
      'its signature does not verify',
    ],
    [
      'a token naming an unknown key id',
      (body) => jwt(p2Claims(body), { kid: 'not-a-realm-key' }),
      "no key of the realm's JWKS matches its kid/alg",
    ],
    [
      'an unsigned token (alg none)',
      (body) => `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(p2Claims(body))}.`,
      'its alg is not one of',
    ],
    ['a malformed token', () => 'not.a.jwt', 'it is not a valid signed JWT'],
  ];

  it.each(refused)('%s is refused with 401 invalid_token and not stored', async (_name, token, message) => {
    const body = event();
    const before = Number((await gw.query<{ n: string }>('select count(*) as n from webhook_events'))[0]!.n);
    const res = await send(body, token(body));
    expect(res.status).toBe(401);
    expect(res.json.error.code).toBe('invalid_token');
    expect(res.json.error.message).toContain(message);
    expect(Number((await gw.query<{ n: string }>('select count(*) as n from webhook_events'))[0]!.n)).toBe(before);
  });

  it('a JWKS that cannot be read answers 503 so Keycloak retries, naming the JWKS', async () => {
    const body = event();
    const res = await send(body, jwt(p2Claims(body)), 'kc-jwks-down');
    expect(res.status).toBe(503);
    expect(res.json.error.code).toBe('jwks_unavailable');
    expect(res.headers.get('retry-after')).toBe('30');
  });

  it('a JWKS response beyond the size bound is not buffered: 503', async () => {
    const body = event();
    const res = await send(body, jwt(p2Claims(body)), 'kc-jwks-huge');
    expect(res.status).toBe(503);
    expect(res.json.error.code).toBe('jwks_unavailable');
    expect(gw.logs.join('')).toContain('JWKS response is larger than');
  });

  it('the token never appears in the log', async () => {
    const body = event();
    const token = jwt(p2Claims(body, { aud: 'wrong' }));
    await send(body, token);
    expect(gw.logs.join('')).not.toContain(token.split('.')[2]!);
  });
});
