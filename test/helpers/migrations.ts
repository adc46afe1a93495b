// Upgrade tests: a database migrated as an earlier release left it, then by the current migrations.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import type { Database } from '../../src/db/client';
import { MIGRATIONS_FOLDER } from '../../src/db/migrate';
import type { TestDatabase } from './database';

/** A copy of the migrations folder as the release before migration `idx` shipped it (the caller removes it). */
export function migrationsBefore(idx: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'gw-migrations-'));
  cpSync(MIGRATIONS_FOLDER, dir, { recursive: true });
  const journalFile = join(dir, 'meta', '_journal.json');
  const journal = JSON.parse(readFileSync(journalFile, 'utf8')) as { entries: { idx: number }[] };
  journal.entries = journal.entries.filter((e) => e.idx < idx);
  writeFileSync(journalFile, JSON.stringify(journal));
  return dir;
}

/** Applies the migrations of `folder` (one from migrationsBefore) to the test database. */
export async function migrateFrom(folder: string, database: Database, testDb: TestDatabase): Promise<void> {
  if (database.kind === 'pglite') {
    await migratePglite(drizzlePglite(database.pglite!), { migrationsFolder: folder });
    return;
  }
  const client = postgres(testDb.url!, { max: 1, onnotice: () => {} });
  await migratePostgres(drizzlePostgres(client), { migrationsFolder: folder });
  await client.end();
}
