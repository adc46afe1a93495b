import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { postgresUrl } from './helpers/database';
import { freePort, waitUntilHealthy } from './helpers/process';
import { killAllStarted, startBuilt } from './helpers/started-process';

// Start-up as a user meets it, with the compiled gateway as real processes: one process per
// embedded database, one clear line for failures a user can fix, the summary line and its warnings.
// Every test starts a real process: generous limits for a loaded 2-core machine.
vi.setConfig({ testTimeout: 240_000 });
const dir = mkdtempSync(join(tmpdir(), 'gw-start-up-'));
afterEach(killAllStarted);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A failed start: exit 2 and one line on stderr that says what to do — no stack trace. */
async function expectOneLineFailure(args: string[], env: Record<string, string>, expected: RegExp) {
  const proc = startBuilt(args, { LOG_LEVEL: 'warn', ...env });
  const { code } = await proc.exited;
  const lines = proc
    .output()
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('{'));
  expect(code, proc.output()).toBe(2);
  expect(lines, proc.output()).toHaveLength(1);
  expect(lines[0]).toMatch(expected);
  expect(proc.output()).not.toMatch(/\n\s+at /);
}

describe('one process per embedded database', () => {
  it('a second gateway or migrate on the same DATA_DIR is refused (exit 2), whatever the order; kill -9 leaves no stale lock', async () => {
    const dataDir = join(dir, 'shared');
    const port = await freePort();
    const first = startBuilt([], { PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: 'info' });
    await waitUntilHealthy(`http://127.0.0.1:${port}/healthz`, 180_000);
    const held = new RegExp(`DATA_DIR ${dataDir} is in use by process ${first.pid} .*set DATABASE_URL`);
    await expectOneLineFailure([], { PORT: String(await freePort()), DATA_DIR: dataDir }, held);
    await expectOneLineFailure(['migrate'], { DATA_DIR: dataDir }, held);

    // kill -9: no clean-up ran, yet a restart on the same directory starts at once.
    first.child.kill('SIGKILL');
    await first.exited;
    const restarted = startBuilt([], { PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: 'info' });
    await waitUntilHealthy(`http://127.0.0.1:${port}/healthz`, 180_000);

    // The other order: migrate holds the directory while it runs; a gateway started then is refused,
    // and migrate is refused while that gateway runs (checked above) — here after a restart.
    await expectOneLineFailure(['migrate'], { DATA_DIR: dataDir }, /is in use by process/);
    restarted.child.kill('SIGTERM');
    expect((await restarted.exited).code).toBe(0);
    const migrate = startBuilt(['migrate'], { DATA_DIR: dataDir, LOG_LEVEL: 'info' });
    expect((await migrate.exited).code, migrate.output()).toBe(0);
  }, 480_000);

  it('two gateways started at the same moment: exactly one runs', async () => {
    const dataDir = join(dir, 'race');
    const ports = [await freePort(), await freePort()];
    const both = ports.map((port) => startBuilt([], { PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: 'info' }));
    const loser = await Promise.race(both.map((p) => p.exited.then(() => p)));
    expect((await loser.exited).code, loser.output()).toBe(2);
    expect(loser.output()).toMatch(/is in use by/);
    const winner = both.find((p) => p !== loser)!;
    await waitUntilHealthy(`http://127.0.0.1:${ports[both.indexOf(winner)]}/healthz`, 180_000);
  }, 360_000);
});

