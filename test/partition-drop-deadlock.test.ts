// A read of the history that arrives while retention drops a day (the ops event view, an export
// page, a claim: statements that open every partition) must wait for the drop, not be chosen as a
// deadlock victim. PostgreSQL only: PGlite runs one statement at a time.
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../src/db/client';
import { runMigrations } from '../src/db/migrate';
import { createPartitions } from '../src/store/partitions';
import { createTestDatabase, postgresUrl, type TestDatabase } from './helpers/database';
import { waitFor } from './helpers/gateway';
import { partitionDay as day, heldTransaction } from './helpers/partition-tests';

describe.runIf(postgresUrl())('reading the history while a day is dropped, on postgres', () => {
  let testDb: TestDatabase;
  let database: Database;
  const waitingOn = (pattern: string) =>
    waitFor(
      async () =>
        (
          await database.rows<{ n: number }>(sql`
            select count(*)::int as n from pg_stat_activity
            where datname = current_database() and wait_event_type = 'Lock' and query like ${pattern}`)
        )[0]!.n > 0,
      10_000,
      `a statement like ${pattern} waiting for a lock`,
    );

  beforeAll(async () => {
    testDb = await createTestDatabase('postgres');
    database = await testDb.open();
    await runMigrations(database, testDb.url);
  }, 60_000);
  afterAll(() => testDb?.drop());

  it('an event lookup by id during the drop waits for it and then answers', async () => {
    await database.rows(sql`select gateway_ensure_partition(t, ((now() - interval '100 days') at time zone 'UTC')::date)
      from unnest(array['webhook_events', 'processing_log', 'delivery_attempts']) t`);
    const [old] = await database.rows<{ id: number }>(sql`
      with e as (
        insert into webhook_events (source, webhook_id, topic, body, content_hash, status, attempts, received_at, processed_at)
        values ('old', 'racing', 't', '\\x7b7d', sha256('\\x7b7d'), 'completed', 1,
                now() - interval '100 days', now() - interval '100 days')
        returning id, source, webhook_id, content_hash, received_at
      ), k as (
        insert into event_keys (source, webhook_id, event_id, content_hash, received_at)
        select source, webhook_id, id, content_hash, received_at from e
      )
      select id::int as id from e`);
    const name = `webhook_events_p${day(-100)}`;

    // A reader of the day holds it, so the drop, holding the parent's lock, waits for the day's;
    // the lookup arrives then. (The drop's first check reads the day too, alongside the reader.)
    const dayHeld = heldTransaction(testDb.url!, (tx) => tx.unsafe(`select count(*) from ${name}`));
    await dayHeld.running;
    const dropping = createPartitions(database)
      .dropExpired({ completedDays: 30, failedDays: 90 })
      .catch((err: unknown) => err);
    await waitingOn('%lock table%');

    // The ops event view's lookup: by id alone, so it opens every partition of webhook_events.
    const viewer = postgres(testDb.url!, { max: 1, onnotice: () => {} });
    const lookup = viewer`select id, status from webhook_events where id = ${old!.id}`.catch((err: unknown) => err);
    await waitingOn('%from webhook_events where id = %');
    await dayHeld.end();

    const [found, dropped] = await Promise.all([lookup, dropping]);
    await viewer.end();
    // The lookup ran after the drop: no error, and the event is gone with its day.
    expect(found).not.toBeInstanceOf(Error);
    expect((found as unknown[]).length).toBe(0);
    expect(dropped).toMatchObject({ dropped: expect.arrayContaining([name]) });
  }, 30_000);
});
