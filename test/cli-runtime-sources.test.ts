import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKeyring } from '../src/control/crypto';
import { inTurns, runCli, spawnCli, type CliProcess, type CliRun } from './helpers/cli';
import { databaseKinds } from './helpers/database';
import { opsCall, SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { startReceiver } from './helpers/receiver';
import { post, shopifyHeaders } from './helpers/signers';

const SHOPIFY_SECRET = 'acme-runtime-shopify-secret-1';
const KEYCLOAK_SECRET = 'acme-runtime-keycloak-secret-1';
const STRIPE_SECRET = 'whsec_billing_runtime_secret_1';
const JWKS = { jwks_url: 'https://sso.example.com/realms/acme/protocol/openid-connect/certs', audience: 'gateway' };

// The local loop for sources created at runtime (ops API, UI, apply): `send`, `trigger` and `listen` read
// the source's provider and options from the gateway with the ops token, and only need --secret,
// which the gateway never shows. A source that verifies with its sender's own key (Keycloak's
// realm JWTs) is refused with what to do instead, never with advice to pass a secret.
describe.each(databaseKinds())('the local loop with sources created at runtime (%s)', { timeout: 240_000 }, (kind) => {
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

  it('listen signs a runtime source with its options from the gateway, and says why another is forwarded unsigned', async () => {
    const app = await startReceiver();
    const listens: CliProcess[] = [];
    try {
      // kc-runtime verifies sha512: a forward signed without its options (sha256) is refused by an
      // app that verifies like the gateway. acme has no secret here, and the gateway never shows one.
      for (const extra of [
        ['--source', 'kc-runtime', '--secret', KEYCLOAK_SECRET],
        ['--source', 'acme'],
      ])
        listens.push(spawnCli(['listen', '--forward-to', app.url, '--url', gw.url, ...extra], withToken));
      const [keycloak, shopify] = listens as [CliProcess, CliProcess];
      await waitFor(() => listens.every((l) => l.stderr().includes('Forwarding events')), 90_000, 'listen connected');

      const login = JSON.stringify({ uid: 'kc-listen-1', type: 'access.LOGIN', realmName: 'acme' });
      const sha512 = createHmac('sha512', KEYCLOAK_SECRET).update(login).digest('hex');
      const ingested = await post(`${gw.url}/api/webhooks/kc-runtime`, login, { 'x-keycloak-signature': sha512 });
      expect(ingested.status, ingested.text).toBe(200);
      await waitFor(() => app.deliveries.length === 1, 30_000, 'the keycloak event forwarded');
      expect(app.deliveries[0]!.bytes.toString()).toBe(login);
      expect(app.deliveries[0]!.headers['x-keycloak-signature'], keycloak.stderr() + keycloak.stdout()).toBe(sha512);
      await waitFor(
        () => /#\d+ {2}kc-runtime {2}LOGIN {2}→ 200 OK {2}\d+ ms {2}\(keycloak\)/.test(keycloak.stdout()),
        10_000,
        'printed line',
      );

      const order = '{"id":4411,"note":"runtime source, no secret here"}';
      expect(
        (await post(`${gw.url}/api/webhooks/acme`, order, shopifyHeaders(SHOPIFY_SECRET, order, 'listen-acme'))).status,
      ).toBe(200);
      await waitFor(() => app.deliveries.length === 2, 30_000, 'the shopify event forwarded');
      expect(app.deliveries[1]!.bytes.toString()).toBe(order);
      expect(app.deliveries[1]!.headers['x-shopify-hmac-sha256']).toBeUndefined();
      await waitFor(() => /\(unsigned\)/.test(shopify.stdout()), 10_000, 'printed line');
      expect(shopify.stderr()).toContain(
        'No secret for source "acme": it is a shopify source stored in the gateway\'s database, which never shows a secret: pass --secret',
      );
      expect(shopify.stderr()).toContain('Its events are forwarded unsigned');
      noSecretShown(...listens.map((l) => ({ code: null, stdout: l.stdout(), stderr: l.stderr() })));
    } finally {
      for (const listen of listens) listen.child.kill('SIGTERM');
      await Promise.all(listens.map((l) => l.exited));
      await app.close();
    }
  });
});
