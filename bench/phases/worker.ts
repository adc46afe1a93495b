import type { BenchDatabase } from '../lib/database';
import { spawnNode } from '../lib/processes';

export interface WorkerRun {
  system: 'gateway' | 'pg-boss' | 'graphile-worker';
  jobs: number;
  elapsedMs: number;
  perSec: number;
  /** Completed according to the database afterwards: must equal `jobs`. */
  completedInDb: number;
}

export interface WorkerSettings {
  jobs: number;
  /** Jobs fetched per query, and handlers running at once, for every system alike. */
  batch: number;
  concurrency: number;
}

/**
 * The gateway's worker (a real `start --role worker` process, no handler registered: each event
 * completes as a no-op) starts idle; `jobs` due events are inserted in one statement (their
 * NOTIFY wakes it), and the clock runs from that commit until the hot queue is empty (every event
 * completed or failed) — as graphile-worker's clock runs from its addJobs() and pg-boss's from its
 * first fetch, both after their jobs are stored.
 */
export async function measureGatewayWorker(db: BenchDatabase, s: WorkerSettings): Promise<WorkerRun> {
  await db.reset();
  const proc = spawnNode('src/main.ts', ['start', '--role', 'worker'], {
    DATABASE_URL: db.url,
    LOG_LEVEL: 'warn',
    DB_POOL_SIZE: '10',
    WORKER_BATCH_SIZE: String(s.batch),
    WORKER_CONCURRENCY: String(s.concurrency),
  });
  try {
    await waitForListener(db);
    // Queued as ingest queues them: the event and its event_queue row in one statement.
    await db.sql`
      with e as (
        insert into webhook_events (source, webhook_id, topic, body)
        select 'bench', 'job-' || n, 'noop', convert_to('{"n":' || n || '}', 'UTF8')
        from generate_series(1, ${s.jobs}::int) as n
        returning id, received_at, source
      )
      insert into event_queue (event_id, received_at, source) select id, received_at, source from e`;
    // Timed from the commit, as the libraries are (the insert itself took 300-500 ms of a ~3 s run).
    const started = performance.now();
    // Polled rather than LISTENed: a second listener would add its own notification work to the
    // database under test. The hot queue holds exactly the unfinished events; counting them through
    // the archive's status index instead walked every dead index entry the outcomes left, ~15 µs of
    // PostgreSQL CPU per event over a run (2026-12-03), taken from the worker being timed.
    const deadline = Date.now() + 180_000;
    for (;;) {
      const [row] = await db.sql<[{ open: boolean }]>`select exists (select 1 from event_queue) as open`;
      if (!row.open || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    const elapsedMs = performance.now() - started;
    const [row] = await db.sql<[{ n: number }]>`
      select count(*)::int as n from webhook_events e
      where status = 'completed' and (select count(*) from processing_log p where p.event_id = e.id and p.outcome = 'completed') = 1`;
    return { system: 'gateway', jobs: s.jobs, elapsedMs, perSec: (s.jobs / elapsedMs) * 1000, completedInDb: row.n };
  } finally {
    await proc.stop();
  }
}

/** pg-boss or graphile-worker, in a child process of its own (bench/queues/*.ts) on the same database. */
export async function measureQueueLibrary(
  db: BenchDatabase,
  system: 'pg-boss' | 'graphile-worker',
  s: WorkerSettings,
): Promise<WorkerRun> {
  await db.reset();
  const proc = spawnNode(`bench/queues/${system}.ts`, [], {
    DATABASE_URL: db.url,
    BENCH_JOBS: String(s.jobs),
    BENCH_BATCH: String(s.batch),
    BENCH_CONCURRENCY: String(s.concurrency),
    // pg-boss: two fetch loops of one batch each, so a fetch overlaps a completion as in the gateway.
    BENCH_LOOPS: '2',
  });
  try {
    await proc.line((l) => l === 'ready', 120_000);
    proc.send('go\n');
    const result = JSON.parse(await proc.line((l) => l.startsWith('{'), 180_000)) as {
      elapsedMs: number;
      completedInDb: number;
    };
    return {
      system,
      jobs: s.jobs,
      elapsedMs: result.elapsedMs,
      perSec: (s.jobs / result.elapsedMs) * 1000,
      completedInDb: result.completedInDb,
    };
  } finally {
    await proc.stop();
  }
}

/** The worker is ready once its process LISTENs (it claims on the notifications that follow). */
export async function waitForListener(db: BenchDatabase, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const [row] = await db.sql<[{ n: number }]>`
      select count(*)::int as n from pg_stat_activity
      where datname = ${db.name} and application_name = 'webhook-gateway' and query ilike 'listen%'`;
    if (row.n > 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the gateway worker did not start listening');
}
