import type { BenchDatabase } from '../lib/database';

/**
 * Stores `n` due events of `source`, received `age` ago (an interval), with their hot-queue rows,
 * in one statement (triggers off: no NOTIFY per row). For the scripts that measure statements
 * against a backlog.
 */
export function addQueued(db: BenchDatabase, source: string, n: number, age: string) {
  return db.sql.begin(async (tx) => {
    await tx`set local session_replication_role = replica`;
    await tx`with e as (
      insert into webhook_events (source, webhook_id, topic, body, headers, received_at)
      select ${source}, ${source} || '-' || n, 'orders/create', convert_to(repeat('x', 1500), 'UTF8'), '{}'::jsonb, now() - ${age}::interval
      from generate_series(1, ${n}::int) n returning id, received_at, source)
      insert into event_queue (event_id, received_at, run_at, source) select id, received_at, received_at, source from e`;
  });
}
