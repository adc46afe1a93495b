import { sql, type SQL } from 'drizzle-orm';
import { archiveRowOf } from '../store/archive-row';
import { parkDueOfPausedSources } from '../store/queue-parking';

// The claim's statement (src/worker/queue-sql.ts runs it, prepared) and the event it hands the worker.

/** A claimed event as the claim returns it. */
export interface ClaimedRow {
  id: string | number;
  source: string;
  webhook_id: string;
  account: string | null;
  topic: string;
  body: Buffer | Uint8Array;
  headers: Record<string, string> | string;
  request_target: string | null;
  attempts: number;
  max_attempts: number;
  received_at: Date | string;
  replayed_at: Date | string | null;
  claim_token: string;
  attempt_id: string | number;
  attempt_started_at: Date | string;
  lane: string | null;
}

/**
 * Claims up to `limit` due events for `worker` in one statement: SKIP LOCKED on the small
 * event_queue lets concurrent workers take disjoint rows without waiting on each other; each
 * claim gets a fresh token (fencing), its attempt number and the id its attempt-log row will get
 * on the queue row (the row itself is written with the outcome). The event's archive row is only
 * read. `<=` so an event queued with run_at = now() is due at once.
 *
 * The claim commits without waiting for its WAL flush (synchronous_commit off for its own
 * transaction): a claim is a lease, and one lost with a PostgreSQL crash is a worker that
 * crashed before its outcome — the fence refuses the outcome and the event runs again, as
 * at-least-once allows. An outcome's commit flushes the WAL, the claim's record included, so a
 * recorded outcome never rests on a lost claim. Half of each claim's time in the worker bench was
 * IO:WALSync (pg_stat_activity sampled every 5 ms); without it, ten alternating rounds of 20,000
 * no-op events ran at 14,705 against 13,127 events/s (median).
 *
 * Every join reaches the queue by primary key. A generic plan (src/db/client.ts, PLAN_ONCE)
 * expects `limit $1` to return a tenth of the rows it deems due; once ANALYZE had seen a large
 * backlog (autovacuum does, in production) it updated the claimed rows through a hash join over a
 * sequential scan of the whole queue: one worker's claim of 100 with 300,000 queued took 64 ms
 * (median) against 7.6 ms by key (bench/sql/claim-plan-cost.ts, 2026-12-05; the plans by
 * EXPLAIN ANALYZE of the prepared claim, docs/performance.md).
 */
export function claimStatement(worker: string, limit: number): SQL {
  return sql`
      with ${parkDueOfPausedSources},
      due as (
        select event_id, received_at from event_queue q
        where claim_token is null and run_at <= now()
          -- A paused source's events are held (src/control): stored, not processed until resumed.
          -- Most are parked out of this range (parkDueOfPausedSources above parks those this
          -- claim meets for the next). It reads the paused sources once, FOR SHARE, and this test
          -- uses that read: the first half is one initplan per claim, so with no source paused no
          -- row is looked up.
          and (not exists (select 1 from paused)
               or q.source not in (select name from paused))
        order by run_at, event_id
        limit ${limit}
        for update skip locked
      ),
      -- Each due event's archive row by primary key, one partition probe each (archiveRowOf).
      events as materialized (
        select e.* from due ${archiveRowOf(
          'due',
          `e.id, e.source, e.webhook_id, e.account, e.topic, e.body, e.headers, e.request_target,
           e.attempts, e.max_attempts, e.received_at, e.replayed_at`,
        )}
      ),
      -- The attempt-log row is written with the outcome; the claim reserves its id (and started_at).
      leased as (
        update event_queue q
        set locked_by = ${worker}, locked_at = now(), claim_token = gen_random_uuid(),
            attempt = e.attempts + 1, attempt_id = nextval('processing_log_id_seq'), attempt_started_at = now()
        from events e
        -- Each row by primary key (the array), whatever the generic plan expects of the limit.
        where q.event_id = any(array(select id from events)) and q.event_id = e.id
          -- Transaction-local: ends with the claim (see above).
          and set_config('synchronous_commit', 'off', true) is not null
        returning q.event_id, q.claim_token, q.attempt, q.attempt_id, q.attempt_started_at,
                  q.ordering_key as lane
      )
      select e.id, e.source, e.webhook_id, e.account, e.topic, e.body, e.headers, e.request_target,
             l.attempt as attempts, e.max_attempts, e.received_at, e.replayed_at, l.claim_token, l.attempt_id, l.lane,
             l.attempt_started_at
      from leased l join events e on e.id = l.event_id
      order by e.id`;
}

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
  /** When it was last replayed (ops API), or null: its latency counts from then, as /api/stats does. */
  replayedAt: Date | null;
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

/** A claimed row as the worker receives it (see ClaimedEvent). */
export function toClaimedEvent(row: ClaimedRow, claimedBy: string): ClaimedEvent {
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
    replayedAt: row.replayed_at === null || row.replayed_at === undefined ? null : new Date(row.replayed_at),
    claimToken: row.claim_token,
    claimedBy,
    attemptId: Number(row.attempt_id),
    attemptStartedAt: new Date(row.attempt_started_at),
    lane: row.lane ?? null,
  };
}
