import { createHmac } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, postgresUrl, type TestDatabase } from './helpers/database';
import { waitFor } from './helpers/gateway';
import { freePort, waitUntilHealthy } from './helpers/process';
import { killAllStarted, startBuilt, type StartedProcess } from './helpers/started-process';
import { rawExchange } from './helpers/raw-exchange';

const SECRET = 'cluster-shopify-secret';

/** A signed Shopify delivery (signature computed here with node:crypto). */
function deliver(url: string, id: string) {
  const body = JSON.stringify({ id, total_price: '1.00' });
  return fetch(`${url}/api/webhooks/shopify/orders/create`, {
    method: 'POST',
    body,
    headers: {
      'content-type': 'application/json',
      'x-shopify-hmac-sha256': createHmac('sha256', SECRET).update(body).digest('base64'),
      'x-shopify-webhook-id': id,
      'x-shopify-shop-domain': 'cluster.myshopify.com',
      'x-shopify-topic': 'orders/create',
    },
  });
}

/** pids of the children that logged their start-up summary, by role. */
function children(proc: StartedProcess) {
  const lines = proc
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { msg: string; pid: number; role?: string });
  const started = lines.filter((l) => l.msg === 'gateway listening' || l.msg === 'gateway started (worker only)');
  return {
    web: started.filter((l) => l.role === 'web').map((l) => l.pid),
    worker: started.filter((l) => l.role === 'worker').map((l) => l.pid),
  };
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

// `start --web-processes N` with real processes on PostgreSQL: N web processes share the port, one
// worker processes; a child that dies is restarted; SIGTERM to the primary stops them all.
describe.skipIf(!postgresUrl())('start --web-processes', () => {
  let testDb: TestDatabase;
  beforeAll(async () => {
    testDb = await createTestDatabase('postgres');
  });
  afterEach(killAllStarted);
  afterAll(() => testDb?.drop());

  it('runs 2 web processes and a worker, restarts a killed child, and stops them all on SIGTERM', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const primary = startBuilt(['start', '--web-processes', '2'], {
      DATABASE_URL: testDb.url!,
      PORT: String(port),
      HOST: '127.0.0.1',
      SHOPIFY_WEBHOOK_SECRET: SECRET,
      OPS_API_TOKEN: 'cluster-ops',
      LOG_LEVEL: 'info',
      SHUTDOWN_TIMEOUT_MS: '2000',
    });
    await waitFor(
      () => children(primary).web.length === 2 && children(primary).worker.length === 1,
      120_000,
      'two web processes and a worker',
    );
    await waitUntilHealthy(`${url}/healthz`);
    const first = children(primary);
    expect(new Set([...first.web, ...first.worker, primary.pid]).size).toBe(4);
    // Web processes answer a request Node's parser refuses with the gateway's JSON error
    // (connections go round-robin, so both answer some of these).
    for (let i = 0; i < 4; i++) {
      const answer = await rawExchange(port, 'NOT HTTP\r\n\r\n');
      expect(answer).toMatch(/^HTTP\/1\.1 400 [^]*\r\n\r\n\{"error":\{"code":"malformed_request_line"/);
    }

    const ids = Array.from({ length: 20 }, (_, i) => `cluster-${i}`);
    expect((await Promise.all(ids.map((id) => deliver(url, id)))).map((r) => r.status)).toEqual(ids.map(() => 200));

    // kill -9 a web process: the other keeps answering while the primary starts a new one.
    process.kill(first.web[0]!, 'SIGKILL');
    // (A keep-alive connection that was open to the killed process is reset; a sender retries.)
    await waitFor(
      async () => (await deliver(url, 'while-restarting').catch(() => undefined))?.status === 200,
      10_000,
      'an answer',
    );
    await waitFor(() => children(primary).web.length === 3, 60_000, 'the killed web process to be replaced');
    // kill -9 the worker: a new one takes over, and every event is processed.
    process.kill(first.worker[0]!, 'SIGKILL');
    await waitFor(() => children(primary).worker.length === 2, 60_000, 'the killed worker to be replaced');
    const db = await testDb.open();
    await waitFor(
      async () =>
        (await db.sql!`select count(*)::int as n from webhook_events where status = 'completed'`)[0]!.n === 21,
      60_000,
      'every event completed',
    );
    expect(primary.output()).toContain('a gateway process died; restarting it');

    process.kill(primary.pid, 'SIGTERM');
    expect(await primary.exited).toEqual({ code: 0, signal: null });
    const everyChild = [...children(primary).web, ...children(primary).worker];
    expect(everyChild.filter(alive)).toEqual([]);
    expect(primary.output()).toContain('all gateway processes stopped');
  }, 240_000);
});
