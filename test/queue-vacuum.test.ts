// The queue's own VACUUM (and autovacuum, migration 0021) keeps the empty tail a drained backlog
// leaves: truncating it would take an ACCESS EXCLUSIVE lock that stops every claim and outcome.
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { createQueue } from '../src/worker/queue-sql';
import { databaseKinds, useMigratedDatabase } from './helpers/database';

describe.each(databaseKinds())('hot queue maintenance on %s', (kind) => {
  const db = useMigratedDatabase(kind);

  it('vacuums a drained queue without giving its pages back (no exclusive lock), and autovacuum is told the same', async () => {
    const { database } = db;
    // A backlog of 5,000 queue rows, then drained (their events are not needed for this).
    await database.rows(sql`
      insert into event_queue (event_id, received_at) select g, now() from generate_series(1, 5000) g`);
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
});