describe('start-up failures a user can fix: one line, exit 2', () => {
  it('port in use', async () => {
    const blocker = net.createServer().listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    const { port } = blocker.address() as net.AddressInfo;
    try {
      await expectOneLineFailure(
        [],
        { PORT: String(port), HOST: '127.0.0.1', DATA_DIR: join(dir, 'port') },
        new RegExp(`port ${port} is already in use .*set PORT to a free port`),
      );
    } finally {
      blocker.close();
    }
  }, 240_000);

  it('HOST that is not an address of this machine', async () => {
    await expectOneLineFailure(
      [],
      { HOST: '192.0.2.1', PORT: String(await freePort()), DATA_DIR: join(dir, 'host') },
      /HOST=192\.0\.2\.1 is not an address of this machine: set HOST to 0\.0\.0\.0/,
    );
  }, 240_000);

  it('DATA_DIR that is a file', async () => {
    const file = join(dir, 'not-a-dir');
    writeFileSync(file, 'x');
    await expectOneLineFailure([], { DATA_DIR: file }, /DATA_DIR .*not-a-dir is not a directory/);
  });

  it('PostgreSQL down (nothing listening)', async () => {
    const port = await freePort();
    await expectOneLineFailure(
      [],
      { DATABASE_URL: `postgres://gw:secret-pw@127.0.0.1:${port}/webhooks`, DB_CONNECT_TIMEOUT_SECONDS: '2' },
      new RegExp(`cannot connect to PostgreSQL at 127\\.0\\.0\\.1:${port} \\(connection refused\\): start PostgreSQL`),
    );
  });

  it.skipIf(!postgresUrl())('PostgreSQL without the database', async () => {
    const url = new URL(postgresUrl()!);
    url.pathname = '/gw_no_such_database';
    await expectOneLineFailure(
      [],
      { DATABASE_URL: url.toString() },
      /has no database "gw_no_such_database": create it \(createdb gw_no_such_database\)/,
    );
  });

  it('--web-processes 2 on the embedded database', async () => {
    await expectOneLineFailure(
      ['start', '--web-processes', '2'],
      { DATA_DIR: join(dir, 'cluster') },
      /--web-processes 2 needs PostgreSQL: the embedded database \(PGlite\) allows one process/,
    );
  });

  it('WEB_PROCESSES=2 on the embedded database is named as set', async () => {
    await expectOneLineFailure(
      [],
      { DATA_DIR: join(dir, 'cluster-env'), WEB_PROCESSES: '2' },
      /WEB_PROCESSES=2 needs PostgreSQL: the embedded database \(PGlite\) allows one process\. Set DATABASE_URL, or run one process \(unset WEB_PROCESSES\)/,
    );
  });
});

