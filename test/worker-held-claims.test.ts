// The worker holds at most three claims per handler slot (src/worker/worker.ts,
// HELD_CLAIMS_PER_SLOT): enough that a claim need not wait for the previous outcome write, bounded
// so a stalled outcome write holds back claiming instead of piling up claims. Real PostgreSQL: the
// outcome writes are stalled by a lock another session holds on the attempt log, which the claim
// never touches.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../src/db/client';
import { runMigrations } from '../src/db/migrate';
import { createEventStore } from '../src/store/events';
import { HandlerRegistry } from '../src/worker/handlers';
import { createTestDatabase, databaseKinds, type TestDatabase } from './helpers/database';
import { waitFor } from './helpers/gateway';
import { createTestWorker } from './helpers/worker';

describe.runIf(databaseKinds().includes('postgres'))('claims held while outcome writes stall', () => {
  let testDb: TestDatabase;
  let database: Database;
  beforeAll(async () => {
    testDb = await createTestDatabase('postgres');
    database = await testDb.open({ poolSize: 6 });
    await runMigrations(database, testDb.url);
  });
  afterAll(async () => {
    await database?.close();
    await testDb?.drop();
  });

  it('claims up to three per handler slot, then waits; everything completes once the writes go through', async () => {
    const total = 60;
    const store = createEventStore(database);
    for (let i = 0; i < total; i++) {
      await store.insert({
        source: 'held',
        webhookId: `h-${i}`,
        topic: 't',
        body: Buffer.from('{}'),
        headers: {},
        maxAttempts: 3,
      });
    }
    const handled = new Set<number>();
    const handlers = new HandlerRegistry().on('held', '*', async (event) => void handled.add(event.id));
    const worker = createTestWorker(database, { handlers, batchSize: 4, concurrency: 4 });
    const held = async () => {
      const [row] = await database.rows<{ n: number }>(
        sql`select count(*)::int as n from event_queue where claim_token is not null`,
      );
      return row!.n;
    };

    // A session of its own holds the attempt log: every outcome write waits for it.
    const blocker = await database.sql!.reserve();
    try {
      await blocker`begin`;
      await blocker`lock table processing_log in exclusive mode`;
      void worker.tick();
      await waitFor(async () => (await held()) >= 12, 10_000, 'twelve claims held');
      // Another full drain (it returns once it may claim no more) must not claim beyond the bound.
      await worker.tick();
      expect(await held()).toBe(12);
      expect(handled.size).toBe(12);
      expect(worker.inFlight).toBe(12);
    } finally {
      await blocker`rollback`;
      blocker.release();
    }

    for (let round = 0; round < 50 && handled.size < total; round++) {
      await worker.tick();
      await worker.idle();
    }
    expect(handled.size).toBe(total);
    expect(await held()).toBe(0);
    await worker.stop(5_000);
  });
});
