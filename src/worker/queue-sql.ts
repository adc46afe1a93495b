import { sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { inTransaction, isRowError, preparedRows, wellFormed, type PreparedRows } from '../db/statements';
import { promoteLanes } from '../ordering/lanes-sql';
import { archiveRowOf } from '../store/archive-row';
import { claimStatement, type ClaimedRow } from './claim-sql';

// One file over 250 lines on purpose: the queue's SQL in one place, so the worker loop never sees
// SQL text and the outcome, lease and release statements can be read together. The claim's own
// statement is in ./claim-sql.ts, a paused source's parking in ../store/queue-parking.ts.

/** A claimed event as the worker receives it: the row plus what proves the claim is still ours. */
export interface ClaimedEvent {
  id: number;
  source: string;
  webhookId: string;
  account: string | null;
  topic: string;
  body: Buffer;
  headers: Record<string, string>;
  /** `path?query` as stored at ingest; null before migration 0018. */
  requestTarget: string | null;
  attempt: number;
  maxAttempts: number;
  receivedAt: Date;
  claimToken: string;
  /** Who holds the claim (`<hostname>:<pid>`), written to the attempt's log row with its outcome. */
  claimedBy: string;
  /** The id its attempt-log row gets when the outcome is written (reserved by the claim). */
  attemptId: number;
  /** When the attempt was claimed: its attempt-log row's started_at (the partition key). */
  attemptStartedAt: Date;
  /** Its lane (`<source>:<key>`) when its source orders events (docs/ordering.md), else null. */
  lane: string | null;
}

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

export interface QueueOptions {
  /** Sources whose ordering says onFailure 'block' (read at each outcome; docs/ordering.md). */
  blockingSources?: () => readonly string[];
  /**
   * Whether anyone watches the live stream (src/ops/stream-watchers.ts), read at each outcome
   * write: while nobody does, completions and failures are written without their NOTIFY. Unset:
   * always announced.
   */
  outcomesWatched?: () => boolean;
}

/** All queue statements of the worker. The worker loop calls these and never sees SQL. */
export function createQueue(database: Database, options: QueueOptions = {}) {
  const { rows } = database;
  const prepared = preparedRows(database);
  const blocking = () => new Set(options.blockingSources?.() ?? []);

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
  const recordOutcomes = async (run: PreparedRows, outcomes: string, range: Range): Promise<Set<number>> => {
    const unwatched = options.outcomesWatched?.() === false ? 'on' : 'off';
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
  };

  return {
    /** Claims up to `limit` due events for `worker` in one statement (src/worker/claim-sql.ts). */
    async claim(worker: string, limit: number): Promise<ClaimedEvent[]> {
      const claimed = await prepared<ClaimedRow>(claimStatement(worker, limit));
      return claimed.map((row) => toClaimedEvent(row, worker));
    },

    /**
     * Records the outcomes of many attempts in one statement, each fenced by its claim token: an
     * event whose lease expired and was reclaimed (or recovered) no longer carries the token, so
     * nothing is written for it and its id is missing from the result — a late worker can never
     * overwrite a newer attempt's result. Each recorded attempt's processing_log row is written in
     * the same statement. Returns the ids of the events whose outcome was recorded.
     */
    async finishMany(finished: readonly FinishedAttempt[]): Promise<Set<number>> {
      if (finished.length === 0) return new Set();
      const record = (batch: readonly FinishedAttempt[]) => {
        const ordered = batch.some((f) => f.event.lane);
        const blocks = ordered ? blocking() : NONE;
        const outcomes = JSON.stringify(batch.map((attempt) => toOutcomeRow(attempt, blocks)));
        const range = rangeOf(batch.map((f) => f.event));
        // Unordered batches: one statement, as always. A batch with ordered events also promotes
        // the next head of each lane whose head it finished, in the same transaction.
        if (!ordered) return recordOutcomes(prepared, outcomes, range);
        return inTransaction(database, async (run) => {
          const recorded = await recordOutcomes(run, outcomes, range);
          const lanes = batch.filter((f) => f.event.lane && recorded.has(f.event.id) && isFinal(f.result));
          await promoteLanes(
            run,
            lanes.map((f) => f.event.lane!),
          );
          return recorded;
        });
      };
      try {
        return await record(finished);
      } catch (err) {
        // A deadlock with a concurrent lease recovery (or any row the server refuses) must not
        // cost the whole batch its outcomes: record them one at a time.
        if (finished.length === 1 || !isRowError(err)) throw err;
        const recorded = new Set<number>();
        for (const attempt of finished) {
          for (const id of await record([attempt])) recorded.add(id);
        }
        return recorded;
      }
    },

    /** Records one attempt's outcome (see finishMany); false when the claim was no longer ours. */
    async finish(event: ClaimedEvent, result: AttemptOutcome): Promise<boolean> {
      return (await this.finishMany([{ event, result }])).has(event.id);
    },

    /** Heartbeat: extends the lease of events this worker still holds (queue rows only). */
    async extendLeases(claimTokens: readonly string[]): Promise<void> {
      if (claimTokens.length === 0) return;
      await rows(sql`update event_queue set locked_at = now() where claim_token in ${claimTokens}`);
    },

    /**
     * Hands back claims this worker cannot finish (shutdown): the events are due again at once and
     * the interrupted attempts are logged as abandoned. Fenced like finish(). An interrupted attempt
     * counts, except the last: the next claim (attempts + 1) would start one beyond max_attempts,
     * and failing the event for a shutdown would be worse, so the last attempt runs again under
     * its own number (lease recovery, after a crash the event may have caused, fails it instead).
     */
    async release(events: readonly ClaimedEvent[], reason: string): Promise<number> {
      if (events.length === 0) return 0;
      const tokens = events.map((e) => e.claimToken);
      const range = rangeOf(events);
      const released = await rows(sql`
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
    },

    /**
     * Returns events whose worker stopped heart-beating (crashed, killed, partitioned) to due, or
     * to failed (queue row deleted) when that was their last attempt; the abandoned attempt counts
     * and stays in the log. Clearing the queue row's claim token fences the old worker out. Only
     * expired queue rows are searched; events and attempt-log rows are reached by primary key.
     */
    async recoverExpiredLeases(leaseSeconds: number): Promise<number> {
      // One transaction: an ordered head that ran out of attempts leaves its lane (or blocks it)
      // and the next head is promoted before anyone else can see the lane without a head.
      // The expired claims' range of each partition key first (see recordOutcomes); a claim that
      // expires between the two statements is outside it and is recovered on the next run.
      const [found] = await rows<Record<keyof Range, string | null>>(sql`
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
    },

    /**
     * VACUUM and ANALYZE of the hot queue: it churns (a row inserted, updated and deleted per
     * attempt) and must not depend on autovacuum, which may be off or slow; being small, this is
     * cheap. skip_locked: a concurrent vacuum (another process) or DDL makes this a no-op.
     * truncate false: after a drained backlog the queue's end is empty pages, and giving them back
     * takes an ACCESS EXCLUSIVE lock that stops every claim and outcome while it scans; seen waiting
     * for that lock under the end-to-end bench (pg_stat_activity: VacuumTruncate). The pages are
     * reused by the next backlog anyway. Migration 0021 sets the same for autovacuum.
     */
    async maintain(): Promise<void> {
      await rows(sql`vacuum (analyze, skip_locked, truncate false) event_queue`);
    },

    /** ANALYZE of the hot queue alone: re-plans the prepared statements that read it (src/worker/leases.ts). */
    async analyze(): Promise<void> {
      await rows(sql`analyze (skip_locked) event_queue`);
    },

    /** The hot queue's size on disk (the file's length; nothing is read). */
    async sizeInBytes(): Promise<number> {
      const [row] = await rows<{ bytes: string | number }>(sql`select pg_relation_size('event_queue') as bytes`);
      return Number(row?.bytes ?? 0);
    },
  };
}

export type Queue = ReturnType<typeof createQueue>;

const NONE: ReadonlySet<string> = new Set();

/** Completed or failed for good: the event leaves its lane (or blocks it), so the next head may go. */
const isFinal = (result: AttemptOutcome) => result.outcome === 'completed' || result.outcome === 'failed';

/** The range of the archive's partition key in a batch of claimed events, as bounds PostgreSQL prunes by. */
interface Range {
  receivedFrom: string;
  receivedTo: string;
}

/** A Date holds milliseconds and the database microseconds: a stored value lies in [its Date, +1 ms). */
function rangeOf(events: readonly ClaimedEvent[]): Range {
  const times = events.map((e) => e.receivedAt.getTime());
  return {
    receivedFrom: new Date(Math.min(...times)).toISOString(),
    receivedTo: new Date(Math.max(...times) + 1).toISOString(),
  };
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

/** An outcome as one element of recordOutcomes' JSON array. */
function toOutcomeRow({ event, result }: FinishedAttempt, blocking: ReadonlySet<string>) {
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

function toClaimedEvent(row: ClaimedRow, claimedBy: string): ClaimedEvent {
  return {
    id: Number(row.id),
    source: row.source,
    webhookId: row.webhook_id,
    account: row.account,
    topic: row.topic,
    body: Buffer.isBuffer(row.body) ? row.body : Buffer.from(row.body),
    headers: typeof row.headers === 'string' ? JSON.parse(row.headers) : row.headers,
    requestTarget: row.request_target ?? null,
    attempt: row.attempts,
    maxAttempts: row.max_attempts,
    receivedAt: new Date(row.received_at),
    claimToken: row.claim_token,
    claimedBy,
    attemptId: Number(row.attempt_id),
    attemptStartedAt: new Date(row.attempt_started_at),
    lane: row.lane ?? null,
  };
}
