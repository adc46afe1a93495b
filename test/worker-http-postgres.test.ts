import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, postgresUrl, type TestDatabase } from './helpers/database';
import { waitFor } from './helpers/gateway';
import { freePort } from './helpers/process';
import { post, shopifyHeaders } from './helpers/signers';
import { killAllStarted, startBuilt, type StartedProcess } from './helpers/started-process';
import {
  METRICS_TOKEN,
  OPS_TOKEN,
  SECRET,
  completedAttempts,
  expectNothingElse,
  expectProbeRoutes,
  get,
  waitForOneAttempt,
} from './helpers/worker-http';

// WORKER_HTTP_PORT with PostgreSQL: a worker-only process beside a web process, and the worker of
// `--web-processes`, serve /healthz, /readyz and /metrics there (the embedded database's cases and
// the setting's checks are in worker-http.test.ts).

describe('WORKER_HTTP_PORT', () => {
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
      await waitForOneAttempt(workerOrigin);
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
      await waitForOneAttempt(workerOrigin);
      process.kill(primary.pid, 'SIGTERM');
      expect(await primary.exited).toEqual({ code: 0, signal: null });
      await expect(get(`${workerOrigin}/healthz`)).rejects.toThrow();
    }, 240_000);
  });
});
