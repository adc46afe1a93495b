import { sql } from 'drizzle-orm';
import type { Database } from '../db/client';

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
  | { outcome: 'retry'; error: string; nextAttemptAt: Date }
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

/** All queue statements of the worker. The worker loop calls these and never sees SQL. */
export function createQueue(database: Database) {
  const { rows } = database;
  return {
    /**
     * Claims up to `limit` due events for `worker` in one statement: SKIP LOCKED lets concurrent
     * workers take disjoint rows without waiting on each other; each claim gets a fresh token
     * (fencing) and an attempt-log row. `<=` so an event inserted with next_attempt_at = now() is
     * due at once.
     */
    async claim(worker: string, limit: number): Promise<ClaimedEvent[]> {
      const claimed = await rows<ClaimedRow>(sql`
        with due as (
          select id from webhook_events
          where status = 'received' and next_attempt_at <= now()
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
     * Records the outcome of an attempt, fenced by the claim token: if the lease expired and the
     * event was reclaimed (or recovered), the token no longer matches, nothing is written and
     * false is returned, so a late worker can never overwrite a newer attempt's result.
     */
    async finish(event: ClaimedEvent, result: AttemptOutcome): Promise<boolean> {
      const error = result.outcome === 'completed' ? null : result.error;
      const status = result.outcome === 'retry' ? 'received' : result.outcome;
      const nextAttemptAt = result.outcome === 'retry' ? result.nextAttemptAt.toISOString() : null;
      const written = await rows(sql`
        with finished as (
          update webhook_events
          set status = ${status},
              next_attempt_at = coalesce(${nextAttemptAt}::timestamptz, next_attempt_at),
              last_error = ${error},
              processed_at = case when ${status} = 'received' then processed_at else now() end,
              locked_by = null, locked_at = null, claim_token = null
          where id = ${event.id} and claim_token = ${event.claimToken} and status = 'processing'
          returning id
        )
        update processing_log
        set finished_at = now(), outcome = ${result.outcome}, error = ${error}
        where id = ${event.attemptId} and exists (select 1 from finished)
        returning id`);
      return written.length === 1;
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
