import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSourcesDocument } from '../src/config/file';
import { databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { post } from './helpers/signers';

// What the Keycloak extensions teams install really send (test/fixtures/keycloak/README.md says
// where each body comes from), signed as each sender signs, through the real server and worker
// down to the system_log row: every audited field lands where it belongs, for every format.
const fixture = (name: string) => readFileSync(new URL(`./fixtures/keycloak/${name}.json`, import.meta.url));

const P2_SECRET = 'p2-webhook-secret-7Hq2xLw9';
const P2_SHA1_SECRET = 'p2-legacy-sha1-secret-Rk4v';
const VYMALO_CREDENTIALS = 'keycloak:vymalo-basic-password-2Fz8';
// Latin-1 letters but no character beyond U+00FF: OkHttp can send it faithfully, as ISO-8859-1.
const VYMALO_LATIN1_CREDENTIALS = 'keycloak:mot-de-passe-très-sûr-çà-7Qw';

/** p2's HttpSenderEventListenerProvider.calculateHmacSha: hex HMAC of the body, HmacSHA256 or HmacSHA1. */
const p2Signature = (algorithm: 'sha256' | 'sha1', secret: string, body: Buffer) =>
  createHmac(algorithm, secret).update(body).digest('hex');
/** OkHttp's Credentials.basic(username, password), as vymalo's generated client sends it. */
const basic = (credentials: string) => `Basic ${Buffer.from(credentials, 'latin1').toString('base64')}`;

describe.each(databaseKinds())('Keycloak event formats on %s', (kind) => {
  let gw: TestGateway;
  beforeAll(async () => {
    const sources = parseSourcesDocument(
      {
        sources: [
          { name: 'kc-p2', provider: 'keycloak', secrets: [P2_SECRET] },
          { name: 'kc-p2-sha1', provider: 'keycloak', secrets: [P2_SHA1_SECRET], algorithm: 'sha1' },
          { name: 'kc-vymalo', provider: 'keycloak', secrets: [VYMALO_CREDENTIALS] },
          { name: 'kc-vymalo-latin1', provider: 'keycloak', secrets: [VYMALO_LATIN1_CREDENTIALS] },
        ],
      },
      {},
    );
    gw = await startTestGateway(kind, { sources });
  });
  afterAll(() => gw?.stop());

  interface AuditRow {
    event_type: string;
    realm: string | null;
    client_id: string | null;
    user_id: string | null;
    username: string | null;
    ip_address: string | null;
    error: string | null;
    occurred_at: string | Date;
    details: Record<string, unknown> | null;
  }
  const auditRow = async (eventId: number) => {
    const rows = await waitFor(
      async () => {
        const found = await gw.query<AuditRow>(
          'select event_type, realm, client_id, user_id, username, ip_address, error, occurred_at, details from system_log where source_event_id = $1',
          [eventId],
        );
        return found.length > 0 ? found : undefined;
      },
      20_000,
      `system_log row of event ${eventId}`,
    );
    const { occurred_at, ...row } = rows![0]!;
    return { ...row, occurred_at: new Date(occurred_at).getTime() };
  };
  const stored = async (eventId: number) =>
    (
      await gw.query<{ webhook_id: string; topic: string; account: string | null }>(
        'select webhook_id, topic, account from webhook_events where id = $1',
        [eventId],
      )
    )[0];

  describe('p2-inc/keycloak-events (ext-event-webhook)', () => {
    it('access.LOGIN signed with HmacSHA256: user, client, IP, username and realm land in system_log', async () => {
      const body = fixture('p2-access-login');
      const res = await post(`${gw.url}/api/webhooks/kc-p2`, body, {
        'x-keycloak-signature': p2Signature('sha256', P2_SECRET, body),
      });
      expect(res.json.status, JSON.stringify(res.json)).toBe('accepted');
      expect(await stored(res.json.id)).toEqual({
        webhook_id: '7c1f0d2e-5b8a-4e63-a1c9-0f4b2d6e8a35',
        topic: 'LOGIN',
        account: 'acme',
      });
      expect(await auditRow(res.json.id)).toEqual({
        event_type: 'LOGIN',
        realm: 'acme',
        client_id: 'account-console',
        user_id: '8a6c3d3e-7f41-4c2a-b0f2-5d6e2c1b9f01',
        username: 'alice',
        ip_address: '203.0.113.24',
        error: null,
        occurred_at: 1718003521094,
        details: expect.objectContaining({ sessionId: 'b0e1f3a6-2c7d-4e9a-8f15-77c2d1e0a9b3' }),
      });
    });

    it('access.LOGIN_ERROR keeps its error', async () => {
      const body = fixture('p2-access-login-error');
      const res = await post(`${gw.url}/api/webhooks/kc-p2`, body, {
        'x-keycloak-signature': p2Signature('sha256', P2_SECRET, body),
      });
      expect(await auditRow(res.json.id)).toMatchObject({
        event_type: 'LOGIN_ERROR',
        error: 'invalid_user_credentials',
        user_id: '8a6c3d3e-7f41-4c2a-b0f2-5d6e2c1b9f01',
        username: 'alice',
        ip_address: '198.51.100.77',
        occurred_at: 1718003598410,
      });
    });

    it('admin.USER-CREATE records the acting admin, the resource and the admin realm', async () => {
      const body = fixture('p2-admin-user-create');
      const res = await post(`${gw.url}/api/webhooks/kc-p2`, body, {
        'x-keycloak-signature': p2Signature('sha256', P2_SECRET, body),
      });
      expect(await stored(res.json.id)).toMatchObject({ topic: 'admin.USER-CREATE', account: 'acme' });
      expect(await auditRow(res.json.id)).toEqual({
        event_type: 'ADMIN_CREATE',
        realm: 'acme',
        client_id: 'security-admin-console',
        user_id: '5e4d3c2b-1a09-4f8e-9d7c-6b5a4f3e2d1c',
        username: 'admin',
        ip_address: '192.0.2.10',
        error: null,
        occurred_at: 1718003650233,
        details: {
          resourceType: 'USER',
          resourcePath: 'users/3c2b1a09-8f7e-4d6c-9b5a-4f3e2d1c0b9a',
          authRealm: 'master',
          details: { userId: '3c2b1a09-8f7e-4d6c-9b5a-4f3e2d1c0b9a', username: 'jdoe' },
        },
      });
    });

    it('HmacSHA1 signatures verify on a source with algorithm: sha1', async () => {
      const body = fixture('p2-access-login');
      const res = await post(`${gw.url}/api/webhooks/kc-p2-sha1`, body, {
        'x-keycloak-signature': p2Signature('sha1', P2_SHA1_SECRET, body),
      });
      expect(res.json.status, JSON.stringify(res.json)).toBe('accepted');
      expect(await auditRow(res.json.id)).toMatchObject({
        event_type: 'LOGIN',
        user_id: '8a6c3d3e-7f41-4c2a-b0f2-5d6e2c1b9f01',
      });
    });

    it('a SHA-1 signature on a SHA-256 source (and the reverse) is refused', async () => {
      const body = fixture('p2-access-login-error');
      const onSha256 = await post(`${gw.url}/api/webhooks/kc-p2`, body, {
        'x-keycloak-signature': p2Signature('sha1', P2_SECRET, body),
      });
      const onSha1 = await post(`${gw.url}/api/webhooks/kc-p2-sha1`, body, {
        'x-keycloak-signature': p2Signature('sha256', P2_SHA1_SECRET, body),
      });
      expect([onSha256.status, onSha1.status]).toEqual([401, 401]);
      expect(onSha256.json.error.code).toBe('invalid_signature');
    });
  });

  describe('vymalo/keycloak-webhook (webhook-http)', () => {
    // The generated client posts to WEBHOOK_HTTP_BASE_PATH + "/".
    const url = () => `${gw.url}/api/webhooks/kc-vymalo/`;

    it('LOGIN with HTTP Basic, at the base path plus "/": flat fields land in system_log', async () => {
      const body = fixture('vymalo-login');
      const res = await post(url(), body, { authorization: basic(VYMALO_CREDENTIALS) });
      expect(res.json.status, JSON.stringify(res.json)).toBe('accepted');
      expect(await stored(res.json.id)).toEqual({
        webhook_id: '2a3b4c5d-6e7f-4081-9a2b-3c4d5e6f7a8b',
        topic: 'LOGIN',
        account: '0f3e6c52-8a2d-4a34-9d0b-2b1f8f6c9a77',
      });
      expect(await auditRow(res.json.id)).toEqual({
        event_type: 'LOGIN',
        // vymalo's WebhookRequest has no realmName: the realm id is what there is.
        realm: '0f3e6c52-8a2d-4a34-9d0b-2b1f8f6c9a77',
        client_id: 'web-shop',
        user_id: '8a6c3d3e-7f41-4c2a-b0f2-5d6e2c1b9f01',
        username: 'alice',
        ip_address: '203.0.113.24',
        error: null,
        occurred_at: 1718004012345,
        details: expect.objectContaining({ sessionId: 'd1c2b3a4-9e8f-4d7c-b6a5-4e3d2c1b0a9f' }),
      });
    });

    it('LOGIN_ERROR records the error and the username that was tried', async () => {
      const body = fixture('vymalo-login-error');
      const res = await post(url(), body, { authorization: basic(VYMALO_CREDENTIALS) });
      expect(await auditRow(res.json.id)).toMatchObject({
        event_type: 'LOGIN_ERROR',
        error: 'user_not_found',
        user_id: null,
        username: 'mallory',
        ip_address: '198.51.100.77',
      });
    });

    it('USER-CREATE (unprefixed admin type) is an admin operation by the flat actor', async () => {
      const body = fixture('vymalo-admin-user-create');
      const res = await post(url(), body, { authorization: basic(VYMALO_CREDENTIALS) });
      expect(await stored(res.json.id)).toMatchObject({ topic: 'admin.USER-CREATE' });
      expect(await auditRow(res.json.id)).toMatchObject({
        event_type: 'ADMIN_CREATE',
        client_id: 'security-admin-console',
        user_id: '5e4d3c2b-1a09-4f8e-9d7c-6b5a4f3e2d1c',
        username: null,
        ip_address: '192.0.2.10',
        details: { resourceType: 'USER', resourcePath: 'users/3c2b1a09-8f7e-4d6c-9b5a-4f3e2d1c0b9a' },
      });
    });

    // OkHttp's Credentials.basic encodes "user:password" as ISO-8859-1 unless told otherwise
    // (square/okhttp okhttp/src/main/kotlin/okhttp3/Credentials.kt, commit 7cee839), and the client
    // vymalo generates (generatorName "kotlin", keycloak-webhook-provider-http/build.gradle.kts,
    // commit ffe6826) calls it without a charset (OpenAPITools/openapi-generator kotlin-client/
    // libraries/jvm-okhttp/infrastructure/ApiClient.kt.mustache, updateAuthParams, commit 0211f7b). A password with "è" arrives as the
    // byte E8, not the UTF-8 C3 A8: it was refused although it is the configured password.
    it('a password with Latin-1 letters, encoded as OkHttp encodes it (ISO-8859-1), is accepted', async () => {
      const body = fixture('vymalo-login');
      const res = await post(`${gw.url}/api/webhooks/kc-vymalo-latin1/`, body, {
        authorization: basic(VYMALO_LATIN1_CREDENTIALS),
      });
      expect(res.json.status, JSON.stringify(res.json)).toBe('accepted');
    });

    it('the same password in UTF-8 (as curl sends what it is given) is accepted too', async () => {
      const body = fixture('vymalo-login-error');
      const utf8 = `Basic ${Buffer.from(VYMALO_LATIN1_CREDENTIALS, 'utf8').toString('base64')}`;
      const res = await post(`${gw.url}/api/webhooks/kc-vymalo-latin1/`, body, { authorization: utf8 });
      expect(res.json.status, JSON.stringify(res.json)).toBe('accepted');
    });

    it('a wrong Basic password is refused and nothing is stored', async () => {
      const body = fixture('vymalo-login');
      const res = await post(url(), body, { authorization: basic('keycloak:not-the-password-at-all') });
      expect(res.status).toBe(401);
      expect(res.json.error.code).toBe('invalid_credentials');
    });
  });

  describe("Keycloak's own Event / AdminEvent JSON", () => {
    const auth = { authorization: `Bearer ${SECRETS.keycloak}` };

    it('a LOGOUT event: flat fields, username from details', async () => {
      const res = await post(`${gw.url}/api/keycloak/events`, fixture('keycloak-event-logout'), auth);
      expect(await stored(res.json.id)).toEqual({
        webhook_id: '5d6e7f80-91a2-43b4-c5d6-e7f8a9b0c1d2',
        topic: 'LOGOUT',
        account: 'acme',
      });
      expect(await auditRow(res.json.id)).toMatchObject({
        event_type: 'LOGOUT',
        realm: 'acme',
        client_id: 'account-console',
        user_id: '8a6c3d3e-7f41-4c2a-b0f2-5d6e2c1b9f01',
        username: 'alice',
        ip_address: '203.0.113.24',
        occurred_at: 1718004500000,
      });
    });

    it('an AdminEvent: operationType and resourceType, the actor under authDetails', async () => {
      const res = await post(`${gw.url}/api/keycloak/events`, fixture('keycloak-admin-event-client-update'), auth);
      expect(await stored(res.json.id)).toMatchObject({ topic: 'admin.CLIENT-UPDATE', account: 'acme' });
      expect(await auditRow(res.json.id)).toEqual({
        event_type: 'ADMIN_UPDATE',
        realm: 'acme',
        client_id: 'admin-cli',
        user_id: '5e4d3c2b-1a09-4f8e-9d7c-6b5a4f3e2d1c',
        username: null,
        ip_address: '10.0.0.5',
        error: null,
        occurred_at: 1718004600000,
        details: {
          resourceType: 'CLIENT',
          resourcePath: 'clients/7f8091a2-b3c4-45d6-e7f8-a9b0c1d2e3f4',
          authRealm: 'master',
        },
      });
    });
  });
});
