import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { waitFor } from '../helpers/gateway';
import { freePort, waitUntilHealthy } from '../helpers/process';
import { killAllStarted, startBuilt, type StartedProcess } from '../helpers/started-process';
import {
  RELIABILITY_SECRETS,
  missing,
  recordSummary,
  resendUntilAcknowledged,
  runLoad,
  shopifyDelivery,
  shopifyWebhookId,
  sleep,
  tally,
} from './harness';
import { startOwnPostgres, type OwnPostgres } from './own-postgres';

// At scale: 2 web + 2 worker processes (the compiled gateway, as deployed) on one PostgreSQL of the
// test's own. Under load, random gateway processes are killed with -9 and restarted, and the
// database itself is stopped with `-m immediate` and later killed with -9, each time restarted.
// Afterwards: nothing acknowledged is lost, nothing is stored twice, nothing is stuck, and the
// backlog drains.
describe('2 web + 2 worker processes, kill -9 of processes and of PostgreSQL under load', () => {
  let pg: OwnPostgres;
  let sql: postgres.Sql;
  beforeAll(async () => {
    pg = await startOwnPostgres();
    sql = postgres(pg.url, { max: 2, onnotice: () => {}, connect_timeout: 5 });
  }, 180_000);
  afterAll(async () => {
    killAllStarted();
    await sleep(500); // a restart scheduled just before may have started one more
    killAllStarted();
    await sql?.end({ timeout: 1 }).catch(() => {});
    pg?.destroy();
  });

  it('loses nothing acknowledged, stores nothing twice, leaves nothing stuck, drains the backlog', async () => {
    const env = {
      DATABASE_URL: pg.url,
      HOST: '127.0.0.1',
      SHOPIFY_WEBHOOK_SECRET: RELIABILITY_SECRETS.shopify,
      OPS_API_TOKEN: RELIABILITY_SECRETS.ops,
      LOG_LEVEL: 'info',
      DB_CONNECT_TIMEOUT_SECONDS: '2',
      DB_WRITE_TIMEOUT_MS: '3000',
      WORKER_LEASE_SECONDS: '5',
      WORKER_CRON: '* * * * * *',
      SHUTDOWN_TIMEOUT_MS: '2000',
    };
    const ports = [await freePort(), await freePort()];
    // Like a process manager with restart=always: a process that exits (killed, or refused to start
    // while PostgreSQL was down) is started again.
    let supervising = true;
    const supervise = (role: 'web' | 'worker', port?: number) => {
      const slot = { role, port, proc: undefined as unknown as StartedProcess };
      const launch = () => {
        slot.proc = startBuilt(['start', '--role', role], { ...env, PORT: String(port ?? 0) });
        void slot.proc.exited.then(() => supervising && setTimeout(launch, 300));
      };
      launch();
      return slot;
    };
    const processes = [...ports.map((port) => supervise('web', port)), supervise('worker'), supervise('worker')];
    for (const port of ports) await waitUntilHealthy(`http://127.0.0.1:${port}/healthz`, 120_000);
    await Promise.all(
      processes
        .filter((p) => p.role === 'worker')
        .map((p) => p.proc.waitForOutput('gateway started (worker only)', 120_000)),
    );

    let done = false;
    let turn = 0;
    const load = runLoad({
      concurrency: 12,
      maxRequests: 200_000,
      keyPrefix: 'scale',
      until: () => done,
      timeoutMs: 10_000,
      request: (key) => shopifyDelivery(`http://127.0.0.1:${ports[turn++ % 2]}`, key),
    });

    let faults = 0;
    const killRandomProcess = async () => {
      const victim = processes[Math.floor(Math.random() * processes.length)]!;
      victim.proc.child.kill('SIGKILL');
      await victim.proc.exited;
      faults += 1;
    };
    await sleep(2000);
    await killRandomProcess();
    await sleep(1500);
    await killRandomProcess();
    await sleep(1500);
    pg.stopImmediate();
    faults += 1;
    await sleep(2000);
    await pg.start();
    await sleep(2000);
    await killRandomProcess();
    await sleep(1500);
    await pg.kill9();
    faults += 1;
    await sleep(1500);
    await pg.start();
    await sleep(3000);
    done = true;
    const result = await load;
    for (const port of ports) await waitUntilHealthy(`http://127.0.0.1:${port}/readyz`, 120_000);

    const lost = await missing(sql, 'shopify', [...result.acknowledged].map(shopifyWebhookId));
    const unresendable = await resendUntilAcknowledged(`http://127.0.0.1:${ports[0]}`, result.failed);
    await waitFor(async () => (await tally(sql, 'shopify')).stuck === 0, 120_000, 'the backlog to drain').catch(
      () => {},
    );
    const counts = await tally(sql, 'shopify');
    recordSummary({
      scenario: '2 web + 2 workers, kill -9 of processes and PostgreSQL (own server)',
      faults,
      sent: result.sent,
      acknowledged: result.acknowledged.size,
      stored: counts.stored,
      lost: lost.length,
      duplicates: counts.duplicates,
      stuck: counts.stuck,
    });
    expect(result.acknowledged.size).toBeGreaterThan(100);
    expect(lost).toEqual([]);
    expect(unresendable).toEqual([]);
    expect(counts).toMatchObject({ duplicates: 0, stuck: 0 });
    expect(counts.completed).toBe(counts.stored);
    supervising = false;
  }, 600_000);
});
