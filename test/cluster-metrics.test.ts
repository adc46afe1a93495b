import { createHmac } from 'node:crypto';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, postgresUrl, type TestDatabase } from './helpers/database';
import { waitFor } from './helpers/gateway';
import { freePort, waitUntilHealthy } from './helpers/process';
import { killAllStarted, startBuilt, type StartedProcess } from './helpers/started-process';

const SECRET = 'cluster-metrics-shopify-secret';
const METRICS_TOKEN = 'cluster-metrics-scraper-token';
const WEBHOOKS = 12;

/** One request on a connection of its own (agent: false), so node:cluster hands each to the next web process. */
function request(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<{ status: number; text: string; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method, path, headers, agent: false, timeout: 20_000 },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, text, ms: performance.now() - started }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} did not answer in 20 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** A signed Shopify delivery (signature computed here with node:crypto). */
function deliver(port: number, id: string) {
  const body = JSON.stringify({ id, total_price: '1.00' });
  return request(
    port,
    'POST',
    '/api/webhooks/shopify/orders/create',
    {
      'content-type': 'application/json',
      'x-shopify-hmac-sha256': createHmac('sha256', SECRET).update(body).digest('base64'),
      'x-shopify-webhook-id': id,
      'x-shopify-shop-domain': 'metrics.myshopify.com',
      'x-shopify-topic': 'orders/create',
    },
    body,
  );
}

const scrape = (port: number, token = METRICS_TOKEN) =>
  request(port, 'GET', '/metrics', token ? { authorization: `Bearer ${token}` } : {});

/** The value of every series of `name` whose labels include `labels`, in a Prometheus text answer. */
function series(text: string, name: string, labels: Record<string, string> = {}): number[] {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .filter((line) => wanted.every((l) => line.slice(0, line.lastIndexOf(' ')).includes(l)))
    .map((line) => Number(line.slice(line.lastIndexOf(' ') + 1)));
}

/** pids of the children that logged their start-up summary, by role. */
function children(proc: StartedProcess) {
  const started = proc
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { msg: string; pid: number; role?: string })
    .filter((l) => l.msg === 'gateway listening' || l.msg === 'gateway started (worker only)');
  return {
    web: started.filter((l) => l.role === 'web').map((l) => l.pid),
    worker: started.filter((l) => l.role === 'worker').map((l) => l.pid),
  };
}

