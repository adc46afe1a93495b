// The gateway's PostgreSQL sessions turn JIT off. With JIT on, a generic plan over many day
// partitions of unanalyzed history was estimated above jit_above_cost and every claim compiled
// ~760 functions with LLVM: 7–12 s per claim (auto_explain, 1 M events of history), the end-to-end
// bench fell to 35 completed/s. The server's default (jit = on) must not reach the worker.
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../src/db/client';
import { createTestDatabase, postgresUrl } from './helpers/database';

describe.skipIf(!postgresUrl())('PostgreSQL session settings', () => {
  it('every pooled connection has jit off, whatever the server default', async () => {
    const testDb = await createTestDatabase('postgres');
    const database = await openDatabase({ url: testDb.url!, poolSize: 3 });
    try {
      // Set by the gateway's connection, not inherited: the server here has the default, jit = on.
      const [setting] = await database.rows<{ source: string; boot: string }>(
        sql`select source, boot_val as boot from pg_settings where name = 'jit'`,
      );
      expect(setting).toEqual({ source: 'client', boot: 'on' });
      // Three at once, so the pool opens three connections.
      const seen = await Promise.all(
        [1, 2, 3].map(() =>
          database.rows<{ jit: string; pid: number }>(
            sql`select current_setting('jit') as jit, pg_backend_pid() as pid, pg_sleep(0.05)`,
          ),
        ),
      );
      expect(new Set(seen.map(([row]) => row!.pid)).size).toBe(3);
      expect(seen.map(([row]) => row!.jit)).toEqual(['off', 'off', 'off']);
    } finally {
      await database.close();
      await testDb.drop();
    }
  });
});
