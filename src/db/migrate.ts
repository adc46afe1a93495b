import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { MIGRATIONS_DIR } from '../resources';
import type { Database } from './client';

export const MIGRATIONS_FOLDER = MIGRATIONS_DIR;

// Any constant works; it only has to be the same for every gateway process.
const MIGRATION_LOCK_KEY = 7_245_301_113;

/**
 * Applies the committed drizzle-kit migrations. On PostgreSQL several processes may start at once,
 * so the run is serialised with an advisory lock held on one dedicated connection.
 */
export async function runMigrations(database: Database, url?: string): Promise<void> {
  if (database.kind === 'pglite') {
    // Loaded only for PGlite: a gateway on PostgreSQL never reads PGlite's modules (idle RSS).
    const [{ drizzle: drizzlePglite }, { migrate: migratePglite }] = await Promise.all([
      import('drizzle-orm/pglite'),
      import('drizzle-orm/pglite/migrator'),
    ]);
    await migratePglite(drizzlePglite(database.pglite!), { migrationsFolder: MIGRATIONS_FOLDER });
    return;
  }
  const sql = postgres(url!, { max: 1, onnotice: () => {}, connect_timeout: 10 });
  try {
    await sql`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`;
    await migratePostgres(drizzlePostgres(sql), { migrationsFolder: MIGRATIONS_FOLDER });
    await sql`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`;
  } finally {
    await sql.end({ timeout: 5 });
  }
}
