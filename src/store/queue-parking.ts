import { sql, type SQL } from 'drizzle-orm';

// A paused source's queued events are parked out of the claim's range (migration 0027): run_at
// becomes 'infinity' and their own run_at waits in parked_run_at until the source is resumed or
// deleted. The claim walks the due index in run_at order; a paused source's due events used to be
// skipped one by one by every claim — 59-74 ms per claim with 200,000 of them ahead of the others'
// (bench/sql/queue-source-cost.ts) — for as long as the pause lasted.
//
// Who parks: the pause, everything the source holds at that moment; the claim, the paused
// sources' due events at the front of the due range (arrivals, retries, lease recoveries, promoted
// lane heads after the pause). Who gives back: the resume and the delete, in the
// transaction that changes the source row. The claim parks under a FOR SHARE lock of the paused
// source's row, which the resume's and the delete's write of that row waits for; their unpark runs
// after it in the same transaction with a new snapshot, so it sees every row a claim parked. A
// claim that starts after the resume committed sees the source running and parks nothing.
//
// A parked lane head is not promoted (event_queue_promote, migration 0027): it is due on resume.
//
// Operators' counts treat a parked event as it was before it was parked (due, or scheduled for a
// retry, by parked_run_at): src/store/stats.ts, stats-minute.ts, alerts/conditions-sql.ts.

/** Parks what `source` holds now: unclaimed rows with a run_at (not a blocked head, nor a lane's waiting events). */
export const parkSource = (source: string): SQL => sql`
  update event_queue set parked_run_at = run_at, run_at = 'infinity'
  where source = ${source} and claim_token is null and run_at <> 'infinity'`;

/** Gives `source`'s parked rows their run_at back (by the partial index event_queue_parked_idx). */
export const unparkSource = (source: string): SQL => sql`
  update event_queue set run_at = parked_run_at, parked_run_at = null
  where source = ${source} and parked_run_at is not null`;

/**
 * The `set` of a statement that makes held queue rows due now (a destination resumed, a circuit
 * closed): a parked row keeps run_at 'infinity' and is due now once given back. Setting its run_at
 * left parked_run_at at the recheck time it was parked with, which the resume then gave back.
 */
export const dueNowSet = sql.raw(`run_at = case when parked_run_at is null then now() else run_at end,
  parked_run_at = case when parked_run_at is not null then now() end`);

/**
 * How far ahead in the due range a claim looks for a paused source's events to park: bounded, so
 * with everything already parked a claim pays for this many index entries (~1 ms), not for a walk
 * through the running sources' whole backlog on every claim while a source is paused.
 */
export const PARK_LOOKAHEAD = 1000;

/**
 * A CTE list for the claim: parks the paused sources' events among the first PARK_LOOKAHEAD due
 * rows, locking those sources' rows FOR SHARE (see above). SKIP LOCKED: two claims never wait for
 * each other's parking. With no source paused nothing is scanned (a one-time filter on an
 * initplan over the small sources table).
 */
export const parkDueOfPausedSources = sql.raw(`
  paused as (select name from sources where paused for share),
  met as (
    -- By key (the array): a semi-join may be planned as a hash over a scan of the whole queue.
    select q.event_id from event_queue q
    where q.event_id = any(array(
        select w.event_id from (
          select p.event_id, p.source from event_queue p
          where exists (select 1 from paused) and p.claim_token is null and p.run_at <= now()
          order by p.run_at, p.event_id
          limit ${PARK_LOOKAHEAD}
        ) w
        where w.source in (select name from paused)))
      and q.claim_token is null and q.run_at <= now()
    for update skip locked
  ),
  parked as (
    -- By key (the array): a join to met may be planned as a scan of the whole queue.
    update event_queue q set parked_run_at = q.run_at, run_at = 'infinity'
    where q.event_id = any(array(select event_id from met))
  )`);

/**
 * The queue's unclaimed due rows as operators count them (source, run_at): a parked row counts
 * by the run_at it had, so pausing a source changes no due count, backlog series or backlog alert.
 */
export const dueQueueRows = sql.raw(`(
  select source, run_at from event_queue
  where claim_token is null and run_at <= now() and parked_run_at is null
  union all
  select source, parked_run_at as run_at from event_queue where parked_run_at <= now()
) due_rows`);
