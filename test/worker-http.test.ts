import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/env';
import { openDatabase } from '../src/db/client';
import { runMigrations } from '../src/db/migrate';
import { createEventStore } from '../src/store/events';
import { createTestDatabase, postgresUrl, type TestDatabase } from './helpers/database';
import { waitFor } from './helpers/gateway';
import { freePort } from './helpers/process';
import { post, shopifyHeaders } from './helpers/signers';
import { killAllStarted, startBuilt, type StartedProcess } from './helpers/started-process';
import { rawExchange } from './helpers/raw-exchange';

// A worker-only process (`start --role worker`, the worker of `--web-processes`) with
// WORKER_HTTP_PORT serves /healthz, /readyz and /metrics there, and nothing else: before, it served
// no HTTP at all, so it could not be probed and its attempt counters were never scraped.

const METRICS_TOKEN = 'worker-http-metrics-token';
const OPS_TOKEN = 'worker-http-ops-token-0123456789';
const SECRET = 'worker-http-shopify-secret';

const get = (url: string, token?: string) =>
  fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: AbortSignal.timeout(10_000) });

/** The worker's count of completed attempts for `source`, read from its /metrics (0 before the first). */
async function completedAttempts(origin: string, source: string): Promise<number> {
  const text = await (await get(`${origin}/metrics`, METRICS_TOKEN)).text();
  const line = new RegExp(
    `^webhook_gateway_processing_attempts_total\\{source="${source}",outcome="completed"\\} (\\d+)$`,
    'm',
  );
  return Number(line.exec(text)?.[1] ?? 0);
}

/** Checks the probe routes and the token rule of /metrics, as on the web process. */
async function expectProbeRoutes(origin: string) {
  const health = await get(`${origin}/healthz`);
  expect(health.status).toBe(200);
  expect(await health.json()).toEqual({ status: 'ok' });
  const ready = await get(`${origin}/readyz`);
  expect(await ready.json()).toEqual({ status: 'ready', checks: { database: 'ok', migrations: 'ok', worker: 'ok' } });
  expect(ready.status).toBe(200);

  const anonymous = await get(`${origin}/metrics`);
  expect(anonymous.status).toBe(401);
  expect(((await anonymous.json()) as { error: { code: string } }).error.code).toBe('missing_token');
  const wrong = await get(`${origin}/metrics`, 'not-a-token');
  expect(wrong.status).toBe(401);
  expect(((await wrong.json()) as { error: { code: string } }).error.code).toBe('invalid_token');
  for (const token of [METRICS_TOKEN, OPS_TOKEN]) {
    const metrics = await get(`${origin}/metrics`, token);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await metrics.text()).toContain('webhook_gateway_processing_attempts_total');
  }
}

/** Anything but the three routes is a JSON 404, whatever the token. */
async function expectNothingElse(origin: string) {
  for (const [path, init] of [
    ['/api/events', { headers: { authorization: `Bearer ${OPS_TOKEN}` } }],
    ['/ui', {}],
    ['/api/docs', {}],
    ['/api/webhooks/shopify/orders/create', { method: 'POST', body: '{}' }],
  ] as const) {
    const res = await fetch(`${origin}${path}`, init);
    expect(res.status, path).toBe(404);
    expect(await res.json(), path).toEqual({ error: { code: 'not_found', message: expect.stringContaining(path) } });
  }
}

