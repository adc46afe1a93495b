// Migration 0015 on a database that already has destinations and deliveries: every destination
// gets a rule version equal to its version, no transform, and older delivery rows no rule version.
import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { runMigrations } from '../src/db/migrate';
import { createTestDatabase, databaseKinds, type TestDatabase } from './helpers/database';
import { migrateToPreviousRelease } from './helpers/previous-release';

describe.each(databaseKinds())('migration 0015 (transformations) on %s', (kind) => {
  let testDb: TestDatabase;
  afterAll(async () => {
    await testDb?.drop();
  });

  it('keeps destinations and deliveries; rule_version starts at each destination’s version', async () => {
    testDb = await createTestDatabase(kind);
    const database = await testDb.open();
    await migrateToPreviousRelease(testDb, database, 15);
    await database.rows(
      sql.raw(`insert into destinations (name, url, key_id, iv, tag, ciphertext, fingerprint, version, filter)
               values ('old', 'http://127.0.0.1:9/x', 'k', '\\x00', '\\x00', '\\x00', 'f', 3, '{"topic":"a/*"}')`),
    );
    const [event] = await database.rows<{ id: number }>(
      sql.raw(
        `insert into webhook_events (source, webhook_id, topic, body) values ('s', 'w-1', 't', '\\x7b7d') returning id`,
      ),
    );
    await database.rows(
      sql.raw(`insert into delivery_attempts (event_id, attempt, destination, started_at, duration_ms, outcome)
               values (${event!.id}, 1, 'old', now(), 5, 'delivered')`),
    );

    await runMigrations(database, testDb.url);

    const [destination] = await database.rows<{ rule_version: number; transform: unknown; filter: unknown }>(
      sql`select rule_version, transform, filter from destinations where name = 'old'`,
    );
    expect(destination).toMatchObject({ rule_version: 3, transform: null, filter: { topic: 'a/*' } });
    const [delivery] = await database.rows<{ rule_version: number | null; outcome: string }>(
      sql`select rule_version, outcome from delivery_attempts where destination = 'old'`,
    );
    expect(delivery).toEqual({ rule_version: null, outcome: 'delivered' });
  });
});
