// The row purge (src/store/retention.ts) reads only the days past its cutoff: with 35 days of
// history, each of its statements is run under EXPLAIN (ANALYZE, BUFFERS) and the day partitions of
// webhook_events it scanned are read off the plan. It used to read every day kept, twice: to find
// nothing to delete (4 s a run with 1 M events), and as a hash of all history to delete a batch
// (8.7 s a batch; docs/performance.md).
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../src/db/client';
import { runMigrations } from '../src/db/migrate';
import { createRetention } from '../src/store/retention';
import { createTestDatabase, databaseKinds, type TestDatabase } from './helpers/database';
import { partitionDay } from './helpers/partition-tests';
import { explaining, partitionsScanned, type Explained } from './helpers/plans';

const HISTORY_DAYS = 35;
const EVENTS_PER_DAY = 100;

describe.each(databaseKinds())('the row purge reads only the days past retention, on %s', (kind) => {
  let testDb: TestDatabase;
  let database: Database;
  const plans: Explained[] = [];

  /** The day partitions of webhook_events (not the default one) scanned by the purge's statements. */
  async function daysScanned(completedDays: number): Promise<{ deleted: number; days: string[] }> {
    plans.length = 0;
    const purged = await createRetention(explaining(database, plans)).purge({
      completedDays,
      failedDays: 90,
      batchSize: 1000,
    });
    expect(plans.length).toBeGreaterThan(0);
    const days = new Set<string>();
    for (const { plan } of plans)
      for (const name of partitionsScanned(plan).get('webhook_events') ?? [])
        if (!name.endsWith('_default')) days.add(name.slice('webhook_events_p'.length));
    return { deleted: purged.completed, days: [...days].sort() };
  }

  beforeAll(async () => {
    testDb = await createTestDatabase(kind);
    database = await testDb.open();
    await runMigrations(database, testDb.url);
    await database.rows(sql`
      select gateway_ensure_partition(t, (now() at time zone 'UTC')::date - d)
      from unnest(array['webhook_events', 'processing_log', 'delivery_attempts']) t, generate_series(0, ${HISTORY_DAYS}::int) d`);
    // Completed events of each day, as the worker leaves them, with their keys.
    await database.rows(sql`
      with e as (
        insert into webhook_events (source, webhook_id, topic, body, content_hash, status, attempts, received_at, processed_at)
        select 'history', 'h-' || d || '-' || n, 't', '\\x7b7d', sha256('\\x7b7d'), 'completed', 1, t, t + interval '1 second'
        from generate_series(1, ${HISTORY_DAYS}::int) d, generate_series(1, ${EVENTS_PER_DAY}::int) n,
             lateral (select now() - make_interval(days => d) - make_interval(mins => n) as t) x
        returning id, source, webhook_id, content_hash, received_at
      )
      insert into event_keys (source, webhook_id, event_id, content_hash, received_at)
      select source, webhook_id, id, content_hash, received_at from e`);
    if (kind === 'postgres') await database.rows(sql`analyze`);
  }, 180_000);
  afterAll(async () => {
    await database?.close();
    await testDb?.drop();
  });

  it('with nothing past retention, no day of events is read', async () => {
    const { deleted, days } = await daysScanned(60);
    expect(deleted).toBe(0);
    expect(days).toEqual([]);
  });

  it('a batch reads and deletes only the days past the cutoff', async () => {
    const { deleted, days } = await daysScanned(30);
    // Days 31 to 35 ago, and the part of the day 30 days ago before the cutoff.
    expect(deleted).toBeGreaterThanOrEqual(5 * EVENTS_PER_DAY);
    expect(days.length).toBeGreaterThan(0);
    for (const day of days) expect(day <= partitionDay(-30), `webhook_events_p${day} scanned`).toBe(true);
    const [left] = await database.rows<{ n: number }>(sql`
      select count(*)::int as n from webhook_events where processed_at < now() - interval '30 days'`);
    expect(left!.n).toBe(0);
  });
});
