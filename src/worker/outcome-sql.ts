import { sql } from 'drizzle-orm';
import { wellFormed, type PreparedRows } from '../db/statements';
import type { ClaimedEvent } from './claim-sql';
import type { Range } from './received-range';

// The statement that records a batch of attempts' outcomes (src/worker/queue-sql.ts runs it,
// prepared, and promotes ordered lanes after it), and the rows it reads.

/** How an attempt ended, and the version of its source's transformation when one ran (attempt log). */
export type AttemptOutcome = AttemptResult & { transformVersion?: number };

type AttemptResult =
  | { outcome: 'completed' }
  /** `retryInMs` counts from when the outcome is written (the database's now()), not from when it was decided. */
  | { outcome: 'retry'; error: string; retryInMs: number }
  | { outcome: 'failed'; error: string }
  /**
   * The event waits for paused destinations (`heldFor`): the attempt is not counted (the event
   * keeps its attempt count and no attempt-log row is written) and the event is due again when one of
   * them resumes, or after `recheckInMs` at the latest (covers a resume that raced with this outcome's write).
   * `exact`: a protection hold (rate limit, circuit): due after recheckInMs, not at once when no
   * destination is paused; but at once when none of `circuitFor` still has an open circuit.
   */
  | {
      outcome: 'held';
      error: string;
      heldFor: readonly string[];
      recheckInMs: number;
      exact?: boolean;
      circuitFor?: readonly string[];
    };

/** An attempt whose handler has returned, with the outcome to record. */
export interface FinishedAttempt {
  event: ClaimedEvent;
  result: AttemptOutcome;
}

/**
 * One statement for a batch of outcomes (a JSON array of toOutcomeRow rows; prepared, as its
 * text never changes). The fence is the queue row: only a row still holding the attempt's claim
 * token is deleted (completed, failed) or put back with its retry time — a lease recovery that
 * got there first cleared the token, and the row lock makes the two wait for each other. Only
 * events fenced here get their one archive update (status, attempt count, error) and their
 * attempt-log row written. Every archive row is found by primary key, partition key included (the
 * event's received_at, carried on the queue row). PostgreSQL 15 does not prune the partitions of
 * an UPDATE/DELETE target at run time by a join's values, so the batch's range of received_at is
 * given too, as parameters: the planner prunes by it (one day for a batch of today's events, see
 * docs/adr/0008-partitioned-history.md). An ordered event that failed for good under onFailure
 * 'block' keeps its queue row, blocked, so its lane waits (docs/ordering.md).
 */
