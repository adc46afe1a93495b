import { sql, type SQL } from 'drizzle-orm';
import { wellFormed } from '../db/statements';
import { bodyOf, bodySlices } from './body-slices';
import type { NewEvent } from './events';

/** An event to insert with the sha256 of its body (stored with the key and the row). */
export interface HashedEvent {
  event: NewEvent;
  hash: Buffer;
}

/** What the insert statement returns for each event it stored (copies of stored keys are absent). */
export interface InsertedRow {
  id: string | number;
  source: string;
  webhook_id: string;
  /** With a hand-off (HandOff): the claim taken for the local worker, null for an event left due. */
  received_at?: Date | string;
  claim_token?: string | null;
  attempt_id?: string | number | null;
  attempt_started_at?: Date | string | null;
}

/**
 * Claims for the worker of the inserting process, taken by the insert itself (docs/worker.md,
 * *Hand-off*): the first `limit` new events of the batch are queued already claimed by `worker` —
 * its first attempt, with a claim token and a reserved attempt-log id, exactly as the claim
 * statement would have claimed them — unless their source is paused.
 */
export interface HandOff {
  worker: string;
  limit: number;
  /**
   * The worker's lease: a claimed event's archive row says it is due again after it, as lease
   * recovery would make it; so its arrival is announced as not due and wakes no worker.
   */
  leaseSeconds: number;
  /**
   * Nobody watches the live stream (src/ops/stream-watchers.ts): the arrivals of claimed events
   * are written without their NOTIFY (the events left due are always announced: they wake workers).
   */
  unwatched: boolean;
}

/**
 * The one statement that stores new events, for the group commit (many rows) and the nonce path
 * (one row, inside its transaction). webhook_events is partitioned (migration 0019), so the
 * exactly-once key is event_keys' primary key: the key row is inserted first with `on conflict do
 * nothing` (a concurrent twin waits for the first to commit, then is skipped), and only the keys it
 * returns become events and queue rows, all in this statement. Key and event share the id (taken
 * from the event's identity sequence; a skipped copy burns one, as any sequence may) and received_at.
 * The rows travel as one JSON array and their bodies as one bytea each row slices (./body-slices),
 * so the text is the same for every batch size and is prepared once per connection. Rows must have
 * distinct keys (the group commit collapses copies first).
 */
export function insertEventsStatement(events: readonly HashedEvent[], handOff?: HandOff): SQL {
  const ordered = events.some(({ event }) => event.ordering);
  if (handOff && ordered) throw new Error('ordered events are not handed off: their lane decides when they are due');
  const bodies = bodySlices(events.map(({ event }) => event.body));
  const rows = JSON.stringify(
    events.map(({ event: e, hash }, i) => ({
      body_at: bodies.start(i),
      body_len: bodies.length(i),
      source: wellFormed(e.source),
      webhook_id: wellFormed(e.webhookId),
      topic: wellFormed(e.topic),
      account: e.account === undefined ? null : wellFormed(e.account),
      content_hash: hash.toString('hex'),
      headers: e.headers,
      max_attempts: e.maxAttempts,
      request_target: e.requestTarget === undefined ? null : wellFormed(e.requestTarget),
      ordering_key: e.ordering ? wellFormed(e.ordering.key) : null,
    })),
  );
  return sql`
    with r as (
      select * from json_to_recordset(${rows}::text::json) as r(
        source text, webhook_id text, topic text, account text, body_at int, body_len int, content_hash text, headers jsonb,
        max_attempts int, request_target text, ordering_key text)
      ${
        // Read by the notify trigger's WHEN (migration 0022) as each row is inserted; every row
        // comes through here first. Transaction-local: it ends with this statement.
        handOff
          ? sql`where set_config('webhook_gateway.unwatched', ${handOff.unwatched ? 'on' : 'off'}::text, true) is not null`
          : sql``
      }
    ),
    keyed as (
      insert into event_keys (source, webhook_id, event_id, content_hash, received_at)
      select r.source, r.webhook_id, nextval('webhook_events_id_seq'), decode(r.content_hash, 'hex'), now() from r
      on conflict (source, webhook_id) do nothing
      returning source, webhook_id, event_id, received_at
    ),
    ${insertArchiveRows(bodies.all, handOff)}
    ${
      handOff
        ? queueClaimed(handOff)
        : sql`queued as (${ordered ? queueOrdered : queueUnordered})
    select id, source, webhook_id from inserted`
    }`;
}

