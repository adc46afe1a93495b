// A destination's health counts its last 24 hours and reads its last deliveries newest first, by
// the (destination, started_at) index of migration 0026, however many days of deliveries are kept.
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { readHealth } from '../src/control/destination-health';
import { databaseKinds, useMigratedDatabase } from './helpers/database';

describe.each(databaseKinds())('destination health on %s', (kind) => {
  const db = useMigratedDatabase(kind);

  beforeAll(async () => {
    const { database } = db;
    // Yesterday's and older partitions exist as retention keeps them.
    await database.rows(sql`select gateway_ensure_partition('delivery_attempts', ((now() - make_interval(days => d)) at time zone 'UTC')::date)
      from generate_series(1, 3) d`);
    const attempt = (eventId: number, destination: string, ago: string, outcome: string) =>
      database.rows(sql`insert into delivery_attempts (event_id, attempt, destination, started_at, duration_ms, outcome, http_status)
        values (${eventId}, 1, ${destination}, now() - ${ago}::interval, 5, ${outcome}, 200)`);
    await attempt(1, 'crm', '3 days', 'delivered');
    await attempt(2, 'crm', '2 days', 'failed');
    await attempt(3, 'crm', '25 hours', 'delivered');
    await attempt(4, 'crm', '3 hours', 'delivered');
    await attempt(5, 'crm', '2 hours', 'failed');
    await attempt(6, 'crm', '1 hour', 'delivered');
    await attempt(7, 'crm', '1 minute', 'delivered');
    await attempt(8, 'erp', '1 minute', 'delivered');
  }, 60_000);

  it('counts the last 24 hours and lists the last deliveries newest first', async () => {
    const health = await readHealth(db.database.rows, ['crm', 'erp', 'idle'], 5);
    const crm = health.get('crm')!;
    expect({ delivered: crm.delivered, failed: crm.failed }).toEqual({ delivered: 3, failed: 1 });
    expect(crm.last.map((d) => d.eventId)).toEqual([7, 6, 5, 4, 3]);
    expect(crm.last[2]).toMatchObject({ outcome: 'failed', attempt: 1, httpStatus: 200 });
    expect(health.get('erp')).toMatchObject({ delivered: 1, failed: 0 });
    expect(health.get('erp')!.last.map((d) => d.eventId)).toEqual([8]);
    expect(health.get('idle')).toMatchObject({ delivered: 0, failed: 0, held: 0, last: [] });
  });

  it('has the index every day partition reads it by', async () => {
    const partitions = await db.database.rows<{ n: number; indexed: number }>(sql`
      select count(*)::int as n,
             count(*) filter (where exists (
               select 1 from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
               where i.indrelid = c.oid and a.attname = 'destination'))::int as indexed
      from pg_inherits h join pg_class c on c.oid = h.inhrelid
      where h.inhparent = 'delivery_attempts'::regclass`);
    expect(partitions[0]!.n).toBeGreaterThan(3);
    expect(partitions[0]!.indexed).toBe(partitions[0]!.n);
  });
});
