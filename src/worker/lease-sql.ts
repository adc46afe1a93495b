import { sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { inTransaction } from '../db/statements';
import { promoteLanes } from '../ordering/lanes-sql';
import { archiveRowOf } from '../store/archive-row';
import type { ClaimedEvent } from './claim-sql';
import { rangeOf, type Range } from './received-range';

// The statements of a claim's lease: the heartbeat, the hand-back at shutdown and the recovery of
// expired claims (src/worker/queue-sql.ts exposes them; src/worker/leases.ts times them).

/** Heartbeat: extends the lease of events this worker still holds (queue rows only). */
export async function extendClaimLeases(database: Database, claimTokens: readonly string[]): Promise<void> {
  if (claimTokens.length === 0) return;
  await database.rows(sql`update event_queue set locked_at = now() where claim_token in ${claimTokens}`);
}

/**
 * Hands back claims this worker cannot finish (shutdown): the events are due again at once and
 * the interrupted attempts are logged as abandoned. Fenced like finish(). An interrupted attempt
 * counts, except the last: the next claim (attempts + 1) would start one beyond max_attempts,
 * and failing the event for a shutdown would be worse, so the last attempt runs again under
 * its own number (lease recovery, after a crash the event may have caused, fails it instead).
 */
export async function releaseClaims(
  database: Database,
  events: readonly ClaimedEvent[],
  reason: string,
): Promise<number> {
  if (events.length === 0) return 0;
  const tokens = events.map((e) => e.claimToken);
  const range = rangeOf(events);
  const released = await database.rows(sql`
      with requeued as (
        -- Joined to itself for the claim's holder: RETURNING gives the row as updated.
        update event_queue q set run_at = now(), locked_by = null, locked_at = null, claim_token = null
        from event_queue held
        where held.event_id = q.event_id and q.claim_token in ${tokens}
        returning q.event_id, q.received_at, q.attempt, q.attempt_id, q.attempt_started_at, held.locked_by
      ),
      released as (
        update webhook_events e
        set status = 'received', next_attempt_at = now(),
            attempts = case when r.attempt >= e.max_attempts then r.attempt - 1 else coalesce(r.attempt, e.attempts) end,
            last_error = ${reason}
        from requeued r where e.id = r.event_id and e.received_at = r.received_at
          and e.received_at between ${range.receivedFrom}::timestamptz and ${range.receivedTo}::timestamptz
        returning e.id
      ),
      abandoned as (${logAbandoned('requeued', reason)})
      select id from released`);
  return released.length;
}

/**
 * Returns events whose worker stopped heart-beating (crashed, killed, partitioned) to due, or
 * to failed (queue row deleted) when that was their last attempt; the abandoned attempt counts
 * and stays in the log. Clearing the queue row's claim token fences the old worker out. Only
 * expired queue rows are searched; events and attempt-log rows are reached by primary key.
 */
export async function recoverExpiredClaims(
  database: Database,
  leaseSeconds: number,
  blocking: () => ReadonlySet<string>,
): Promise<number> {
  // One transaction: an ordered head that ran out of attempts leaves its lane (or blocks it)
  // and the next head is promoted before anyone else can see the lane without a head.
  // The expired claims' range of each partition key first (see recordOutcomes, src/worker/outcome-sql.ts); a claim that
  // expires between the two statements is outside it and is recovered on the next run.
  const [found] = await database.rows<Record<keyof Range, string | null>>(sql`
      select min(received_at)::text as "receivedFrom", max(received_at)::text as "receivedTo"
      from event_queue
      where claim_token is not null and locked_at < now() - make_interval(secs => ${leaseSeconds})`);
  if (!found?.receivedFrom || !found.receivedTo) return 0;
  const range = found;
  const recovered = await inTransaction(database, async (run) => {
    const found = await run<{ id: string | number; lane: string | null; last: boolean }>(sql`
      with expired as (
        select q.event_id, q.received_at, q.attempt_id, q.attempt_started_at, q.locked_by, q.ordering_key,
               coalesce(q.attempt, e.attempts) as attempt,
               coalesce(q.attempt, e.attempts) >= e.max_attempts as last,
               q.ordering_key is not null and jsonb_exists(${JSON.stringify([...blocking()])}::jsonb, e.source) as blocks
        -- The archive row by a lateral lookup, one partition probe per claim (archiveRowOf).
        from event_queue q ${archiveRowOf('q', 'e.attempts, e.max_attempts, e.source')}
        where q.claim_token is not null and q.locked_at < now() - make_interval(secs => ${leaseSeconds})
          and q.received_at between ${range.receivedFrom}::timestamptz and ${range.receivedTo}::timestamptz
        for update of q skip locked
      ),
      dequeued as (
        delete from event_queue q using expired x where q.event_id = x.event_id and x.last and not x.blocks
      ),
      blocked as (
        update event_queue q
        set run_at = 'infinity', blocked_at = now(), locked_by = null, locked_at = null, claim_token = null, held_for = null
        from expired x where q.event_id = x.event_id and x.last and x.blocks
      ),
      requeued as (
        update event_queue q set run_at = now(), locked_by = null, locked_at = null, claim_token = null
        from expired x where q.event_id = x.event_id and not x.last
      ),
      recovered as (
        update webhook_events e
        set status = case when x.last then 'failed' else 'received' end,
            attempts = x.attempt,
            processed_at = case when x.last then now() else e.processed_at end,
            next_attempt_at = now(),
            last_error = 'lease expired: worker ' || coalesce(x.locked_by, 'unknown') || ' stopped responding'
        from expired x
        where e.id = x.event_id and e.received_at = x.received_at
          and e.received_at between ${range.receivedFrom}::timestamptz and ${range.receivedTo}::timestamptz
        returning e.id, x.ordering_key as lane, x.last
      ),
      abandoned as (${logAbandoned('expired', 'lease expired before the attempt finished')})
      select id, lane, last from recovered`);
    await promoteLanes(
      run,
      found.filter((r) => r.last && r.lane).map((r) => r.lane!),
    );
    return found;
  });
  return recovered.length;
}

/**
 * Logs the interrupted attempts of `claims` (a CTE returning event_id, attempt, attempt_id,
 * attempt_started_at and locked_by of claims just taken back) as abandoned. A claim taken by an
 * earlier version of the gateway (which wrote the attempt row at the claim, as 'running') has that
 * row finished instead of a second one written.
 */
function logAbandoned(claims: 'requeued' | 'expired', reason: string) {
  return sql`
    insert into processing_log as p
      (id, event_id, attempt, worker, started_at, finished_at, outcome, error)
    overriding system value
    select c.attempt_id, c.event_id, c.attempt, coalesce(c.locked_by, 'unknown'), c.attempt_started_at, now(),
           'abandoned', ${reason}
    from ${sql.raw(claims)} c
    where c.attempt_id is not null and c.attempt_started_at is not null
    on conflict (id, started_at) do update
      set finished_at = excluded.finished_at, outcome = excluded.outcome, error = excluded.error
      where p.outcome = 'running'`;
}
