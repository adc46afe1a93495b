// Migration 0020 on a database that already has sources and attempts: every source's transform
// version starts at its version (no transformation yet), and older attempts record none.
import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { runMigrations } from '../src/db/migrate';
import { createTestDatabase, databaseKinds, type TestDatabase } from './helpers/database';
import { migrateToPreviousRelease } from './helpers/previous-release';

describe.each(databaseKinds())('migration 0020 (source transformations) on %s', (kind) => {
  let testDb: TestDatabase;
  afterAll(async () => {
    await testDb?.drop();
  });

  it('keeps sources and attempts; transform_version starts at each source’s version', async () => {
    testDb = await createTestDatabase(kind);
    const database = await testDb.open();
    await migrateToPreviousRelease(testDb, database, 20);
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
