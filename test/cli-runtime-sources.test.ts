import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKeyring } from '../src/control/crypto';
import { inTurns, runCli, type CliRun } from './helpers/cli';
import { databaseKinds } from './helpers/database';
import { opsCall, SECRETS, startTestGateway, type TestGateway } from './helpers/gateway';

const SHOPIFY_SECRET = 'acme-runtime-shopify-secret-1';
const KEYCLOAK_SECRET = 'acme-runtime-keycloak-secret-1';
const STRIPE_SECRET = 'whsec_billing_runtime_secret_1';
const JWKS = { jwks_url: 'https://sso.example.com/realms/acme/protocol/openid-connect/certs', audience: 'gateway' };

// The local loop for sources created at runtime (ops API, UI, apply): `send` and `trigger` read
// the source's provider and options from the gateway with the ops token, and only need --secret,
// which the gateway never shows. A source that verifies with its sender's own key (Keycloak's
// realm JWTs) is refused with what to do instead, never with advice to pass a secret.
describe.each(databaseKinds())('send and trigger to sources created at runtime (%s)', { timeout: 240_000 }, (kind) => {
  let gw: TestGateway;
  const dir = mkdtempSync(join(tmpdir(), 'gw-cli-runtime-'));
  const withToken = { OPS_API_TOKEN: SECRETS.ops };
  const file = (name: string, value: object) => {
    const path = join(dir, `${name}.json`);
    writeFileSync(path, JSON.stringify(value));
    return path;
  };
  const cli = (args: string[], env: Record<string, string> = withToken) =>
    runCli([...args, '--url', gw.url], env, 90_000);
  const storedAs = async (run: CliRun) => {
    const id = Number(/^accepted: stored as event (\d+)/m.exec(run.stdout)?.[1]);
    return gw.query<{ source: string; topic: string }>('select source, topic from webhook_events where id = $1', [id]);
  };
  const noSecretShown = (...runs: CliRun[]) => {
    for (const run of runs)
      for (const secret of [SHOPIFY_SECRET, KEYCLOAK_SECRET, STRIPE_SECRET, SECRETS.ops])
        expect(run.stdout + run.stderr).not.toContain(secret);
  };

  beforeAll(async () => {
    const keyring = loadKeyring({ key: randomBytes(32).toString('base64') });
    gw = await startTestGateway(kind, { control: { keyring, refreshMs: 5000 } }, { role: 'web' });
    for (const entry of [
      { name: 'acme', provider: 'shopify', secrets: [SHOPIFY_SECRET] },
      // sha512: only a signer that read the source's options from the gateway is accepted.
      { name: 'kc-runtime', provider: 'keycloak', secrets: [KEYCLOAK_SECRET], algorithm: 'sha512' },
      { name: 'realm', provider: 'keycloak', ...JWKS },
      { name: 'billing', provider: 'stripe', secrets: [STRIPE_SECRET] },
    ]) {
      const created = await opsCall(gw, 'POST', '/api/sources', entry);
      expect(created.status, JSON.stringify(created.json)).toBe(201);
    }
  }, 120_000);
  afterAll(async () => {
    await gw?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('send reads the provider and options of a runtime source from the gateway: --secret is all it needs', async () => {
    const order = file('order', { id: 820982911946, total_price: '199.00' });
    const login = file('login', { uid: 'kc-runtime-1', type: 'access.LOGIN', realmName: 'acme' });
    const [shopify, keycloak, missing] = await inTurns([
      () => cli(['send', 'acme', '--file', order, '--secret', SHOPIFY_SECRET, '--topic', 'orders/paid']),
      () => cli(['send', 'kc-runtime', '--file', login, '--secret', KEYCLOAK_SECRET]),
      () => cli(['send', 'acme', '--file', order]),
    ]);
    expect(shopify.code, shopify.stderr).toBe(0);
    expect(shopify.stdout).toMatch(/^accepted: stored as event \d+ \(shopify → POST \/api\/webhooks\/acme\)/m);
    expect(await storedAs(shopify)).toEqual([{ source: 'acme', topic: 'orders/paid' }]);
    expect(keycloak.code, keycloak.stderr).toBe(0);
    expect(await storedAs(keycloak)).toEqual([{ source: 'kc-runtime', topic: 'LOGIN' }]);
    // Without --secret: exactly what to pass, and why the gateway cannot supply it.
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(
      'No secret for source "acme": it is a shopify source stored in the gateway\'s database, which never shows a secret: pass --secret',
    );
    noSecretShown(shopify, keycloak, missing);
  });

  it('without an ops token the error names --token and --secret; an unknown name is named as unknown to both', async () => {
    const order = file('order-2', { id: 2 });
    const [noToken, unknown] = await inTurns([
      () => cli(['send', 'acme', '--file', order], {}),
      () => cli(['send', 'acme-typo', '--file', order, '--secret', SHOPIFY_SECRET]),
    ]);
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toContain(
      'pass --token <ops token> (or set OPS_API_TOKEN) so its provider is read from the gateway, and --secret',
    );
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain(
      `Unknown source "acme-typo": neither GATEWAY_CONFIG here nor the gateway at ${gw.url} has it`,
    );
  });

  it('trigger sends a sample to a runtime source, and names it when no source is named like the provider', async () => {
    const [unnamed, named] = await inTurns([
      () => cli(['trigger', 'stripe', 'payment_intent.succeeded']),
      () => cli(['trigger', 'stripe', 'payment_intent.succeeded', '--source', 'billing', '--secret', STRIPE_SECRET]),
    ]);
    expect(unnamed.code).toBe(2);
    expect(unnamed.stderr).toContain('the gateway\'s stripe source is "billing": pass --source billing and --secret');
    expect(named.code, named.stderr).toBe(0);
    expect(await storedAs(named)).toEqual([{ source: 'billing', topic: 'payment_intent.succeeded' }]);
    noSecretShown(unnamed, named);
  });

  it('a source that verifies realm-signed JWTs is refused with what to do instead, never "pass --secret"', async () => {
    // The same source in a GATEWAY_CONFIG of this shell, for the path that needs no gateway.
    const config = join(dir, 'jwks.json');
    writeFileSync(config, JSON.stringify({ sources: [{ name: 'realm-file', provider: 'keycloak', ...JWKS }] }));
    const login = file('login-jwt', { uid: 'kc-jwt-1', type: 'access.LOGIN', realmName: 'acme' });
    const runs = await inTurns([
      () => cli(['send', 'realm', '--file', login]),
      () => cli(['send', 'realm', '--file', login, '--secret', 'anything-at-all-16b']),
      () => cli(['trigger', 'keycloak', 'LOGIN', '--source', 'realm']),
      () => cli(['send', 'realm-file', '--file', login], { GATEWAY_CONFIG: config }),
    ]);
    for (const [i, run] of runs.entries()) {
      const source = i === 3 ? 'realm-file' : 'realm';
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr).toContain(
        `Source "${source}" verifies JWTs signed with the Keycloak realm's private key (jwks_url), which only Keycloak holds, so no secret can sign for it here: trigger the event in Keycloak instead`,
      );
      expect(run.stderr).toContain('A --secret cannot help');
      expect(run.stderr).not.toMatch(/pass --secret/);
    }
    expect(await gw.query("select 1 from webhook_events where source in ('realm', 'realm-file')")).toEqual([]);
  });
});