describe('WORKER_HTTP_PORT', () => {
  it('is a port from 1 to 65535: 0 and junk stop the start naming it', () => {
    expect(loadConfig({}).worker.httpPort).toBeUndefined();
    expect(loadConfig({ WORKER_HTTP_PORT: '9464' }).worker.httpPort).toBe(9464);
    expect(() => loadConfig({ WORKER_HTTP_PORT: '0' })).toThrow(
      /WORKER_HTTP_PORT: must be a port from 1 to 65535 \(0, a random port/,
    );
    expect(() => loadConfig({ WORKER_HTTP_PORT: '65536' })).toThrow(/WORKER_HTTP_PORT: must be a port from 1 to 65535/);
    expect(() => loadConfig({ WORKER_HTTP_PORT: 'metrics' })).toThrow(/WORKER_HTTP_PORT: /);
  });

  describe('on the embedded database', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'gw-worker-http-'));
    afterEach(killAllStarted);
    afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

    it('a --role worker process serves health, readiness and its own metrics there, and stops listening on SIGTERM', async () => {
      // PGlite allows one process, so the event is stored before the worker starts, by the store itself.
      const database = await openDatabase({ dataDir });
      try {
        await runMigrations(database);
        const stored = await createEventStore(database).insert({
          source: 'shopify',
          webhookId: 'worker-http-1',
          topic: 'orders/create',
          body: Buffer.from('{"id":1}'),
          headers: {},
          maxAttempts: 3,
        });
        expect(stored.status).toBe('accepted');
      } finally {
        await database.close();
      }
      const port = await freePort();
      const origin = `http://127.0.0.1:${port}`;
      const worker = startBuilt(['start', '--role', 'worker'], {
        DATA_DIR: dataDir,
        HOST: '127.0.0.1',
        WORKER_HTTP_PORT: String(port),
        METRICS_TOKEN,
        OPS_API_TOKEN: OPS_TOKEN,
        SHOPIFY_WEBHOOK_SECRET: SECRET,
        LOG_LEVEL: 'info',
        SHUTDOWN_TIMEOUT_MS: '2000',
      });
      await worker.waitForOutput('gateway started (worker only)', 120_000);
      expect(worker.output()).toContain(`"workerHttp":["${origin}/healthz","${origin}/readyz","${origin}/metrics"]`);

      await expectProbeRoutes(origin);
      await expectNothingElse(origin);
      // The server is the web process's: a request Node's parser refuses gets its JSON error too.
      expect(await rawExchange(port, 'NOT HTTP\r\n\r\n')).toMatch(
        /^HTTP\/1\.1 400 [^]*\{"error":\{"code":"malformed_request_line"/,
      );
      // The event stored before the start, processed by this worker, is in this worker's counters.
      await waitFor(async () => (await completedAttempts(origin, 'shopify')) === 1, 30_000, 'the attempt in /metrics');

      process.kill(worker.pid, 'SIGTERM');
      expect(await worker.exited).toEqual({ code: 0, signal: null });
      await expect(get(`${origin}/healthz`)).rejects.toThrow();
    }, 180_000);

    it('a WORKER_HTTP_PORT in use stops the start with exit 2, naming it', async () => {
      const taken = net.createServer();
      await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
      const port = (taken.address() as net.AddressInfo).port;
      try {
        const worker = startBuilt(['start', '--role', 'worker'], {
          DATA_DIR: join(dataDir, 'taken'),
          HOST: '127.0.0.1',
          WORKER_HTTP_PORT: String(port),
          LOG_LEVEL: 'info',
        });
        expect((await worker.exited).code).toBe(2);
        expect(worker.output()).toContain(`webhook-gateway cannot start: WORKER_HTTP_PORT ${port} is already in use`);
      } finally {
        taken.close();
      }
    }, 180_000);

    it('--role all ignores it with a start-up warning: the web server serves the probes', async () => {
      const [port, workerPort] = [await freePort(), await freePort()];
      const gateway = startBuilt(['start'], {
        DATA_DIR: join(dataDir, 'all'),
        HOST: '127.0.0.1',
        PORT: String(port),
        WORKER_HTTP_PORT: String(workerPort),
        OPS_API_TOKEN: OPS_TOKEN,
        SHOPIFY_WEBHOOK_SECRET: SECRET,
        LOG_LEVEL: 'info',
      });
      await gateway.waitForOutput(`WORKER_HTTP_PORT=${workerPort} is ignored with --role all`, 120_000);
      expect((await get(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
      await expect(get(`http://127.0.0.1:${workerPort}/healthz`)).rejects.toThrow();
    }, 180_000);
  });

  // A web process and a worker process on one PostgreSQL, as in docs/scaling.md.
  describe.skipIf(!postgresUrl())('on PostgreSQL', () => {
    let testDb: TestDatabase;
    let web: StartedProcess;
    let worker: StartedProcess;
    let webOrigin: string;
    let workerOrigin: string;
    beforeAll(async () => {
      testDb = await createTestDatabase('postgres');
      const [webPort, workerPort] = [await freePort(), await freePort()];
      webOrigin = `http://127.0.0.1:${webPort}`;
      workerOrigin = `http://127.0.0.1:${workerPort}`;
      const env = {
        DATABASE_URL: testDb.url!,
        HOST: '127.0.0.1',
        METRICS_TOKEN,
        OPS_API_TOKEN: OPS_TOKEN,
        SHOPIFY_WEBHOOK_SECRET: SECRET,
        LOG_LEVEL: 'info',
        SHUTDOWN_TIMEOUT_MS: '2000',
        // A short lease, so that a stalled tick shows within seconds (src/gateway/worker-http.ts).
        WORKER_LEASE_SECONDS: '2',
      };
      web = startBuilt(['start', '--role', 'web'], {
        ...env,
        PORT: String(webPort),
        WORKER_HTTP_PORT: String(workerPort),
      });
      await web.waitForOutput('gateway listening', 120_000);
      worker = startBuilt(['start', '--role', 'worker'], { ...env, WORKER_HTTP_PORT: String(workerPort) });
      await worker.waitForOutput('gateway started (worker only)', 120_000);
    }, 240_000);
    afterAll(async () => {
      killAllStarted();
      await testDb?.drop();
    });

    it('the worker serves the probes with the web process’s answers, and counts the webhooks the web process stored', async () => {
      await expectProbeRoutes(workerOrigin);
      await expectNothingElse(workerOrigin);
      // The same headers as the web process's answers to the same requests.
      for (const [path, token] of [['/healthz'], ['/readyz'], ['/metrics'], ['/metrics', METRICS_TOKEN]] as const) {
        const names = async (origin: string) => [...(await get(`${origin}${path}`, token)).headers.keys()].sort();
        expect(await names(workerOrigin), path).toEqual(await names(webOrigin));
      }

      const body = '{"id":2}';
      const answer = await post(
        `${webOrigin}/api/webhooks/shopify/orders/create`,
        body,
        shopifyHeaders(SECRET, body, 'worker-http-pg-1'),
      );
      expect(answer.json).toMatchObject({ status: 'accepted' });
      await waitFor(
        async () => (await completedAttempts(workerOrigin, 'shopify')) === 1,
        30_000,
        'the attempt in /metrics',
      );
      // The web process stored it but ran no attempt: only the worker's own /metrics has it.
      expect(await completedAttempts(webOrigin, 'shopify')).toBe(0);
      // A database token (here a viewer's) is accepted as on the web process.
      const created = await fetch(`${webOrigin}/api/tokens`, {
        method: 'POST',
        headers: { authorization: `Bearer ${OPS_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'scraper', role: 'viewer' }),
      });
      const { token } = (await created.json()) as { token: string };
      expect((await get(`${workerOrigin}/metrics`, token)).status).toBe(200);
    }, 120_000);

    it('/readyz says the worker loop stalled while its claim waits longer than a lease, and ready again after', async () => {
      const sql = postgres(testDb.url!, { max: 1, onnotice: () => {} });
      try {
        const reserved = await sql.reserve();
        try {
          await reserved`begin`;
          // The next tick's claim waits for this lock: its cron tick does not come back.
          await reserved`lock table event_queue in access exclusive mode`;
          const stalled = await waitFor(
            async () => {
              const res = await get(`${workerOrigin}/readyz`);
              return res.status === 503 ? res.json() : undefined;
            },
            30_000,
            '/readyz to answer 503',
          );
          expect(stalled).toEqual({
            status: 'unavailable',
            checks: { database: 'ok', migrations: 'ok', worker: 'stalled' },
          });
          expect((await get(`${workerOrigin}/healthz`)).status).toBe(200);
        } finally {
          await reserved`rollback`;
          reserved.release();
        }
        await waitFor(async () => (await get(`${workerOrigin}/readyz`)).status === 200, 30_000, '/readyz ready again');
      } finally {
        await sql.end();
      }
    }, 120_000);
  });

  describe.skipIf(!postgresUrl())('under --web-processes', () => {
    let testDb: TestDatabase;
    beforeAll(async () => {
      testDb = await createTestDatabase('postgres');
    });
    afterAll(async () => {
      killAllStarted();
      await testDb?.drop();
    });

    it('the worker process serves its own metrics there, and a port shared with PORT is refused', async () => {
      const [port, workerPort] = [await freePort(), await freePort()];
      const env = {
        DATABASE_URL: testDb.url!,
        HOST: '127.0.0.1',
        PORT: String(port),
        METRICS_TOKEN,
        OPS_API_TOKEN: OPS_TOKEN,
        SHOPIFY_WEBHOOK_SECRET: SECRET,
        LOG_LEVEL: 'info',
        SHUTDOWN_TIMEOUT_MS: '2000',
      };
      const shared = startBuilt(['start', '--web-processes', '2'], { ...env, WORKER_HTTP_PORT: String(port) });
      expect((await shared.exited).code).toBe(2);
      expect(shared.output()).toContain(`WORKER_HTTP_PORT (${port}) is PORT`);

      const primary = startBuilt(['start', '--web-processes', '2'], { ...env, WORKER_HTTP_PORT: String(workerPort) });
      const workerOrigin = `http://127.0.0.1:${workerPort}`;
      await waitFor(
        async () => (await get(`${workerOrigin}/readyz`).catch(() => undefined))?.status === 200,
        120_000,
        'the worker’s /readyz',
      );
      // The web processes start beside the worker, not before it: wait for their port too.
      await waitFor(
        async () => (await get(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.status === 200,
        120_000,
        'the web processes’ /readyz',
      );
      const body = '{"id":3}';
      const answer = await post(
        `http://127.0.0.1:${port}/api/webhooks/shopify/orders/create`,
        body,
        shopifyHeaders(SECRET, body, 'cluster-http-1'),
      );
      expect(answer.json).toMatchObject({ status: 'accepted' });
      await waitFor(
        async () => (await completedAttempts(workerOrigin, 'shopify')) === 1,
        30_000,
        'the attempt in /metrics',
      );
      process.kill(primary.pid, 'SIGTERM');
      expect(await primary.exited).toEqual({ code: 0, signal: null });
      await expect(get(`${workerOrigin}/healthz`)).rejects.toThrow();
    }, 240_000);
  });
});