describe('the start-up summary', () => {
  it('an empty DATABASE_URL means the embedded default; the summary names role, database, source URLs; typos and gaps are warned about', async () => {
    const port = await freePort();
    const proc = startBuilt([], {
      PORT: String(port),
      DATABASE_URL: '',
      OPS_API_TOKEN: '',
      DATA_DIR: join(dir, 'summary'),
      SHOPIFY_WEBHOOK_SECRET: 'summary-secret-1',
      SHOPFY_WEBHOOK_SECRET: 'typo',
      LOG_LEVEL: 'info',
    });
    await waitUntilHealthy(`http://127.0.0.1:${port}/healthz`, 180_000);
    // The warnings are logged after the summary line: wait for the last of them.
    await proc.waitForOutput('did you mean SHOPIFY_WEBHOOK_SECRET?');
    const logs = proc
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const summary = logs.filter((l) => l.msg === 'gateway listening');
    expect(summary).toHaveLength(1);
    expect(summary[0]).toMatchObject({
      role: 'all',
      database: expect.stringContaining('embedded (PGlite'),
      sources: {
        shopify: [`http://localhost:${port}/api/webhooks/shopify`, `http://localhost:${port}/api/webhooks/shopify/…`],
      },
      sourcesWithoutSecret: ['easypost', 'keycloak'],
      opsToken: 'not set',
    });
    const warnings = logs.filter((l) => l.level === 40).map((l) => l.msg);
    expect(warnings).toEqual([
      expect.stringContaining('OPS_API_TOKEN is not set'),
      'SHOPFY_WEBHOOK_SECRET is set but is not a setting of the gateway: did you mean SHOPIFY_WEBHOOK_SECRET?',
    ]);
    expect(proc.output()).not.toContain('summary-secret-1');
    proc.child.kill('SIGTERM');
    await proc.waitForOutput(
      /"msg":"stopping: no new requests or claims; waiting up to \d+ ms for \d+ open connections and \d+ running handlers"/,
    );
    await proc.waitForOutput('"msg":"stopped: requests answered, handlers finished or handed back, database closed"');
    expect((await proc.exited).code).toBe(0);
  }, 240_000);

  it('a Keycloak source that verifies realm-signed JWTs (no secret) is listed as accepting webhooks, not as unconfigured', async () => {
    const port = await freePort();
    const config = join(dir, 'keycloak-jwt.yaml');
    writeFileSync(
      config,
      [
        'sources:',
        '  - name: keycloak-jwt',
        '    provider: keycloak',
        '    jwks_url: https://sso.example.com/realms/acme/protocol/openid-connect/certs',
        '    audience: https://gateway.example.com',
      ].join('\n'),
    );
    const proc = startBuilt([], {
      PORT: String(port),
      DATA_DIR: join(dir, 'keycloak-jwt'),
      GATEWAY_CONFIG: config,
      OPS_API_TOKEN: '',
      LOG_LEVEL: 'info',
    });
    await waitUntilHealthy(`http://127.0.0.1:${port}/healthz`, 180_000);
    // The warnings are logged in order after the summary: "no source is configured" would come before this one.
    await proc.waitForOutput('OPS_API_TOKEN is not set');
    const logs = proc
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const summary = logs.find((l) => l.msg === 'gateway listening');
    expect(summary?.sources).toMatchObject({
      'keycloak-jwt': [
        `http://localhost:${port}/api/webhooks/keycloak-jwt`,
        `http://localhost:${port}/api/webhooks/keycloak-jwt/…`,
      ],
    });
    expect(summary?.sourcesWithoutSecret).not.toContain('keycloak-jwt');
    expect(proc.output()).not.toContain('no source is configured');
    // What the summary promises is what ingest does: a request without a token is refused as unauthenticated, not 503.
    const res = await fetch(`http://127.0.0.1:${port}/api/webhooks/keycloak-jwt`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(401);
  }, 240_000);

  it('sources created at runtime are listed at the next start, without the "no source is configured" warning', async () => {
    const port = await freePort();
    const env = {
      PORT: String(port),
      DATA_DIR: join(dir, 'runtime-sources'),
      GATEWAY_MASTER_KEY: Buffer.alloc(32, 7).toString('base64'),
      OPS_API_TOKEN: 'start-up-ops-token',
      LOG_LEVEL: 'info',
    };
    const first = startBuilt([], env);
    await waitUntilHealthy(`http://127.0.0.1:${port}/healthz`, 180_000);
    const created = await fetch(`http://127.0.0.1:${port}/api/sources`, {
      method: 'POST',
      headers: { authorization: 'Bearer start-up-ops-token', 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'acme', provider: 'shopify' }),
    });
    expect(created.status, await created.text()).toBe(201);
    first.child.kill('SIGTERM');
    expect((await first.exited).code).toBe(0);

    // WORKER_HTTP_PORT with --role all adds a warning logged after "no source is configured" would be.
    const second = startBuilt([], { ...env, WORKER_HTTP_PORT: String(await freePort()) });
    await second.waitForOutput('is ignored with --role all');
    const summary = second
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.msg === 'gateway listening');
    expect((summary?.sources as Record<string, string[]> | undefined)?.acme?.[0]).toBe(
      `http://localhost:${port}/api/webhooks/acme`,
    );
    expect(second.output()).not.toContain('no source is configured');
  }, 480_000);

  it("the quick start's short OPS_API_TOKEN starts with a warning that names the variable, never the value", async () => {
    const port = await freePort();
    const proc = startBuilt([], {
      PORT: String(port),
      DATA_DIR: join(dir, 'weak-token'),
      SHOPIFY_WEBHOOK_SECRET: 'weak-token-secret-1',
      OPS_API_TOKEN: 'ops-token',
      METRICS_TOKEN: 'a1b2c3d4e5f60718293a4b5c6d7e8f90,zzzzzzzzzzzzzzzzzzzzzzzz',
      LOG_LEVEL: 'info',
    });
    await waitUntilHealthy(`http://127.0.0.1:${port}/healthz`, 180_000);
    await proc.waitForOutput('METRICS_TOKEN (token 2 of 2) repeats a few characters');
    const warnings = proc
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level: number; msg: string })
      .filter((l) => l.level === 40)
      .map((l) => l.msg);
    expect(warnings).toEqual([
      'OPS_API_TOKEN is 9 characters: anyone who can reach the gateway could guess it. Use a long random value, ' +
        'e.g. OPS_API_TOKEN=$(openssl rand -hex 32) (docs/security.md#ops-api-tokens-and-roles).',
      'METRICS_TOKEN (token 2 of 2) repeats a few characters (1 different ones): anyone who can reach the gateway ' +
        'could guess it. Use a long random value, e.g. METRICS_TOKEN=$(openssl rand -hex 32) ' +
        '(docs/security.md#ops-api-tokens-and-roles).',
    ]);
    // Still a working gateway: the short token is accepted, as before.
    const whoami = await fetch(`http://127.0.0.1:${port}/api/whoami`, {
      headers: { authorization: 'Bearer ops-token' },
    });
    expect(whoami.status).toBe(200);
    expect(proc.output()).not.toMatch(/ops-token"|zzzzzzzz|a1b2c3d4/);
  }, 240_000);

  it('--role web on the embedded database warns that nothing would process the events', async () => {
    const port = await freePort();
    const proc = startBuilt(['start', '--role', 'web'], {
      PORT: String(port),
      DATA_DIR: join(dir, 'web-only'),
      LOG_LEVEL: 'warn',
    });
    await proc.waitForOutput(
      '--role web on the embedded database: no other process can open it, so events are stored but never processed',
    );
    expect(proc.output()).toContain('no source is configured: every webhook is answered 503 source_not_configured');
  }, 240_000);
});
