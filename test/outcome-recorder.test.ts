import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger';
import { createEventStore } from '../src/store/events';
import { createOutcomeRecorder } from '../src/worker/outcome-recorder';
import { createQueue, type Queue } from '../src/worker/queue-sql';
import { DAY_MS, restoreClock, stepClock } from './helpers/clock';
import { useMigratedDatabase } from './helpers/database';

// The outcome recorder retries a failed write for up to one lease. That lease is timed on the
// monotonic clock: a wall clock stepped forward meanwhile must not make it give up on an outcome
// whose claim is still held (the event would run again after its lease for nothing).

describe('outcome recorder', () => {
  const migrated = useMigratedDatabase('pglite');

  it('a wall clock stepped a day forward during a failed write does not give the outcome up', async () => {
    const { database } = migrated;
    await createEventStore(database).insert({
      source: 'shopify',
      webhookId: 'recorder-1',
      topic: 'orders/create',
      body: Buffer.from('{}'),
      headers: {},
      maxAttempts: 8,
    });
    const queue = createQueue(database);
    const [event] = await queue.claim('host:1', 1);
    // The real queue, with its first outcome write failing as if the database were gone, and the
    // clock stepping forward a day while it fails.
    let failures = 0;
    const flaky: Queue = {
      ...queue,
      finishMany: async (finished) => {
        if (failures++ === 0) {
          stepClock(DAY_MS);
          throw new Error('connection lost');
        }
        return queue.finishMany(finished);
      },
    };
    try {
      const recorder = createOutcomeRecorder(flaky, createLogger('silent'), 30_000);
      expect(await recorder.record({ event: event!, result: { outcome: 'completed' } })).toBe('recorded');
    } finally {
      restoreClock();
    }
    expect(failures).toBe(2);
    const [row] = await database.rows<{ status: string }>(
      sql`select status from webhook_events where webhook_id = 'recorder-1'`,
    );
    expect(row!.status).toBe('completed');
  });
});
