// Lease recovery reads the whole hot queue, so the worker looks for expired claims every 5 s (a
// quarter-lease apart for short leases) instead of on every tick (src/worker/worker.ts): with a backlog of 1 M events each look
// cost PostgreSQL ~90 ms, every second, per worker.
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { HandlerRegistry } from '../src/worker/handlers';
import { createQueue } from '../src/worker/queue-sql';
import { createWorker } from '../src/worker/worker';
import { useMigratedDatabase } from './helpers/database';

describe('how often the worker looks for expired leases', () => {
  const migrated = useMigratedDatabase('pglite');

  const workerWithLease = (leaseSeconds: number) => {
    const queue = createQueue(migrated.database);
    const looks: number[] = [];
    const counted = {
      ...queue,
      recoverExpiredLeases: (lease: number) => {
        looks.push(performance.now());
        return queue.recoverExpiredLeases(lease);
      },
    };
    const worker = createWorker({
      queue: counted,
      handlers: new HandlerRegistry(),
      logger: pino({ level: 'silent' }),
      cron: '0 0 1 1 *',
      batchSize: 10,
      concurrency: 4,
      leaseSeconds,
      backoff: { baseMs: 10, maxMs: 10 },
    });
    return { worker, looks };
  };

  it('looks at the first tick, then not again within 5 s', async () => {
    const { worker, looks } = workerWithLease(60);
    for (let i = 0; i < 5; i++) await worker.tick();
    expect(looks).toHaveLength(1);
  });

  it('looks again once a quarter of the lease has passed', async () => {
    const { worker, looks } = workerWithLease(1);
    await worker.tick();
    expect(looks).toHaveLength(1);
    const deadline = performance.now() + 10_000;
    while (looks.length < 2 && performance.now() < deadline) {
      await worker.tick();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(looks).toHaveLength(2);
    expect(looks[1]! - looks[0]!).toBeGreaterThanOrEqual(250);
  });
});
