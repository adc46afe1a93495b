import pino from 'pino';
import type { Database } from '../../src/db/client';
import { createQueue } from '../../src/worker/queue-sql';
import { createWorker, type WorkerOptions } from '../../src/worker/worker';

/**
 * A worker on `database` the test drives itself: its cron never fires (once a year), logs are
 * silent, retries wait 10 ms; batch 10, concurrency 4, lease 30 s unless the test says otherwise.
 */
export function createTestWorker(
  database: Database,
  options: Pick<WorkerOptions, 'handlers'> & Partial<Omit<WorkerOptions, 'queue'>>,
) {
  return createWorker({
    queue: createQueue(database),
    logger: pino({ level: 'silent' }),
    cron: '0 0 1 1 *',
    batchSize: 10,
    concurrency: 4,
    leaseSeconds: 30,
    backoff: { baseMs: 10, maxMs: 10 },
    ...options,
  });
}
