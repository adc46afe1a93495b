import { sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { isRowError, preparedRows, wellFormed } from '../db/statements';

/** A claimed event as the worker receives it: the row plus what proves the claim is still ours. */
export interface ClaimedEvent {
  id: number;
  source: string;
  webhookId: string;
  account: string | null;
  topic: string;
  body: Buffer;
  headers: Record<string, string>;
  attempt: number;
  maxAttempts: number;
  receivedAt: Date;
  claimToken: string;
  attemptId: number;
}

export type AttemptOutcome =
  | { outcome: 'completed' }
  /** `retryInMs` counts from when the outcome is written (the database's now()), not from when it was decided. */
  | { outcome: 'retry'; error: string; retryInMs: number }
  | { outcome: 'failed'; error: string };

interface ClaimedRow {
  id: string | number;
  source: string;
  webhook_id: string;
  account: string | null;
  topic: string;
  body: Buffer | Uint8Array;
  headers: Record<string, string> | string;
  attempts: number;
  max_attempts: number;
  received_at: Date | string;
  claim_token: string;
  attempt_id: string | number;
}

/** An attempt whose handler has returned, with the outcome to record. */
export interface FinishedAttempt {
  event: ClaimedEvent;
  result: AttemptOutcome;
}

/** All queue statements of the worker. The worker loop calls these and never sees SQL. */
export function createQueue(database: Database) {
  const { rows } = database;
  const prepared = preparedRows(database);

  /**
   * One statement for a batch of outcomes (a JSON array of toOutcomeRow rows; prepared, as its
   * text never changes): the update of each event is fenced by its claim token and still being
   * 'processing'; only events updated here get their attempt-log row finished.
   */
  const recordOutcomes = async (outcomes: string): Promise<Set<number>> => {
    const written = await prepared<{ id: string | number }>(sql`
      with outcome as (
        select * from json_to_recordset(${outcomes}::text::json) as o(
          id bigint, claim_token uuid, attempt_id bigint, status text, outcome text, error text,
          retry_in_ms bigint)
      ),
      finished as (
        update webhook_events e
        set status = o.status,
            next_attempt_at = coalesce(now() + o.retry_in_ms * interval '1 millisecond', e.next_attempt_at),
            last_error = o.error,
            processed_at = case when o.status = 'received' then e.processed_at else now() end,
            locked_by = null, locked_at = null, claim_token = null
        from outcome o
        where e.id = o.id and e.claim_token = o.claim_token and e.status = 'processing'
        returning e.id
      ),
      logged as (
        update processing_log p
        set finished_at = now(), outcome = o.outcome, error = o.error
        from outcome o join finished f on f.id = o.id
        where p.id = o.attempt_id
      )
      select id from finished`);
    return new Set(written.map((row) => Number(row.id)));
  };

  return {
    /**
     * Claims up to `limit` due events for `worker` in one statement: SKIP LOCKED lets concurrent
     * workers take disjoint rows without waiting on each other; each claim gets a fresh token
     * (fencing) and an attempt-log row. `<=` so an event inserted with next_attempt_at = now() is
     * due at once.
     */
    async claim(worker: string, limit: number): Promise<ClaimedEvent[]> {
      const claimed = await prepared<ClaimedRow>(sql`
        with due as (
          select id from webhook_events
          where status = 'received' and next_attempt_at <= now()
            -- A paused source's events are held (src/control): stored, not processed until resumed.
            and source not in (select name from sources where paused)
          order by next_attempt_at, id
          limit ${limit}
          for update skip locked
        ),
        claimed as (
          update webhook_events e
          set status = 'processing', locked_by = ${worker}, locked_at = now(),
              claim_token = gen_random_uuid(), attempts = e.attempts + 1
          from due where e.id = due.id
          returning e.id, e.source, e.webhook_id, e.account, e.topic, e.body, e.headers,
                    e.attempts, e.max_attempts, e.received_at, e.claim_token
        ),
        logged as (
          insert into processing_log (event_id, attempt, worker)
          select id, attempts, ${worker} from claimed
          returning id as attempt_id, event_id
        )
        select claimed.*, logged.attempt_id
        from claimed join logged on logged.event_id = claimed.id
        order by claimed.id`);
      return claimed.map(toClaimedEvent);
    },

    /**
     * Records the outcomes of many attempts in one statement, each fenced by its claim token: an
     * event whose lease expired and was reclaimed (or recovered) no longer carries the token, so
     * nothing is written for it and its id is missing from the result — a late worker can never
     * overwrite a newer attempt's result. Each recorded attempt's processing_log row is finished in
     * the same statement. Returns the ids of the events whose outcome was recorded.
     */
    async finishMany(finished: readonly FinishedAttempt[]): Promise<Set<number>> {
      if (finished.length === 0) return new Set();
      const outcomes = JSON.stringify(finished.map(toOutcomeRow));
      try {
        return await recordOutcomes(outcomes);
      } catch (err) {
        // A deadlock with a concurrent lease recovery (or any row the server refuses) must not
        // cost the whole batch its outcomes: record them one at a time.
        if (finished.length === 1 || !isRowError(err)) throw err;
        const recorded = new Set<number>();
        for (const attempt of finished) {
          for (const id of await recordOutcomes(JSON.stringify([toOutcomeRow(attempt)]))) recorded.add(id);
        }
        return recorded;
      }
    },

    /** Records one attempt's outcome (see finishMany); false when the claim was no longer ours. */
    async finish(event: ClaimedEvent, result: AttemptOutcome): Promise<boolean> {
      return (await this.finishMany([{ event, result }])).has(event.id);
    },

    /** Heartbeat: extends the lease of events this worker still holds. */
    async extendLeases(claimTokens: readonly string[]): Promise<void> {
      if (claimTokens.length === 0) return;
      await rows(sql`
        update webhook_events set locked_at = now()
        where status = 'processing' and claim_token in ${claimTokens}`);
    },

    /**
     * Hands back claims this worker cannot finish (shutdown): the events are due again at once and
     * the interrupted attempts are logged as abandoned. Fenced like finish().
     */
    async release(events: readonly ClaimedEvent[], reason: string): Promise<number> {
      if (events.length === 0) return 0;
      const tokens = events.map((e) => e.claimToken);
      const released = await rows(sql`
        with released as (
          update webhook_events
          set status = 'received', next_attempt_at = now(), last_error = ${reason},
              locked_by = null, locked_at = null, claim_token = null
          where status = 'processing' and claim_token in ${tokens}
          returning id
        ),
        abandoned as (
          update processing_log set finished_at = now(), outcome = 'abandoned', error = ${reason}
          where outcome = 'running' and event_id in (select id from released)
        )
        select id from released`);
      return released.length;
    },

    /**
     * Returns events whose worker stopped heart-beating (crashed, killed, partitioned) to due, or
     * to failed when that was their last attempt. The abandoned attempt stays in the log. Setting
     * claim_token to null fences the old worker out.
     */
    async recoverExpiredLeases(leaseSeconds: number): Promise<number> {
      const recovered = await rows(sql`
        with expired as (
          update webhook_events
          set status = case when attempts >= max_attempts then 'failed' else 'received' end,
              processed_at = case when attempts >= max_attempts then now() else processed_at end,
              next_attempt_at = now(),
              last_error = 'lease expired: worker ' || coalesce(locked_by, 'unknown') || ' stopped responding',
              locked_by = null, locked_at = null, claim_token = null
          where status = 'processing' and locked_at < now() - make_interval(secs => ${leaseSeconds})
          returning id
        ),
        abandoned as (
          update processing_log
          set finished_at = now(), outcome = 'abandoned', error = 'lease expired before the attempt finished'
          where outcome = 'running' and event_id in (select id from expired)
        )
        select id from expired`);
      return recovered.length;
    },
  };
}

export type Queue = ReturnType<typeof createQueue>;

/** An outcome as one element of recordOutcomes' JSON array. */
function toOutcomeRow({ event, result }: FinishedAttempt) {
  const error = result.outcome === 'completed' ? null : storable(result.error);
  return {
    id: event.id,
    claim_token: event.claimToken,
    attempt_id: event.attemptId,
    status: result.outcome === 'retry' ? 'received' : result.outcome,
    outcome: result.outcome,
    error,
    retry_in_ms: result.outcome === 'retry' ? Math.max(0, Math.round(result.retryInMs)) : null,
  };
}

/**
 * Error text as PostgreSQL can store it: U+0000 and unpaired surrogates (a message cut in the
 * middle of an emoji) would make the outcome JSON fail for the whole batch, so they become U+FFFD.
 */
const storable = (text: string) => wellFormed(text.replaceAll('\u0000', '\uFFFD'));

function toClaimedEvent(row: ClaimedRow): ClaimedEvent {
  return {
    id: Number(row.id),
    source: row.source,
    webhookId: row.webhook_id,
    account: row.account,
    topic: row.topic,
    body: Buffer.isBuffer(row.body) ? row.body : Buffer.from(row.body),
    headers: typeof row.headers === 'string' ? JSON.parse(row.headers) : row.headers,
    attempt: row.attempts,
    maxAttempts: row.max_attempts,
    receivedAt: new Date(row.received_at),
    claimToken: row.claim_token,
    attemptId: Number(row.attempt_id),
  };
}
