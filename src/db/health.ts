import { sql } from 'drizzle-orm';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import type { Database } from './client';
import { MIGRATIONS_FOLDER } from './migrate';

export interface Readiness {
  ready: boolean;
  checks: { database: 'ok' | 'unreachable'; migrations: 'ok' | 'pending' | 'unknown' };
}

// The migrations this build ships: read once. Reading and hashing the 31 files took ~1 ms of the
// event loop, on every readiness probe; they do not change while the process runs.
let shipped: number | undefined;
const shippedMigrations = () => (shipped ??= readMigrationFiles({ migrationsFolder: MIGRATIONS_FOLDER }).length);

/** Is the database reachable, and has every committed migration been applied? */
export async function checkReadiness(database: Database, timeoutMs = 2000): Promise<Readiness> {
  const expected = shippedMigrations();
  const probe = database.rows<{ applied: number }>(
    sql`select count(*)::int as applied from drizzle.__drizzle_migrations`,
  );
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
  });
  try {
    const [row] = await Promise.race([probe, timeout]);
    const migrations = (row?.applied ?? 0) >= expected ? 'ok' : 'pending';
    return { ready: migrations === 'ok', checks: { database: 'ok', migrations } };
  } catch {
    probe.catch(() => {});
    return { ready: false, checks: { database: 'unreachable', migrations: 'unknown' } };
  } finally {
    clearTimeout(timer);
  }
}
