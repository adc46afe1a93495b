import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKeyring } from '../src/control/crypto';
import { runCli } from './helpers/cli';
import { opsCall, SECRETS, startTestGateway, type TestGateway } from './helpers/gateway';

// `sources …` and `destinations …` actions take --if-match <version>, the version `get` printed:
// run after someone else changed the item, the command is refused (412, exit 1) and nothing is
// written; with the current version it goes through. Real CLI processes, a real gateway.
describe('CLI actions with --if-match', () => {
  let gw: TestGateway;
  const cli = (args: string[]) => runCli([...args, '--url', gw.url, '--token', SECRETS.ops], {}, 60_000);
  const api = (method: string, path: string, body?: unknown) => opsCall(gw, method, path, body);
  /** The version `get` prints, as an operator would read it off the JSON. */
  const shownVersion = async (kind: 'sources' | 'destinations', name: string) => {
    const got = await cli([kind, 'get', name]);
    expect(got.code, got.stderr).toBe(0);
    return String(JSON.parse(got.stdout).version);
  };

  beforeAll(async () => {
    gw = await startTestGateway('pglite', {
      control: { keyring: loadKeyring({ key: randomBytes(32).toString('base64') }), refreshMs: 5000 },
    });
  }, 120_000);
  afterAll(async () => {
    await gw?.stop();
  });

  it.each([
    ['sources', 'rotate-secret'],
    ['sources', 'revoke-secret'],
    ['sources', 'pause'],
    ['sources', 'delete'],
    ['destinations', 'rotate-secret'],
    ['destinations', 'pause'],
    ['destinations', 'delete'],
  ] as const)(
    '%s %s --if-match: a stale version is refused and changes nothing; the current one acts',
    async (kind, action) => {
      const name = `cli-${kind === 'sources' ? 'src' : 'dst'}-${action}`;
      const created =
        kind === 'sources'
          ? await api('POST', '/api/sources', { name, provider: 'shopify' })
          : await api('POST', '/api/destinations', { name, url: 'https://example.test/hooks', sources: [] });
      expect(created.status).toBe(201);
      const shown = await shownVersion(kind, name);
      const args = [kind, action, name, ...(action === 'revoke-secret' ? [String(created.json.secrets[0].id)] : [])];
      // Someone else changes the item after it was shown.
      const patch = kind === 'sources' ? { rate_limit: { per_second: 7 } } : { timeout_ms: 3000 };
      expect((await api('PATCH', `/api/${kind}/${name}`, patch)).status).toBe(200);
      const before = await api('GET', `/api/${kind}/${name}`);

      const stale = await cli([...args, '--if-match', shown]);
      expect(stale.code).toBe(1);
      expect(stale.stderr).toContain('412');
      expect(stale.stderr).toContain(
        `changed since the version you sent in If-Match; it is now version ${before.json.version}`,
      );
      expect((await api('GET', `/api/${kind}/${name}`)).json).toMatchObject({
        version: before.json.version,
        paused: before.json.paused,
      });

      const fresh = await cli([...args, '--if-match', await shownVersion(kind, name)]);
      expect(fresh.code, fresh.stderr).toBe(0);
    },
    120_000,
  );

  it('a --if-match that is not a version is a usage error (exit 2), nothing sent', async () => {
    const run = await cli(['sources', 'pause', 'shopify', '--if-match', 'W/"x"']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--if-match must be the version `get` printed');
  }, 60_000);
});
