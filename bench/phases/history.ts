import type { BenchDatabase } from '../lib/database';
import { orderBody } from '../lib/webhook';

const CHUNK = 200_000;

/**
 * Adds `events` completed events (the bench's 1.5 KB order body, one finished attempt-log row each,
 * received over the past days) to the bench database with SQL, so the next measurements run on a
 * database with history, as a gateway has after weeks in production (with their keys in
 * event_keys, in day partitions). Triggers and foreign-key
 * checks are skipped while generating (session_replication_role = replica): history notifies
 * nobody. Nothing is vacuumed or analyzed afterwards: the server's own settings decide that, as
 * they would in production.
 *
 * `settleBacklog` turns events an ingest-only run left unprocessed into history too (completed), so
 * that every end-to-end run starts with an empty queue. Returns the seconds it took.
 */
export async function addHistory(db: BenchDatabase, events: number): Promise<number> {
  const started = performance.now();
  const body = Buffer.from(orderBody());
  const [{ first }] = await db.sql<[{ first: number }]>`select count(*)::int as first from webhook_events`;
  // The days of history get their partitions first, as the gateway would have made them ahead
  // (migration 0019); otherwise they would all land in the default partition.
  await db.sql`select gateway_ensure_partition(t, d::date)
               from unnest(array['webhook_events', 'processing_log', 'delivery_attempts']) t,
                    generate_series((now() at time zone 'UTC')::date - 31, (now() at time zone 'UTC')::date, interval '1 day') d`;
  await db.sql.begin(async (tx) => {
    await tx`set local session_replication_role = replica`;
    for (let from = 1; from <= events; from += CHUNK) {
      const to = Math.min(events, from + CHUNK - 1);
      await tx`
        with e as (
          insert into webhook_events (source, webhook_id, account, topic, status, body, headers, attempts,
                                      next_attempt_at, received_at, processed_at)
          select 'shopify', 'bench.myshopify.com/history-' || (${first}::int + n), 'bench.myshopify.com',
                 'orders/create', 'completed', ${body}::bytea, '{"content-type":"application/json"}'::jsonb, 1,
                 t, t, t + interval '15 milliseconds'
          from generate_series(${from}::int, ${to}::int) as n,
               lateral (select now() - interval '30 days' + n * (interval '30 days' / ${events}::int)) as at(t)
          returning id, source, webhook_id, body, received_at, processed_at
        ),
        k as (
          insert into event_keys (source, webhook_id, event_id, content_hash, received_at)
          select source, webhook_id, id, sha256(body), received_at from e
        )
        insert into processing_log (event_id, attempt, worker, started_at, finished_at, outcome)
        select id, 1, 'history', received_at, processed_at, 'completed' from e`;
    }
  });
  // One full read sets the rows' hint bits, as weeks of reads would have; then a checkpoint, so
  // the measurements after this do not pay for writing the generated pages.
  await db.sql`select count(*) from webhook_events`;
  await db.sql`select count(*) from processing_log`;
  await db.sql`checkpoint`.catch(() => {});
  return (performance.now() - started) / 1000;
}

/** Marks every unfinished event completed and empties the hot queue (when the schema has one). */
export async function settleBacklog(db: BenchDatabase): Promise<void> {
  await db.sql.begin(async (tx) => {
    await tx`
      update webhook_events set status = 'completed', processed_at = now()
      where status in ('received', 'processing')`;
    const [{ queue }] = await tx<[{ queue: string | null }]>`select to_regclass('event_queue')::text as queue`;
    if (queue) await tx`delete from event_queue`;
  });
}
