// What a destination's health costs with N delivery attempts kept (default 3 M over 30 days, three
// destinations): readHealth, as GET /api/destinations calls it, three times. Run:
// node --import tsx bench/sql/destination-health-cost.ts (docs/performance.md, *A destination's health*).
import { readHealth } from '../../src/control/destination-health';
import { openDatabase } from '../../src/db/client';
import { createBenchDatabase } from '../lib/database';

const db = await createBenchDatabase(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
try {
  const n = Number(process.env.N ?? 3_000_000);
  await db.sql`select gateway_ensure_partition('delivery_attempts', d::date)
    from generate_series((now() at time zone 'UTC')::date - 31, (now() at time zone 'UTC')::date, interval '1 day') d`;
  await db.sql`insert into delivery_attempts (event_id, attempt, destination, started_at, duration_ms, outcome, http_status)
    select g, 1, 'dest-' || (g % 3), now() - interval '30 days' + g * (interval '30 days' / ${n}::int), 12,
           case when g % 50 = 0 then 'failed' else 'delivered' end, 200
    from generate_series(1, ${n}::int) g`;
  const database = await openDatabase({ url: db.url, poolSize: 4 });
  try {
    for (let i = 0; i < 3; i++) {
      const started = performance.now();
      const health = await readHealth(database.rows, ['dest-0', 'dest-1', 'dest-2'], 5);
      const first = health.get('dest-0')!;
      console.log(
        `readHealth ${(performance.now() - started).toFixed(0)} ms (dest-0: ${first.delivered} delivered, ${first.failed} failed)`,
      );
    }
  } finally {
    await database.close();
  }
} finally {
  await db.drop();
}