export async function recordOutcomes(
  run: PreparedRows,
  outcomes: string,
  range: Range,
  unwatched: 'on' | 'off',
): Promise<Set<number>> {
  const written = await run<{ id: string | number }>(sql`
    with outcome as (
      select * from json_to_recordset(${outcomes}::text::json) as o(
        id bigint, claim_token uuid, attempt_id bigint, status text, outcome text, error text,
        retry_in_ms bigint, held_for jsonb, exact boolean, circuit_for jsonb, block boolean,
        transform_version int, worker text)
    ),
    dequeued as (
      delete from event_queue q using outcome o
      where q.event_id = o.id and q.claim_token = o.claim_token and o.status <> 'received' and not o.block
      returning q.event_id, q.received_at, q.attempt_started_at, q.attempt, null::timestamptz as run_at
    ),
    blocked as (
      -- held_for cleared: resuming a destination it once waited for must not wake a blocked head.
      update event_queue q
      set run_at = 'infinity', blocked_at = now(), locked_by = null, locked_at = null, claim_token = null, held_for = null
      from outcome o
      where q.event_id = o.id and q.claim_token = o.claim_token and o.block
      returning q.event_id, q.received_at, q.attempt_started_at, q.attempt, null::timestamptz as run_at
    ),
    requeued as (
      update event_queue q
      set run_at = case
            -- A held event whose destinations were all resumed meanwhile (the resume's release ran
            -- before this write) is due in a second, once this instance's snapshot has caught up.
            when o.outcome = 'held' and o.exact is not true and not exists (
              select 1 from destinations d where d.paused and jsonb_exists(o.held_for, d.name)
            ) then now() + interval '1 second'
            -- Likewise a circuit that closed (its probe succeeded) before this write.
            when o.outcome = 'held' and jsonb_array_length(o.circuit_for) > 0 and not exists (
              select 1 from destination_health h where h.state <> 'closed' and jsonb_exists(o.circuit_for, h.name)
            ) and not exists (
              select 1 from destinations d where d.paused and jsonb_exists(o.held_for, d.name)
            ) then now() + interval '1 second'
            else now() + o.retry_in_ms * interval '1 millisecond' end,
          locked_by = null, locked_at = null, claim_token = null, held_for = o.held_for,
          -- A held attempt is not counted: the event keeps the attempt count it had before the claim.
          attempt = case when o.outcome = 'held' then q.attempt - 1 else q.attempt end
      from outcome o
      where q.event_id = o.id and q.claim_token = o.claim_token and o.status = 'received'
      returning q.event_id, q.received_at, q.attempt_started_at, q.attempt, q.run_at
    ),
    fenced as (select * from dequeued union all select * from blocked union all select * from requeued),
    finished as (
      update webhook_events e
      set status = o.status,
          attempts = coalesce(f.attempt, e.attempts),
          next_attempt_at = coalesce(f.run_at, e.next_attempt_at),
          last_error = o.error,
          processed_at = case when o.status = 'received' then e.processed_at else now() end
      from fenced f join outcome o on o.id = f.event_id
      where e.id = f.event_id and e.received_at = f.received_at
        and e.received_at between ${range.receivedFrom}::timestamptz and ${range.receivedTo}::timestamptz
        -- Read by the notify trigger's WHEN (migration 0022), which PostgreSQL evaluates as each
        -- row is updated, after this filter: transaction-local, so it ends with this statement
        -- (or with the transaction of an ordered batch).
        and set_config('webhook_gateway.unwatched', ${unwatched}::text, true) is not null
      returning e.id
    ),
    -- The attempt's log row is written once, finished (the claim only reserved its id): half the
    -- attempt-log writes of inserting it at the claim and updating it here, and no dead row
    -- versions in a table nothing vacuums (see docs/worker.md, *Claim*). A held attempt is
    -- not counted and leaves no row.
    logged as (
      insert into processing_log
        (id, event_id, attempt, worker, started_at, finished_at, outcome, error, transform_version)
      overriding system value
      select o.attempt_id, f.event_id, f.attempt, o.worker, f.attempt_started_at, now(), o.outcome, o.error,
             o.transform_version
      from outcome o join fenced f on f.event_id = o.id
      where o.outcome <> 'held'
    )
    select id from finished`);
  return new Set(written.map((row) => Number(row.id)));
}

/** Completed or failed for good: the event leaves its lane (or blocks it), so the next head may go. */
export const isFinal = (result: AttemptOutcome) => result.outcome === 'completed' || result.outcome === 'failed';

/** An outcome as one element of recordOutcomes' JSON array. */
export function toOutcomeRow({ event, result }: FinishedAttempt, blocking: ReadonlySet<string>) {
  const error = result.outcome === 'completed' ? null : storable(result.error);
  return {
    id: event.id,
    claim_token: event.claimToken,
    attempt_id: event.attemptId,
    status: result.outcome === 'retry' || result.outcome === 'held' ? 'received' : result.outcome,
    outcome: result.outcome,
    error,
    retry_in_ms:
      result.outcome === 'retry'
        ? Math.max(0, Math.round(result.retryInMs))
        : result.outcome === 'held'
          ? Math.max(0, Math.round(result.recheckInMs))
          : null,
    held_for: result.outcome === 'held' ? result.heldFor : null,
    exact: result.outcome === 'held' ? (result.exact ?? false) : null,
    circuit_for: result.outcome === 'held' ? (result.circuitFor ?? []) : null,
    block: result.outcome === 'failed' && event.lane !== null && blocking.has(event.source),
    transform_version: result.transformVersion ?? null,
    worker: event.claimedBy,
  };
}

/**
 * Error text as PostgreSQL can store it: U+0000 and unpaired surrogates (a message cut in the
 * middle of an emoji) would make the outcome JSON fail for the whole batch, so they become U+FFFD.
 */
const storable = (text: string) => wellFormed(text.replaceAll('\u0000', '\uFFFD'));
