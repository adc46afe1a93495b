import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../src/config/env';
import { SECRETS, startTestGateway, type TestGateway } from './helpers/gateway';
import { githubSignature } from './helpers/provider-signers';
import { post, shopifyHeaders } from './helpers/signers';

// Sources as an operator writes them: a YAML GATEWAY_CONFIG with env: secrets, next to the
// env-only sources of the foundation.
const CONFIG = `
sources:
  - name: hub
    provider: github
    secrets: [env:HUB_SECRET]
  - name: rotating
    provider: github
    secrets:
      - { value: old-github-secret-01, not_after: "2020-01-01T00:00:00Z" }
      - current-github-secret-01
      - { value: next-github-secret-01, not_after: "2099-01-01T00:00:00Z" }
  - name: expiring
    provider: github
    secrets:
      - { value: expiring-github-secret-01, not_after: "2099-06-01T12:00:00Z" }
  - name: shop-eu
    provider: shopify
    secrets: [eu-shop-secret]
  - name: keycloak
    provider: keycloak
    secrets: [env:KC_FILE_SECRET]
`;

describe('sources and routing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gw-sources-'));
  let gw: TestGateway;
  beforeAll(async () => {
    writeFileSync(join(dir, 'gateway.yaml'), CONFIG);
    const { sources } = loadConfig({
      GATEWAY_CONFIG: join(dir, 'gateway.yaml'),
      HUB_SECRET: 'hub-secret-from-env-01',
      KC_FILE_SECRET: 'kc-secret-from-file-01',
    });
    gw = await startTestGateway('pglite', {
      sources,
      secrets: { shopify: [SECRETS.shopify], easypost: [], keycloak: [SECRETS.keycloak] },
    });
  });
  afterAll(async () => {
    await gw?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const github = (path: string, secret: string, delivery: string, body = '{"action":"created"}') =>
    post(`${gw.url}${path}`, body, {
      'x-hub-signature-256': githubSignature(secret, body),
      'x-github-event': 'star',
      'x-github-delivery': delivery,
    });
  const stored = async (source: string) =>
    Number(
      (await gw.query<{ n: string }>('select count(*) as n from webhook_events where source = $1', [source]))[0]!.n,
    );

  it('a config-file source is served at /api/webhooks/<name> with its env: secret resolved', async () => {
    const res = await github('/api/webhooks/hub', 'hub-secret-from-env-01', 'd-hub-1');
    expect(res.json.status).toBe('accepted');
    const [row] = await gw.query<{ source: string }>('select source from webhook_events where id = $1', [res.json.id]);
    expect(row!.source).toBe('hub');
  });

  it('the env-only sources keep their paths next to a config file', async () => {
    const body = '{"id":1}';
    const res = await post(
      `${gw.url}/api/webhooks/shopify/orders/create`,
      body,
      shopifyHeaders(SECRETS.shopify, body, 'env-shop-1'),
    );
    expect(res.json.status).toBe('accepted');
  });

  it('a provider that routes by sub-path gets /api/webhooks/<name>/* for a config-file source too', async () => {
    const body = '{"id":2}';
    const { 'x-shopify-topic': _omit, ...headers } = shopifyHeaders('eu-shop-secret', body, 'eu-1');
    const res = await post(`${gw.url}/api/webhooks/shop-eu/orders/paid`, body, headers);
    expect(res.json.status).toBe('accepted');
    const [row] = await gw.query<{ source: string; topic: string }>(
      'select source, topic from webhook_events where id = $1',
      [res.json.id],
    );
    expect(row).toEqual({ source: 'shop-eu', topic: 'orders/paid' });
  });

  it('a provider without sub-paths answers 404 below its path', async () => {
    const res = await github('/api/webhooks/hub/extra', 'hub-secret-from-env-01', 'd-hub-sub');
    expect(res.status).toBe(404);
  });

  it("a config-file source named like an env source replaces it, at the env source's paths too", async () => {
    const body = '{"uid":"kc-file-1","type":"LOGIN"}';
    const envSecret = await post(`${gw.url}/api/keycloak/events`, body, {
      authorization: `Bearer ${SECRETS.keycloak}`,
    });
    expect(envSecret.status).toBe(401);
    const fileSecret = await post(`${gw.url}/api/keycloak/events`, body, {
      authorization: 'Bearer kc-secret-from-file-01',
    });
    expect(fileSecret.json.status).toBe('accepted');
    const other = await post(`${gw.url}/api/webhooks/keycloak`, body, {
      authorization: 'Bearer kc-secret-from-file-01',
    });
    expect(other.json.status).toBe('duplicate');
  });

  it('an unknown source answers 404 as JSON and stores nothing', async () => {
    const before = Number((await gw.query<{ n: string }>('select count(*) as n from webhook_events'))[0]!.n);
    const res = await github('/api/webhooks/nobody', 'hub-secret-from-env-01', 'd-nobody');
    expect(res.status).toBe(404);
    expect(res.json.error.code).toBe('not_found');
    expect(Number((await gw.query<{ n: string }>('select count(*) as n from webhook_events'))[0]!.n)).toBe(before);
  });

  it('a wrong method on a config-file source answers 405 with Allow: POST', async () => {
    const res = await fetch(`${gw.url}/api/webhooks/hub`, { method: 'GET' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('method_not_allowed');
  });

  it('a source with no secret configured rejects everything with 503 source_not_configured', async () => {
    const res = await post(`${gw.url}/api/webhooks/easypost`, '{"id":"evt_1"}', {
      'x-hmac-signature': 'hmac-sha256-hex=00',
    });
    expect(res.status).toBe(503);
    expect(res.json.error.code).toBe('source_not_configured');
    expect(await stored('easypost')).toBe(0);
  });

  describe('rotation', () => {
    it('every current secret verifies', async () => {
      expect((await github('/api/webhooks/rotating', 'current-github-secret-01', 'd-rot-1')).json.status).toBe(
        'accepted',
      );
      expect((await github('/api/webhooks/rotating', 'next-github-secret-01', 'd-rot-2')).json.status).toBe('accepted');
    });

    it('a secret past its not_after no longer verifies', async () => {
      const res = await github('/api/webhooks/rotating', 'old-github-secret-01', 'd-rot-old');
      expect(res.status).toBe(401);
      expect(res.json.error.code).toBe('invalid_signature');
    });

    it('a running gateway stops accepting a secret when its not_after passes', async () => {
      vi.useFakeTimers({ toFake: ['Date'], now: new Date('2099-06-01T11:59:59Z') });
      expect((await github('/api/webhooks/expiring', 'expiring-github-secret-01', 'd-exp-1')).json.status).toBe(
        'accepted',
      );
      vi.setSystemTime(new Date('2099-06-01T12:00:00Z'));
      const res = await github('/api/webhooks/expiring', 'expiring-github-secret-01', 'd-exp-2');
      expect(res.status).toBe(401);
      expect(res.json.error).toEqual({
        code: 'secrets_expired',
        message: 'Every secret of source expiring is past its not_after; sign with a current secret',
      });
      expect(await stored('expiring')).toBe(1);
    });
  });
});
