// The gateway's PostgreSQL sessions turn JIT off. With JIT on, a generic plan over many day
// partitions of unanalyzed history was estimated above jit_above_cost and every claim compiled
// ~760 functions with LLVM: 7–12 s per claim (auto_explain, 1 M events of history), the end-to-end
// bench fell to 35 completed/s. The server's default (jit = on) must not reach the worker.
// The hot statements' own connections plan each prepared statement once (src/db/client.ts,
// PLAN_ONCE): left to PostgreSQL's choice, the worker's outcome statement, whose parameters bound
// the day partitions it updates, was planned again on 82 % of its calls in the end-to-end bench.
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { openDatabase, splitPool, type Database } from '../src/db/client';
import { runMigrations } from '../src/db/migrate';
import { preparedRows } from '../src/db/statements';
import { createEventStore } from '../src/store/events';
import { createQueue } from '../src/worker/queue-sql';
import { createTestDatabase, postgresUrl } from './helpers/database';

describe('the connection budget', () => {
  it('splits DB_POOL_SIZE between the hot statements and the rest, at least one each', () => {
    expect(splitPool(10)).toEqual({ planned: 5, main: 5 });
    expect(splitPool(5)).toEqual({ planned: 2, main: 3 });
    expect(splitPool(2)).toEqual({ planned: 1, main: 1 });
    expect(splitPool(1)).toEqual({ planned: 1, main: 1 });
  });
});

describe.skipIf(!postgresUrl())('PostgreSQL session settings', () => {
  /** Runs `check` on the gateway's database handle for a new test database, then drops both. */
  async function withDatabase(
    poolSize: number,
    check: (database: Database, url: string) => Promise<void>,
    options: { backendFlushAfterKb?: number } = {},
  ) {
    const testDb = await createTestDatabase('postgres');
    const database = await openDatabase({ url: testDb.url!, poolSize, ...options });
    try {
      await check(database, testDb.url!);
    } finally {
      await database.close();
      await testDb.drop();
    }
  }

  it('every pooled connection has jit off, whatever the server default', () =>
    withDatabase(6, async (database) => {
      // Set by the gateway's connection, not inherited: the server here has the default, jit = on.
      const [setting] = await database.rows<{ source: string; boot: string }>(
        sql`select source, boot_val as boot from pg_settings where name = 'jit'`,
      );
      expect(setting).toEqual({ source: 'client', boot: 'on' });
      // Three at once on each pool, so each opens three connections.
      for (const client of [database.sql!, database.plannedSql!]) {
        const seen = await Promise.all(
          [1, 2, 3].map(() => client`select current_setting('jit') as jit, pg_backend_pid() as pid, pg_sleep(0.05)`),
        );
        expect(new Set(seen.map(([row]) => row!.pid)).size).toBe(3);
        expect(seen.map(([row]) => row!.jit)).toEqual(['off', 'off', 'off']);
      }
    }));

  // src/db/client.ts, flushAfter: dirty pages handed to the kernel in small steps, not in one
  // 300 MB write-back every 30 s that stalls commits.
  it('every pooled connection asks the kernel to write back after 256 kB; DB_BACKEND_FLUSH_AFTER_KB=0 leaves the server default', async () => {
    const settingsOf = async (database: Database) => {
      const seen: string[] = [];
      for (const client of [database.sql!, database.plannedSql!]) {
        const rows = await Promise.all(
          [1, 2].map(() => client`select current_setting('backend_flush_after') as value, pg_sleep(0.05)`),
        );
        seen.push(...rows.map(([row]) => row!.value as string));
      }
      return seen;
    };
    await withDatabase(4, async (database) => {
      const [setting] = await database.rows<{ source: string; boot: string }>(
        sql`select source, boot_val as boot from pg_settings where name = 'backend_flush_after'`,
      );
      expect(setting).toEqual({ source: 'client', boot: '0' });
      expect(await settingsOf(database)).toEqual(['256kB', '256kB', '256kB', '256kB']);
    });
    await withDatabase(4, async (database) => expect(await settingsOf(database)).toEqual(['0', '0', '0', '0']), {
      backendFlushAfterKb: 0,
    });
  });

  it('the hot statements pass timestamps and JSON through as text, as drizzle does on the other pool', () =>
    withDatabase(2, async (database) => {
      const run = preparedRows(database);
      // postgres.js alone would send a timestamptz parameter as a JS Date (milliseconds) and encode
      // a jsonb parameter that is already JSON text a second time.
      const at = '2026-12-04 05:02:39.825904+00';
      const [row] = await run<{ at: string; micros: number; kind: string }>(
        sql`select ${at}::timestamptz as at, extract(microseconds from ${at}::timestamptz)::int as micros,
                   jsonb_typeof(${JSON.stringify(['a'])}::jsonb) as kind`,
      );
      expect(row).toEqual({ at, micros: 39825904, kind: 'array' });
    }));

  // Pool size 2: one connection for the hot statements, so pg_prepared_statements below is theirs.
  it("plans the worker's claim and outcome statements once, and leaves the ops API's reads to the server", () =>
    withDatabase(2, async (database, url) => {
      await runMigrations(database, url);
      const store = createEventStore(database);
      const queue = createQueue(database);
      // More rounds than PostgreSQL's five custom plans before it weighs a generic one.
      for (let round = 0; round < 8; round++) {
        for (let i = 0; i < 3; i++) {
          await store.insert({
            source: 'plans',
            webhookId: `r${round}-${i}`,
            topic: 't',
            body: Buffer.from('{}'),
            headers: {},
            maxAttempts: 3,
          });
        }
        const claimed = await queue.claim('test:plans', 10);
        expect(claimed).toHaveLength(3);
        const recorded = await queue.finishMany(claimed.map((event) => ({ event, result: { outcome: 'completed' } })));
        expect(recorded.size).toBe(3);
      }
      const statements = await database.plannedSql!<{ statement: string; generic: number; custom: number }[]>`
        select statement, generic_plans::int as generic, custom_plans::int as custom from pg_prepared_statements`;
      const outcome = statements.find((s) => s.statement.includes('delete from event_queue'));
      const claim = statements.find((s) => s.statement.includes('for update skip locked'));
      expect(outcome).toMatchObject({ generic: 8, custom: 0 });
      expect(claim).toMatchObject({ generic: 8, custom: 0 });
      const [main] = await database.sql!<{ mode: string }[]>`select current_setting('plan_cache_mode') as mode`;
      expect(main!.mode).toBe('auto');
    }));
});
