import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/env';
import { openDatabase } from '../src/db/client';
import { runMigrations } from '../src/db/migrate';
import { createEventStore } from '../src/store/events';
import { freePort } from './helpers/process';
import { killAllStarted, startBuilt } from './helpers/started-process';
import { rawExchange } from './helpers/raw-exchange';
import {
  METRICS_TOKEN,
  OPS_TOKEN,
  SECRET,
  expectNothingElse,
  expectProbeRoutes,
  get,
  waitForOneAttempt,
} from './helpers/worker-http';

// A worker-only process (`start --role worker`, the worker of `--web-processes`) with
// WORKER_HTTP_PORT serves /healthz, /readyz and /metrics there, and nothing else: before, it served
// no HTTP at all, so it could not be probed and its attempt counters were never scraped.
// The PostgreSQL set-ups (a web and a worker process, --web-processes) are in
// worker-http-postgres.test.ts.

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
      await waitForOneAttempt(origin);

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
});
