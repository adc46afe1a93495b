import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKeyring } from '../src/control/crypto';
import { COMPILED_CLI, inTurns, runCli } from './helpers/cli';
import { opsCall, SECRETS, startTestGateway, type TestGateway } from './helpers/gateway';

// `sources …` and `destinations …` actions take --if-match <version>, the version `get` printed:
// run after someone else changed the item, the command is refused (412, exit 1) and nothing is
// written; with the current version — the one the refusal names — it goes through. Real CLI
// processes, one real gateway for the file. Each action works on its own item, so the actions run
// two at a time (inTurns); within one action the steps keep their order.
describe('CLI actions with --if-match', () => {
  let gw: TestGateway;
  const cli = (args: string[]) => runCli([...args, '--url', gw.url, '--token', SECRETS.ops], {}, 60_000, COMPILED_CLI);
  const api = (method: string, path: string, body?: unknown) => opsCall(gw, method, path, body);

  beforeAll(async () => {
    gw = await startTestGateway('pglite', {
      control: { keyring: loadKeyring({ key: randomBytes(32).toString('base64') }), refreshMs: 5000 },
    });
  }, 120_000);
  afterAll(async () => {
    await gw?.stop();
  });

  const actions = [
    ['sources', 'rotate-secret'],
    ['sources', 'revoke-secret'],
    ['sources', 'pause'],
    ['sources', 'delete'],
    ['destinations', 'rotate-secret'],
    ['destinations', 'pause'],
    ['destinations', 'delete'],
  ] as const;

  /** One action's story: shown by `get`, changed by someone else, refused stale, accepted current. */
  const staleThenCurrent = async (kind: 'sources' | 'destinations', action: string) => {
    const name = `cli-${kind === 'sources' ? 'src' : 'dst'}-${action}`;
    const created =
      kind === 'sources'
        ? await api('POST', '/api/sources', { name, provider: 'shopify' })
        : await api('POST', '/api/destinations', { name, url: 'https://example.test/hooks', sources: [] });
    expect(created.status).toBe(201);
    // The version `get` prints, as an operator would read it off the JSON.
    const got = await cli([kind, 'get', name]);
    expect(got.code, got.stderr).toBe(0);
    const shown = String(JSON.parse(got.stdout).version);
    const args = [kind, action, name, ...(action === 'revoke-secret' ? [String(created.json.secrets[0].id)] : [])];
    // Someone else changes the item after it was shown.
    const patch = kind === 'sources' ? { rate_limit: { per_second: 7 } } : { timeout_ms: 3000 };
    expect((await api('PATCH', `/api/${kind}/${name}`, patch)).status).toBe(200);
    const before = await api('GET', `/api/${kind}/${name}`);

    const stale = await cli([...args, '--if-match', shown]);
    expect(stale.code, `${kind} ${action}`).toBe(1);
    expect(stale.stderr).toContain('412');
    expect(stale.stderr).toContain(
      `changed since the version you sent in If-Match; it is now version ${before.json.version}`,
    );
    // The hint fits a version the operator typed: this command did not read the item.
    expect(stale.stderr).toContain('then run the command again (with --if-match, give the new version)');
    expect((await api('GET', `/api/${kind}/${name}`)).json).toMatchObject({
      version: before.json.version,
      paused: before.json.paused,
    });

    // The operator retries with the version the refusal named.
    const current = /it is now version (\d+)/.exec(stale.stderr)![1]!;
    const fresh = await cli([...args, '--if-match', current]);
    expect(fresh.code, `${kind} ${action}: ${fresh.stderr}`).toBe(0);
  };

  it('every source and destination action: a stale --if-match is refused and changes nothing; the current one acts; a non-version is a usage error', async () => {
    const [notAVersion] = await inTurns([
      () => cli(['sources', 'pause', 'shopify', '--if-match', 'W/"x"']),
      ...actions.map(
        ([kind, action]) =>
          () =>
            staleThenCurrent(kind, action),
      ),
    ]);
    expect(notAVersion.code).toBe(2);
    expect(notAVersion.stderr).toContain('--if-match must be the version `get` printed');
  }, 300_000);
});
