// Creating a missing day partition while ingest is adding rows for that day to the default
// partition (PostgreSQL only: PGlite has one connection, so nothing inserts while the partition is
// made). The insert must not make the creation fail, and its row must end up in the new partition.
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../src/db/client';
import { runMigrations } from '../src/db/migrate';
import { createPartitions } from '../src/store/partitions';
import { createTestDatabase, postgresUrl, type TestDatabase } from './helpers/database';
import { waitFor } from './helpers/gateway';

const day = (offsetDays: number) => new Date(Date.now() + offsetDays * 86_400_000).toISOString().slice(0, 10);

describe.runIf(postgresUrl())('creating a missing day partition under ingest, on postgres', () => {
  let testDb: TestDatabase;
  let database: Database;

  beforeAll(async () => {
    testDb = await createTestDatabase('postgres');
    database = await testDb.open();
    await runMigrations(database, testDb.url);
  }, 60_000);
  afterAll(() => testDb?.drop());

  it('an insert for that day landing in the default partition meanwhile is moved in, and the days are made', async () => {
    // The partition of the day after tomorrow is missing (as after runs that could not get their lock).
    const missing = `webhook_events_p${day(2).replaceAll('-', '')}`;
    await database.rows(sql`drop table ${sql.identifier(missing)}`);
    // An ingest transaction has stored an event of that day in the default partition, not committed yet.
    const ingest = postgres(testDb.url!, { max: 1, onnotice: () => {} });
    let commit!: () => void;
    const committed = new Promise<void>((resolve) => (commit = resolve));
    let inserted!: () => void;
    const insertedOnce = new Promise<void>((resolve) => (inserted = resolve));
    const ingestDone = ingest.begin(async (tx) => {
      await tx`insert into webhook_events (source, webhook_id, topic, body, received_at)
               values ('s', 'in-flight', 't', '\\x7b7d'::bytea, ${`${day(2)}T12:00:00Z`}::timestamptz)`;
      inserted();
      await committed;
    });
    await insertedOnce;
    try {
      const creating = createPartitions(await testDb.open()).createAhead(7);
      creating.catch(() => {});
      // Evidence that the creation reached the default partition and waits for the ingest's lock.
      await waitFor(
        async () =>
          (
            await database.rows<{ n: number }>(sql`
              select count(*)::int as n from pg_stat_activity
              where datname = current_database() and wait_event_type = 'Lock' and query like '%gateway_partitions_ahead%'`)
          )[0]!.n > 0,
        5_000,
        'the partition creation waiting for the ingest',
      );
      commit();
      await ingestDone;
      expect(await creating).toBe(1);
    } finally {
      commit();
      await ingest.end();
    }
    const [row] = await database.rows<{ home: string }>(
      sql`select tableoid::regclass::text as home from webhook_events where webhook_id = 'in-flight'`,
    );
    expect(row?.home).toBe(missing);
    expect((await database.rows<{ n: number }>(sql`select count(*)::int as n from webhook_events_default`))[0]!.n).toBe(
      0,
    );
  });
});
