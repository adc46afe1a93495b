import { sql, type SQL } from 'drizzle-orm';
import { wellFormed } from '../db/statements';
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
}

/**
 * The one statement that stores new events, for the group commit (many rows) and the nonce path
 * (one row, inside its transaction). webhook_events is partitioned (migration 0019), so the
 * exactly-once key is event_keys' primary key: the key row is inserted first with `on conflict do
 * nothing` (a concurrent twin waits for the first to commit, then is skipped), and only the keys it
 * returns become events and queue rows, all in this statement. Key and event share the id (taken
 * from the event's identity sequence; a skipped copy burns one, as any sequence may) and received_at.
 * The rows travel as one JSON array, so the text is the same for every batch size and is prepared
 * once per connection. Rows must have distinct keys (the group commit collapses copies first).
 */
export function insertEventsStatement(events: readonly HashedEvent[]): SQL {
  const ordered = events.some(({ event }) => event.ordering);
  const rows = JSON.stringify(
    events.map(({ event: e, hash }) => ({
      source: wellFormed(e.source),
      webhook_id: wellFormed(e.webhookId),
      topic: wellFormed(e.topic),
      account: e.account === undefined ? null : wellFormed(e.account),
      body: e.body.toString('base64'),
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
        source text, webhook_id text, topic text, account text, body text, content_hash text, headers jsonb,
        max_attempts int, request_target text, ordering_key text)
    ),
    keyed as (
      insert into event_keys (source, webhook_id, event_id, content_hash, received_at)
      select r.source, r.webhook_id, nextval('webhook_events_id_seq'), decode(r.content_hash, 'hex'), now() from r
      on conflict (source, webhook_id) do nothing
      returning source, webhook_id, event_id, received_at
    ),
    inserted as (
      insert into webhook_events (id, source, webhook_id, topic, account, body, content_hash, headers, max_attempts,
                                  request_target, ordering_key, received_at)
      overriding system value
      select k.event_id, r.source, r.webhook_id, r.topic, r.account, decode(r.body, 'base64'),
             decode(r.content_hash, 'hex'), r.headers, r.max_attempts, r.request_target, r.ordering_key, k.received_at
      from keyed k join r on r.source = k.source and r.webhook_id = k.webhook_id
      returning id, source, webhook_id, received_at, source || ':' || ordering_key as lane
    ),
    queued as (${ordered ? queueOrdered : queueUnordered})
    select id, source, webhook_id from inserted`;
}

const queueUnordered = sql`insert into event_queue (event_id, received_at) select id, received_at from inserted`;

/**
 * Ordered events (docs/ordering.md; their lanes are locked by the caller's transaction first): an
 * event is its lane's head (due now) when it is the first of its lane in the batch and the lane has
 * no queued event; the others wait at 'infinity'.
 */
const queueOrdered = sql`
  insert into event_queue (event_id, received_at, ordering_key, lane_pos, run_at)
  select i.id, i.received_at, i.lane, case when i.lane is not null then i.id end,
         case when i.lane is null then now()
              when row_number() over (partition by i.lane order by i.id) = 1
                   and not exists (select 1 from event_queue q where q.ordering_key = i.lane) then now()
              else 'infinity'::timestamptz end
  from inserted i`;
