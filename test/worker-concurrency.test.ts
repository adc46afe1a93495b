import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import type { Database } from '../src/db/client';
import { runMigrations } from '../src/db/migrate';
import { createEventStore } from '../src/store/events';
import { HandlerRegistry } from '../src/worker/handlers';
import { createQueue } from '../src/worker/queue-sql';
import { createWorker } from '../src/worker/worker';
import { createTestDatabase, databaseKinds, type TestDatabase } from './helpers/database';

// Concurrency is only meaningful against a real server: several pools, real row locks.
describe.runIf(databaseKinds().includes('postgres'))('several workers on one PostgreSQL', () => {
  let testDb: TestDatabase;
  let pools: Database[];
  beforeAll(async () => {
    testDb = await createTestDatabase('postgres');
    pools = await Promise.all([0, 1, 2, 3].map(() => testDb.open({ poolSize: 4 })));
    await runMigrations(pools[0]!, testDb.url);
  });
  afterAll(() => testDb?.drop());

  it('never run the same attempt twice and leave nothing behind', async () => {
    const total = 400;
    const store = createEventStore(pools[0]!);
    for (let i = 0; i < total; i++) {
      await store.insert({
        source: 'load',
        webhookId: `e-${i}`,
        topic: 't',
        body: Buffer.from(`{"n":${i}}`),
        headers: {},
        maxAttempts: 8,
      });
    }
    const handledBy = new Map<number, string[]>();
    const workers = pools.map((database, index) => {
      const workerId = `host-${index}:${1000 + index}`;
      const handlers = new HandlerRegistry().on('load', '*', async (event) => {
        handledBy.set(event.id, [...(handledBy.get(event.id) ?? []), workerId]);
        await new Promise((r) => setTimeout(r, Math.random() * 3));
      });
      return createWorker({
        queue: createQueue(database),
        handlers,
        logger: pino({ level: 'silent' }),
        cron: '0 0 1 1 *',
        batchSize: 10,
        concurrency: 5,
        leaseSeconds: 30,
        backoff: { baseMs: 10, maxMs: 10 },
        workerId,
      });
    });
    // All four drain at once, repeatedly, until the queue is empty.
    for (let round = 0; round < 50 && handledBy.size < total; round++) {
      await Promise.all(workers.map((w) => w.tick()));
      await Promise.all(workers.map((w) => w.idle()));
    }

    expect(handledBy.size).toBe(total);
    const twice = [...handledBy.entries()].filter(([, by]) => by.length !== 1);
    expect(twice).toEqual([]);
    const busyWorkers = new Set([...handledBy.values()].flat());
    expect(busyWorkers.size).toBeGreaterThan(1);

    const [summary] = await pools[0]!.sql!<{ completed: string; attempts: string; logged: string }[]>`
      select count(*) filter (where status = 'completed') as completed,
             sum(attempts) as attempts,
             (select count(*) from processing_log where outcome = 'completed') as logged
      from webhook_events`;
    expect(summary).toEqual({ completed: String(total), attempts: String(total), logged: String(total) });
  });
});