/**
 * The archive rows. With a hand-off, the first `limit` new events by id (a new event's first
 * attempt is attempt 1) are claimed, unless their source is paused (the claim's test), and due
 * again only after the lease; `claimed` tells queueClaimed which. Without one, every event is due now.
 */
function insertArchiveRows(bodies: string, handOff?: HandOff): SQL {
  const nextAttemptAt = handOff
    ? sql`case when k.n <= ${handOff.limit}::int and not exists (select 1 from sources s where s.name = r.source and s.paused)
                  then now() + ${handOff.leaseSeconds}::int * interval '1 second' else now() end`
    : sql`now()`;
  const keyed = handOff
    ? sql`(select keyed.*, row_number() over (order by keyed.event_id) as n from keyed)`
    : sql`keyed`;
  return sql`
    inserted as (
      insert into webhook_events (id, source, webhook_id, topic, account, body, content_hash, headers, max_attempts,
                                  request_target, ordering_key, next_attempt_at, received_at)
      overriding system value
      select k.event_id, r.source, r.webhook_id, r.topic, r.account,
             ${bodyOf(bodies, 'r')},
             decode(r.content_hash, 'hex'), r.headers, r.max_attempts, r.request_target, r.ordering_key,
             ${nextAttemptAt}, k.received_at
      from ${keyed} k join r on r.source = k.source and r.webhook_id = k.webhook_id
      returning id, source, webhook_id, received_at, source || ':' || ordering_key as lane,
                next_attempt_at > received_at as claimed
    ),`;
}

/**
 * The queue rows of a hand-off: the claim statement's columns (src/worker/claim-sql.ts) for
 * the events insertArchiveRows claimed, plain due rows for the rest.
 */
function queueClaimed({ worker }: HandOff): SQL {
  return sql`
    queued as (
      insert into event_queue (event_id, received_at, source, locked_by, locked_at, claim_token, attempt, attempt_id,
                               attempt_started_at)
      select i.id, i.received_at, i.source, c.worker, c.at, c.token, c.attempt, c.attempt_id, c.at
      from inserted i
      left join lateral (
        select ${worker}::text as worker, now() as at, gen_random_uuid() as token, 1 as attempt,
               nextval('processing_log_id_seq') as attempt_id
        where i.claimed
      ) c on true
      returning event_id, claim_token, attempt_id, attempt_started_at
    )
    select i.id, i.source, i.webhook_id, i.received_at, q.claim_token, q.attempt_id, q.attempt_started_at
    from inserted i join queued q on q.event_id = i.id`;
}

const queueUnordered = sql`insert into event_queue (event_id, received_at, source) select id, received_at, source from inserted`;

/**
 * Ordered events (docs/ordering.md; their lanes are locked by the caller's transaction first): an
 * event is its lane's head (due now) when it is the first of its lane in the batch and the lane has
 * no queued event; the others wait at 'infinity'.
 */
const queueOrdered = sql`
  insert into event_queue (event_id, received_at, source, ordering_key, lane_pos, run_at)
  select i.id, i.received_at, i.source, i.lane, case when i.lane is not null then i.id end,
         case when i.lane is null then now()
              when row_number() over (partition by i.lane order by i.id) = 1
                   and not exists (select 1 from event_queue q where q.ordering_key = i.lane) then now()
              else 'infinity'::timestamptz end
  from inserted i`;
