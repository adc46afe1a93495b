import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client';
import { runMigrations } from '../../src/db/migrate';
import { createEventStore } from '../../src/store/events';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { waitFor } from '../helpers/gateway';
import { recordSummary, serverUrl, tally } from './harness';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Every worker process started, ready or not: afterAll kills them all, even after a failed test. */
const started = new Set<ChildProcess>();

function spawnWorker(url: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/gateway-process.ts', '--role', 'worker'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      DATABASE_URL: url,
      HANDLER_DELAY_MS: '200',
      RECORD_RUNS: '1',
      LOG_LEVEL: 'warn',
      WORKER_CRON: '* * * * * *',
      WORKER_LEASE_SECONDS: '2',
      WORKER_CONCURRENCY: '10',
      RETRY_BASE_MS: '50',
      RETRY_MAX_MS: '200',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  started.add(child);
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('gateway ready') && resolve(child));
    child.once('exit', (code) => reject(new Error(`worker exited early (${code})`)));
  });
}

// Real processes, real PostgreSQL, real SIGKILL: the only honest way to test crash recovery.
describe('worker processes killed with SIGKILL', () => {
  let testDb: TestDatabase;
  let db: Database;
  const children = new Set<ChildProcess>();
  beforeAll(async () => {
    process.env.TEST_DATABASE_URL ??= serverUrl();
    testDb = await createTestDatabase('postgres');
    db = await testDb.open();
    await runMigrations(db, testDb.url);
    await db.sql!`create table handler_runs (event_id bigint, attempt int, worker text, at timestamptz default now())`;
  });
  afterAll(async () => {
    for (const child of started) child.kill('SIGKILL');
    await testDb?.drop();
  });

  it('every event ends completed once; nothing is stuck; no stale worker writes an outcome', async () => {
    const total = 300;
    for (let i = 0; i < 3; i++) children.add(await spawnWorker(testDb.url!));
    const store = createEventStore(db);
    let accepted = 0;
    for (let i = 0; i < total; i++) {
      const result = await store.insert({
        source: 'crash',
        webhookId: `c-${i}`,
        topic: 't',
        body: Buffer.from('{}'),
        headers: {},
        maxAttempts: 8,
      });
      if (result.status === 'accepted') accepted += 1;
    }

    // Six times: wait until a live worker is running an attempt, kill that one with SIGKILL (so the
    // kill interrupts real work, however slowly a loaded machine starts the workers), and start a
    // replacement without waiting for it.
    let kills = 0;
    const spawning: Promise<unknown>[] = [];
    for (let round = 0; round < 6; round++) {
      const found = await waitFor(
        async () => {
          // A running attempt is a claim on the queue row (its log row is written when it ends).
          const running = await db.sql!<
            { worker: string }[]
          >`select locked_by as worker from event_queue where claim_token is not null`;
          const pids = new Set(running.map((r) => Number(r.worker.split(':').pop())));
          const child = [...children].find((c) => pids.has(c.pid!) && c.exitCode === null);
          if (child) return { child };
          return (await tally(db.sql!, 'crash')).stuck === 0 ? { child: undefined } : undefined;
        },
        90_000,
        'a worker running an attempt',
      );
      const victim = found?.child;
      if (!victim) break; // every event finished: nothing left to interrupt
      victim.kill('SIGKILL');
      children.delete(victim);
      kills += 1;
      spawning.push(spawnWorker(testDb.url!).then((child) => children.add(child)));
    }
    await Promise.all(spawning);
    expect(kills).toBeGreaterThan(0);

    await waitFor(async () => (await tally(db.sql!, 'crash')).stuck === 0, 90_000, 'all events to finish').catch(
      () => {},
    );
    const counts = await tally(db.sql!, 'crash');
    recordSummary({
      scenario: 'kill -9 workers while processing',
      faults: kills,
      sent: total,
      acknowledged: accepted,
      stored: counts.stored,
      lost: accepted - counts.stored,
      duplicates: counts.duplicates,
      stuck: counts.stuck,
    });
    expect(counts).toMatchObject({ stored: total, duplicates: 0, stuck: 0 });

    const [summary] = await db.sql!`
      select count(*) filter (where status = 'completed')::int as completed,
             count(*) filter (where status = 'failed')::int as failed,
             (select count(*)::int from processing_log where outcome = 'running')
               + (select count(*)::int from event_queue) as running_attempts
      from webhook_events`;
    expect(summary).toEqual({ completed: total, failed: 0, running_attempts: 0 });

    // Exactly one completed attempt per event, and it is the event's last attempt.
    const badCompletions = await db.sql!`
      select e.id from webhook_events e
      left join processing_log p on p.event_id = e.id and p.outcome = 'completed'
      group by e.id, e.attempts
      having count(p.id) <> 1 or max(p.attempt) filter (where p.id is not null) <> e.attempts`;
    expect(badCompletions).toHaveLength(0);

    // The handler ran at least once for every event (at-least-once processing).
    const [{ handled }] = await db.sql!<
      [{ handled: number }]
    >`select count(distinct event_id)::int as handled from handler_runs`;
    expect(handled).toBe(total);

    // The kills really interrupted work: some attempts were abandoned and recovered.
    const [{ abandoned }] = await db.sql!<
      [{ abandoned: number }]
    >`select count(*)::int as abandoned from processing_log where outcome = 'abandoned'`;
    expect(abandoned).toBeGreaterThan(0);
  }, 150_000);
});