// `start --web-processes 2` with real processes on PostgreSQL: a scrape of /metrics on PORT reaches
// one web process, which answers for all three children (each web process's ingest counters, the
// worker's attempts), the same whichever process gets it.
describe.skipIf(!postgresUrl())('/metrics under start --web-processes', () => {
  let testDb: TestDatabase;
  let primary: StartedProcess;
  let port: number;

  beforeAll(async () => {
    testDb = await createTestDatabase('postgres');
    port = await freePort();
    primary = startBuilt(['start', '--web-processes', '2'], {
      DATABASE_URL: testDb.url!,
      PORT: String(port),
      HOST: '127.0.0.1',
      SHOPIFY_WEBHOOK_SECRET: SECRET,
      OPS_API_TOKEN: 'cluster-metrics-ops',
      METRICS_TOKEN,
      LOG_LEVEL: 'info',
      SHUTDOWN_TIMEOUT_MS: '2000',
    });
    await waitFor(
      () => children(primary).web.length === 2 && children(primary).worker.length === 1,
      120_000,
      'two web processes and a worker',
    );
    await waitUntilHealthy(`http://127.0.0.1:${port}/healthz`);
  }, 180_000);

  afterAll(async () => {
    killAllStarted();
    await testDb?.drop();
  });

  it('every scrape answers the whole group: all web processes’ ingest counters and the worker’s attempts', async () => {
    const ids = Array.from({ length: WEBHOOKS }, (_, i) => `metrics-${i}`);
    const answers = await Promise.all(ids.map((id) => deliver(port, id)));
    expect(answers.map((a) => a.status)).toEqual(ids.map(() => 200));
    // Duplicates and refusals too, each on a connection of its own (refusals have no ingest duration).
    const dups = await Promise.all(ids.slice(0, 4).map((id) => deliver(port, id)));
    expect(dups.map((a) => a.status)).toEqual([200, 200, 200, 200]);
    const bad = await Promise.all(
      [1, 2, 3].map((i) =>
        request(
          port,
          'POST',
          '/api/webhooks/shopify/orders/create',
          { 'x-shopify-hmac-sha256': 'AAAA', 'x-shopify-webhook-id': `b${i}`, 'content-type': 'application/json' },
          '{}',
        ),
      ),
    );
    expect(bad.map((a) => a.status)).toEqual([400, 400, 400]);
    const db = await testDb.open();
    await waitFor(
      async () =>
        (await db.sql!`select count(*)::int as n from webhook_events where status = 'completed'`)[0]!.n === WEBHOOKS,
      60_000,
      'every event completed',
    );

    expect((await scrape(port, '')).status).toBe(401);
    // Six scrapes on connections of their own: both web processes answer some of them.
    for (let i = 0; i < 6; i++) {
      const { status, text } = await scrape(port);
      expect(status).toBe(200);
      expect(series(text, 'webhook_gateway_requests_total', { outcome: 'accepted' })).toEqual([WEBHOOKS]);
      expect(series(text, 'webhook_gateway_processing_attempts_total', { outcome: 'completed' })).toEqual([WEBHOOKS]);
      expect(series(text, 'webhook_gateway_ingest_duration_seconds_count')).toEqual([WEBHOOKS + 4]);
      expect(series(text, 'webhook_gateway_requests_total', { outcome: 'duplicate' })).toEqual([4]);
      expect(series(text, 'webhook_gateway_requests_total', { outcome: 'rejected' })).toEqual([3]);
      expect(series(text, 'webhook_gateway_ingest_duration_seconds_bucket', { le: '+Inf' })).toEqual([WEBHOOKS + 4]);
      expect(series(text, 'webhook_gateway_processing_duration_seconds_bucket', { le: '+Inf' })).toEqual([WEBHOOKS]);
      // Read from the database once, not once per process.
      expect(series(text, 'webhook_gateway_queue_depth')).toEqual([0]);
      expect(series(text, 'webhook_gateway_queue_processing')).toEqual([0]);
      // Process metrics: one series per process.
      for (const process of ['web-0', 'web-1', 'worker']) {
        const [rss] = series(text, 'webhook_gateway_process_resident_memory_bytes', { process });
        expect(rss, process).toBeGreaterThan(0);
      }
      expect(series(text, 'webhook_gateway_process_resident_memory_bytes')).toHaveLength(3);
    }
  }, 120_000);

  it('a stopped process makes a scrape answer 503 metrics_incomplete within the bound, not hang', async () => {
    const [worker] = children(primary).worker;
    process.kill(worker!, 'SIGSTOP');
    try {
      const { status, text, ms } = await scrape(port);
      expect(status).toBe(503);
      const { error } = JSON.parse(text) as { error: { code: string; message: string } };
      expect(error.code).toBe('metrics_incomplete');
      expect(error.message).toContain('worker');
      expect(ms).toBeLessThan(8_000);
    } finally {
      process.kill(worker!, 'SIGCONT');
    }
    const again = await scrape(port);
    expect(again.status).toBe(200);
    expect(series(again.text, 'webhook_gateway_processing_attempts_total', { outcome: 'completed' })).toEqual([
      WEBHOOKS,
    ]);
  }, 60_000);

  it('while a killed process is being started again, scrapes answer at once without it; the primary counts the restart', async () => {
    const restarts = (text: string, process: string) =>
      series(text, 'webhook_gateway_process_restarts_total', { process });
    const before = (await scrape(port)).text;
    for (const process of ['web-0', 'web-1', 'worker']) expect(restarts(before, process), process).toEqual([0]);
    const [worker] = children(primary).worker;
    process.kill(worker!, 'SIGKILL');
    // Until the new worker has started, every scrape answers at once with the web processes' counters.
    let scrapes = 0;
    await waitFor(
      async () => {
        const { status, text, ms } = await scrape(port);
        scrapes++;
        expect(status).toBe(200);
        // Not the 3 s bound of a child that does not answer (that would also be a 503).
        expect(ms).toBeLessThan(3_000);
        expect(series(text, 'webhook_gateway_requests_total', { outcome: 'accepted' })).toEqual([WEBHOOKS]);
        return children(primary).worker.length === 2;
      },
      60_000,
      'the killed worker to be replaced',
    );
    expect(scrapes).toBeGreaterThan(1);
    // Once the new worker told the primary it started (just after its start-up line), it is in the answer again.
    await waitFor(
      async () =>
        series((await scrape(port)).text, 'webhook_gateway_process_resident_memory_bytes', { process: 'worker' })
          .length === 1,
      10_000,
      'the new worker in the scrape',
    );
    // Kept by the primary, so the count survives the process it counts.
    const after = (await scrape(port)).text;
    expect(restarts(after, 'worker')).toEqual([1]);
    expect([...restarts(after, 'web-0'), ...restarts(after, 'web-1')]).toEqual([0, 0]);
  }, 90_000);
});
