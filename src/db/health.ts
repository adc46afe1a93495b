import { sql } from 'drizzle-orm';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import type { Database } from './client';
import { MIGRATIONS_FOLDER } from './migrate';

export interface Readiness {
  ready: boolean;
  /**
   * migrations: `newer` when the database holds migrations this build does not ship (a newer
   * release migrated it during a rolling deploy): still ready, unless storing fails because of it
   * (src/db/schema-drift.ts).
   */
  checks: { database: 'ok' | 'unreachable'; migrations: 'ok' | 'pending' | 'newer' | 'unknown' };
}

// The migrations this build ships: read once. Reading and hashing the 31 files took ~1 ms of the
// event loop, on every readiness probe; they do not change while the process runs.
let shipped: number | undefined;
export const shippedMigrations = () => (shipped ??= readMigrationFiles({ migrationsFolder: MIGRATIONS_FOLDER }).length);

/** Is the database reachable, and has every committed migration been applied? */
export async function checkReadiness(database: Database, timeoutMs = 2000): Promise<Readiness> {
  const expected = shippedMigrations();
  const probe = appliedMigrations(database);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
  });
  try {
    const applied = await Promise.race([probe, timeout]);
    const migrations = applied > expected ? 'newer' : applied === expected ? 'ok' : 'pending';
    return { ready: migrations !== 'pending', checks: { database: 'ok', migrations } };
  } catch {
    probe.catch(() => {});
    return { ready: false, checks: { database: 'unreachable', migrations: 'unknown' } };
  } finally {
    clearTimeout(timer);
  }
}

/** How many migrations the database has had applied (by this release or any other). */
export async function appliedMigrations(database: Database): Promise<number> {
  const [row] = await database.rows<{ applied: number }>(
    sql`select count(*)::int as applied from drizzle.__drizzle_migrations`,
  );
  return row?.applied ?? 0;
}
