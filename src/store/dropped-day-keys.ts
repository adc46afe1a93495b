import { sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { deleteKeysAndConflicts } from './conflicts-of-deleted-keys';

/**
 * The exactly-once keys of the days retention dropped (src/store/partitions.ts), with the
 * conflicts and audit references of their events. A day's keys go only after its drop has
 * committed, never before: a key deleted while its event still existed let a copy of the delivery
 * be stored as a second event. So for the length of a run — or until the next run, should this one
 * stop between the drop and here — a dropped event's key outlives it, and a copy is acknowledged
 * as a duplicate of it.
 *
 * The days are found from the keys themselves (by event_keys.received_at): every day before
 * `before` that holds keys and has no partition of webhook_events any more. That is all dropped
 * days, including those of a run that stopped halfway, at one index probe per day that has keys.
 * A key whose event sits in the default partition (it arrived when its day had no partition, see
 * gateway_ensure_partition) stays: the row purge deletes it with its event. No partition is ever
 * created for a past day (gateway_partitions_ahead starts at today), so a day found without one
 * stays without one while its keys are deleted.
 */
export async function deleteKeysOfDroppedDays(
  database: Database,
  before: Date,
  partitionDays: ReadonlySet<string>,
): Promise<number> {
  // A loose index scan: the first key of each UTC day, one probe of event_keys_received_idx per day.
  const days = await database.rows<{ day: string }>(sql`
    with recursive days(day) as (
      select (min(received_at) at time zone 'UTC')::date from event_keys
      where received_at < ${before.toISOString()}::timestamptz
      union all
      select (select (min(k.received_at) at time zone 'UTC')::date from event_keys k
              where k.received_at >= (d.day + 1)::timestamp at time zone 'UTC'
                and k.received_at < ${before.toISOString()}::timestamptz)
      from days d where d.day is not null
    )
    select to_char(day, 'YYYY-MM-DD') as day from days where day is not null`);
  let deleted = 0;
  for (const { day } of days) {
    if (partitionDays.has(day.replaceAll('-', ''))) continue;
    let from = `${day}T00:00:00Z`;
    const to = new Date(new Date(from).getTime() + 86_400_000).toISOString();
    for (;;) {
      const batch = await deleteBatch(database, from, to);
      deleted += batch.n;
      if (batch.n < KEY_BATCH || !batch.last) break;
      // On from where this batch ended: the index entries of the keys just deleted stay until
      // vacuum, and starting every batch at the day's start read them all again (3.5 s instead of
      // 1 s for a day of 200,000 keys).
      from = batch.last;
    }
  }
  return deleted;
}

// A copy of a delivery whose key a batch is deleting waits for the batch's commit, and with it the
// ingest batch it is in: a batch of 10,000 keys took 50–100 ms (PostgreSQL 15, load 15), where one
// statement for a whole day made it wait for all of the day's keys.
const KEY_BATCH = 10_000;

/**
 * Up to KEY_BATCH keys of [from, to), oldest first, whose event is not in the default partition,
 * then what referred to their events by id: audit references are cleared, and their conflicts go
 * in a second statement (deleteKeysAndConflicts), so a conflict settled against one of these keys
 * while it was being deleted goes too.
 * SKIP LOCKED: two gateways' runs share the work instead of waiting for each other, and a key that
 * a conflicting copy holds (settleCopies) is left, with its conflict, for the next run.
 */
async function deleteBatch(database: Database, from: string, to: string): Promise<{ n: number; last: string | null }> {
  const gone = await deleteKeysAndConflicts<{ id: string; at: string }>(
    database,
    sql`
    with doomed as (
      select k.ctid from event_keys k
      where k.received_at >= ${from}::timestamptz and k.received_at < ${to}::timestamptz
        -- The default partition's rows of this day only (usually none), whatever the plan.
        and not exists (select 1 from webhook_events_default e
                        where e.received_at >= ${from}::timestamptz and e.received_at < ${to}::timestamptz
                          and e.id = k.event_id and e.received_at = k.received_at)
      order by k.received_at
      limit ${KEY_BATCH}
      for update of k skip locked
    ),
    -- By ctid and by = any(array): index and TID lookups, where a join read the whole of
    -- event_keys into a hash for every batch (330 ms per batch with 200,000 keys).
    gone as (
      delete from event_keys k where k.ctid = any(array(select ctid from doomed))
      returning k.event_id, k.received_at
    ),
    audit as (update system_log s set source_event_id = null where s.source_event_id = any(array(select event_id from gone)))
    select event_id as id, to_char(received_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as at
    from gone`,
  );
  // The same fixed-width UTC text for every key: the greatest string is the latest time.
  let last: string | null = null;
  for (const row of gone) if (last === null || row.at > last) last = row.at;
  return { n: gone.length, last };
}
