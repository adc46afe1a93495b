import type { BenchDatabase } from '../lib/database';
import { spawnNode } from '../lib/processes';
import { waitForListener, type WorkerSettings } from './worker';

export interface OrderingRun {
  keys: number;
  jobs: number;
  unorderedPerSec: number;
  orderedPerSec: number;
  /** Both must equal `jobs`. */
  completedInDb: { unordered: number; ordered: number };
}

/**
 * Per-key ordering's cost to the worker (docs/ordering.md): the same no-op events through one
 * `start --role worker` process, first unordered, then spread over `keys` ordering keys (lanes).
 * The events are queued by SQL exactly as ingest queues them — an ordered lane's first event due,
 * the rest waiting at run_at 'infinity' — so only the worker's side is compared: claims are the
 * same statement, outcomes of ordered events also promote each lane's next head (one transaction).
 */
export async function measureOrdering(db: BenchDatabase, s: WorkerSettings, keys: number): Promise<OrderingRun> {
  const unordered = await runOnce(db, s, 0);
  const ordered = await runOnce(db, s, keys);
  return {
    keys,
    jobs: s.jobs,
    unorderedPerSec: unordered.perSec,
    orderedPerSec: ordered.perSec,
    completedInDb: { unordered: unordered.completed, ordered: ordered.completed },
  };
}

async function runOnce(db: BenchDatabase, s: WorkerSettings, keys: number) {
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
    const key = keys > 0 ? db.sql`'k' || (n % ${keys}::int)` : db.sql`null`;
    await db.sql`
      with e as (
        insert into webhook_events (source, webhook_id, topic, body, ordering_key)
        select 'bench', 'job-' || n, 'noop', convert_to('{"n":' || n || '}', 'UTF8'), ${key}
        from generate_series(1, ${s.jobs}::int) as n
        returning id, received_at, source, 'bench:' || ordering_key as lane
      )
      insert into event_queue (event_id, received_at, source, ordering_key, lane_pos, run_at)
      select id, received_at, source, lane, case when lane is not null then id end,
             case when lane is null or row_number() over (partition by lane order by id) = 1 then now()
                  else 'infinity'::timestamptz end
      from e`;
    // Timed from the commit, as the worker phase is: the lanes' insert is ingest's work, not the worker's.
    const started = performance.now();
    const deadline = Date.now() + 300_000;
    for (;;) {
      const [row] = await db.sql<[{ open: boolean }]>`select exists (select 1 from event_queue) as open`;
      if (!row.open || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    const elapsedMs = performance.now() - started;
    const [row] = await db.sql<
      [{ n: number }]
    >`select count(*)::int as n from webhook_events where status = 'completed'`;
    return { perSec: (s.jobs / elapsedMs) * 1000, completed: row.n };
  } finally {
    await proc.stop();
  }
}
