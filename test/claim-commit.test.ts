// A claim is a lease, not a result: its commit does not wait for the WAL to reach the disk
// (src/worker/queue-sql.ts, claim). The outcome's commit still does. The server's commit_delay
// makes every WAL flush of a commit sleep first (PostgreSQL's XLogFlush; commit_siblings 0 = always),
// so a commit that waits for its flush takes at least that long and one that does not, far less.
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../src/db/client';
import { runMigrations } from '../src/db/migrate';
import { createEventStore } from '../src/store/events';
import { createQueue } from '../src/worker/queue-sql';
import { createTestDatabase, postgresUrl } from './helpers/database';

const FLUSH_DELAY_MS = 100;

describe.skipIf(!postgresUrl())('the durability of claims and outcomes (PostgreSQL)', () => {
  it('a claim commits without waiting for its WAL flush, an outcome waits for it, and the session keeps its setting', async () => {
    const testDb = await createTestDatabase('postgres');
    const name = new URL(testDb.url!).pathname.slice(1);
    const admin = postgres(postgresUrl()!, { max: 1, onnotice: () => {} });
    await admin.unsafe(`alter database ${name} set commit_delay = ${FLUSH_DELAY_MS * 1000}`);
    await admin.unsafe(`alter database ${name} set commit_siblings = 0`);
    await admin.end();
    // Pool size 2: one connection for the hot statements, so the setting read below is the claim's session's.
    const database = await openDatabase({ url: testDb.url!, poolSize: 2 });
    try {
      await runMigrations(database, testDb.url!);
      const store = createEventStore(database);
      const queue = createQueue(database);
      for (let i = 0; i < 3; i++) {
        await store.insert({
          source: 'durability',
          webhookId: `e${i}`,
          topic: 't',
          body: Buffer.from('{}'),
          headers: {},
          maxAttempts: 3,
        });
      }
      const timed = async <T>(run: () => Promise<T>) => {
        const started = performance.now();
        const value = await run();
        return { value, ms: performance.now() - started };
      };
      const claims = [];
      const outcomes = [];
      for (let i = 0; i < 3; i++) {
        const claim = await timed(() => queue.claim('test:durability', 1));
        expect(claim.value).toHaveLength(1);
        claims.push(claim.ms);
        const outcome = await timed(() =>
          queue.finishMany(claim.value.map((event) => ({ event, result: { outcome: 'completed' } }))),
        );
        expect(outcome.value.size).toBe(1);
        outcomes.push(outcome.ms);
      }
      // Every outcome slept through the delay before its flush: the setting is in force.
      expect(Math.min(...outcomes)).toBeGreaterThanOrEqual(FLUSH_DELAY_MS);
      // No claim did (the fastest of three, so one slow moment of a loaded machine cannot decide).
      expect(Math.min(...claims)).toBeLessThan(FLUSH_DELAY_MS);
      // Local to the claim's transaction: the hot statements' session still commits synchronously.
      const [row] = await database.plannedSql!<
        { mode: string }[]
      >`select current_setting('synchronous_commit') as mode`;
      expect(row!.mode).toBe('on');
      const [completed] = await database.rows<{ n: number }>(
        sql`select count(*)::int as n from webhook_events where status = 'completed'`,
      );
      expect(completed!.n).toBe(3);
    } finally {
      await database.close();
      await testDb.drop();
    }
  });
});
