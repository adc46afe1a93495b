// Upgrade tests: a database migrated as an earlier release left it, before the migration under test.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

/** Applies the migrations numbered below `before`: the schema the previous release shipped. */
export async function migrateToPreviousRelease(
  testDb: TestDatabase,
  database: Database,
  before: number,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'gw-migrations-'));
  try {
    cpSync(MIGRATIONS_FOLDER, dir, { recursive: true });
    const journalFile = join(dir, 'meta', '_journal.json');
    const journal = JSON.parse(readFileSync(journalFile, 'utf8')) as { entries: { idx: number }[] };
    journal.entries = journal.entries.filter((e) => e.idx < before);
    writeFileSync(journalFile, JSON.stringify(journal));
    if (database.kind === 'pglite') {
      await migratePglite(drizzlePglite(database.pglite!), { migrationsFolder: dir });
    } else {
      const client = postgres(testDb.url!, { max: 1, onnotice: () => {} });
      await migratePostgres(drizzlePostgres(client), { migrationsFolder: dir });
      await client.end();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
