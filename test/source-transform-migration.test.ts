// Migration 0020 on a database that already has sources and attempts: every source's transform
// version starts at its version (no transformation yet), and older attempts record none.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { MIGRATIONS_FOLDER, runMigrations } from '../src/db/migrate';
import { createTestDatabase, databaseKinds, type TestDatabase } from './helpers/database';

/** The migrations folder as the previous release shipped it: everything before 0020. */
function previousRelease(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gw-migrations-'));
  cpSync(MIGRATIONS_FOLDER, dir, { recursive: true });
  const journalFile = join(dir, 'meta', '_journal.json');
  const journal = JSON.parse(readFileSync(journalFile, 'utf8')) as { entries: { idx: number }[] };
  journal.entries = journal.entries.filter((e) => e.idx < 20);
  writeFileSync(journalFile, JSON.stringify(journal));
  return dir;
}

describe.each(databaseKinds())('migration 0020 (source transformations) on %s', (kind) => {
  let testDb: TestDatabase;
  const folders: string[] = [];
  afterAll(async () => {
    await testDb?.drop();
    for (const dir of folders) rmSync(dir, { recursive: true, force: true });
  });

  it('keeps sources and attempts; transform_version starts at each source’s version', async () => {
    testDb = await createTestDatabase(kind);
    const database = await testDb.open();
    const folder = previousRelease();
    folders.push(folder);
    if (database.kind === 'pglite') {
      await migratePglite(drizzlePglite(database.pglite!), { migrationsFolder: folder });
    } else {
      const client = postgres(testDb.url!, { max: 1, onnotice: () => {} });
      await migratePostgres(drizzlePostgres(client), { migrationsFolder: folder });
      await client.end();
    }
    await database.rows(
      sql.raw(
        `insert into sources (name, provider, spec, version) values ('old', 'shopify', '{"rate_limit":{"per_second":5}}', 4)`,
      ),
    );
    const [event] = await database.rows<{ id: number }>(
      sql.raw(
        `insert into webhook_events (source, webhook_id, topic, body) values ('old', 'w-1', 't', '\\x7b7d') returning id`,
      ),
    );
    await database.rows(
      sql.raw(
        `insert into processing_log (event_id, attempt, worker, outcome) values (${event!.id}, 1, 'w', 'completed')`,
      ),
    );

    await runMigrations(database, testDb.url);

    const [source] = await database.rows<{ version: number; transform_version: number; spec: unknown }>(
      sql`select version, transform_version, spec from sources where name = 'old'`,
    );
    expect(source).toEqual({ version: 4, transform_version: 4, spec: { rate_limit: { per_second: 5 } } });
    const [attempt] = await database.rows<{ transform_version: number | null; outcome: string }>(
      sql`select transform_version, outcome from processing_log where event_id = ${event!.id}`,
    );
    expect(attempt).toEqual({ transform_version: null, outcome: 'completed' });
  });
});
