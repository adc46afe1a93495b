// The queue's own VACUUM (and autovacuum, migration 0021) keeps the empty tail a drained backlog
// leaves: truncating it would take an ACCESS EXCLUSIVE lock that stops every claim and outcome.
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { startQueueMaintenance } from '../src/worker/leases';
import { createQueue } from '../src/worker/queue-sql';
import { waitFor } from './helpers/gateway';
import { databaseKinds, useMigratedDatabase } from './helpers/database';

describe.each(databaseKinds())('hot queue maintenance on %s', (kind) => {
  const db = useMigratedDatabase(kind);

  it('vacuums a drained queue without giving its pages back (no exclusive lock), and autovacuum is told the same', async () => {
    const { database } = db;
    // A backlog of 5,000 queue rows, then drained (their events are not needed for this).
    await database.rows(sql`
      insert into event_queue (event_id, received_at, source) select g, now(), 'vacuum' from generate_series(1, 5000) g`);
    await database.rows(sql`delete from event_queue`);
    const size = async () =>
      Number((await database.rows<{ n: string }>(sql`select pg_relation_size('event_queue') as n`))[0]!.n);
    const before = await size();
    expect(before).toBeGreaterThan(8192 * 10);
    await createQueue(database).maintain();
    expect(await size()).toBe(before);
    // A plain VACUUM would have truncated it: the table's option is what stops autovacuum.
    const [options] = await database.rows<{ options: string[] | null }>(
      sql`select reloptions as options from pg_class where relname = 'event_queue'`,
    );
    expect(options!.options).toContain('vacuum_truncate=false');
    await database.rows(sql`vacuum (truncate true) event_queue`);
    expect(await size()).toBeLessThan(before);
  });

  it('analyzes the queue as soon as it has doubled, long before the next vacuum, so prepared statements are re-planned', async () => {
    const { database } = db;
    await database.rows(sql`delete from event_queue`);
    await database.rows(sql`vacuum (analyze, truncate true) event_queue`);
    const estimate = async () =>
      Number(
        (
          await database.rows<{ n: string }>(
            sql`select reltuples::bigint as n from pg_class where relname = 'event_queue'`,
          )
        )[0]!.n,
      );
    expect(await estimate()).toBeLessThan(100);
    const timer = startQueueMaintenance(createQueue(database), 3_600_000, () => false, pino({ level: 'silent' }), 20);
    try {
      // The first check takes the size the statements were planned at; then a burst fills the
      // queue, a commit at a time as ingest does. An analyze runs whenever the table has doubled
      // since the last one, so the last one saw at least half of the 20,000 rows.
      await new Promise((resolve) => setTimeout(resolve, 100));
      for (let from = 1; from <= 20_000; from += 1_000) {
        await database.rows(sql`
          insert into event_queue (event_id, received_at, source) select g, now(), 'vacuum' from generate_series(${from}::int, ${from + 999}::int) g`);
      }
      await waitFor(async () => (await estimate()) >= 8_000, 10_000, 'event_queue analyzed');
    } finally {
      clearInterval(timer);
      await database.rows(sql`delete from event_queue`);
    }
  });
});
