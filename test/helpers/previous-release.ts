// Upgrade tests: a database migrated as an earlier release left it, before the migration under test.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
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

/**
 * Stores an event as releases before migration 0025 did — key, archive row and a queue row without
 * its source — for upgrade tests that start from such a schema (today's store writes the source).
 */
export async function storeEventBefore0025(
  database: Database,
  event: { source: string; webhookId: string; body: Buffer },
): Promise<void> {
  await database.rows(sql`
    with keyed as (
      insert into event_keys (source, webhook_id, event_id, content_hash, received_at)
      values (${event.source}, ${event.webhookId}, nextval('webhook_events_id_seq'), '\\x00', now()) returning *),
    e as (
      insert into webhook_events (id, source, webhook_id, topic, body, received_at)
      overriding system value
      select event_id, source, webhook_id, 't', ${event.body}, received_at from keyed returning id, received_at)
    insert into event_queue (event_id, received_at) select id, received_at from e`);
}
