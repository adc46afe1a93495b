import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { freePort, waitUntilHealthy } from './helpers/process';
import { post, shopifyHeaders } from './helpers/signers';
import { killAllStarted, startProcess } from './helpers/started-process';

const SECRET = 'crash-restart-secret';
const OPS = 'crash-restart-ops';

/**
 * A destination that never answers its first delivery (the gateway's attempt stays claimed until
 * the gateway is killed) and answers 200 to every later one.
 */
async function startHoldingDestination() {
  const held: ServerResponse[] = [];
  let deliveries = 0;
  const arrivals = new Set<() => void>();
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      deliveries += 1;
      for (const arrival of arrivals) arrival();
      if (deliveries === 1) held.push(response);
      else response.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    /** Resolves once `count` deliveries have arrived. */
    delivered(count: number, timeoutMs: number): Promise<void> {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (deliveries < count) return;
          arrivals.delete(check);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          arrivals.delete(check);
          reject(new Error(`${deliveries} deliveries within ${timeoutMs} ms, expected ${count}`));
        }, timeoutMs);
        arrivals.add(check);
        check();
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Waits until `count` events are completed (ops API). */
async function completed(base: string, count: number, timeoutMs: number): Promise<void> {
  let statuses: string[] = [];
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline;) {
    const list = await fetch(`${base}/api/events`, { headers: { authorization: `Bearer ${OPS}` } });
    statuses = ((await list.json()) as { events: { status: string }[] }).events.map((e) => e.status);
    if (statuses.filter((s) => s === 'completed').length === count) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`events ${JSON.stringify(statuses)} after ${timeoutMs} ms, expected ${count} completed`);
}

// `npm start` on the embedded database is one process per DATA_DIR (src/db/data-dir-lock.ts), so an
// event claimed when the gateway was killed can only belong to the dead process: the restart takes
// it back at once instead of leaving it in `processing` until the lease (WORKER_LEASE_SECONDS) runs out.
describe('PGlite gateway killed while an event is being processed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gw-crash-restart-'));
  afterEach(killAllStarted);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the restart on the same DATA_DIR processes the event claimed by the killed process without waiting for its lease', async () => {
    const destination = await startHoldingDestination();
    try {
      const config = join(dir, 'gateway.json');
      const deliverySecret = `whsec_${randomBytes(32).toString('base64')}`;
      writeFileSync(
        config,
        JSON.stringify({
          sources: [
            {
              name: 'shop',
              provider: 'shopify',
              secrets: [SECRET],
              destinations: [{ name: 'erp', url: destination.url, secret: deliverySecret, timeout_ms: 120_000 }],
            },
          ],
        }),
      );
      const port = await freePort();
      const base = `http://127.0.0.1:${port}`;
      const env = {
        PORT: String(port),
        DATA_DIR: join(dir, 'data'),
        GATEWAY_CONFIG: config,
        OPS_API_TOKEN: OPS,
        // Far beyond the test's wait: only the restart itself can take the claim back in time.
        WORKER_LEASE_SECONDS: '600',
        LOG_LEVEL: 'info',
      };
      const start = () => startProcess(process.execPath, ['--import', 'tsx', 'src/main.ts'], env);

      const first = start();
      await waitUntilHealthy(`${base}/healthz`);
      const send = async (id: string) => {
        const body = JSON.stringify({ id });
        const res = await post(`${base}/api/webhooks/shop/orders/create`, body, shopifyHeaders(SECRET, body, id));
        expect(res.status, first.output()).toBe(200);
      };
      await send('held-when-killed');
      await destination.delivered(1, 60_000);
      // A second event, completed before the kill: its commits reach the WAL file, and with them
      // the first event's claim (a claim alone commits without waiting for its WAL, src/worker/claim-sql.ts).
      await send('completed-before-kill');
      await completed(base, 1, 60_000);
      first.killGroup();
      expect((await first.exited).signal).toBe('SIGKILL');

      const second = start();
      await waitUntilHealthy(`${base}/healthz`);
      await destination.delivered(3, 45_000).catch((err: Error) => {
        throw new Error(`${err.message}\n${second.output().slice(-2000)}`);
      });
      await completed(base, 2, 30_000);
      expect(second.output()).toContain(
        'returned events claimed by the previous process on this DATA_DIR to the queue',
      );
      // The start says why it may have been slow: the killed process never closed the database.
      expect(second.output()).toContain(`DATA_DIR was not closed cleanly: process ${first.child.pid} (started `);
      second.child.kill('SIGTERM');
      expect((await second.exited).code).toBe(0);
    } finally {
      await destination.close();
    }
  }, 240_000); // two cold starts of a real process, one a first initdb; slow when the machine is busy
});
