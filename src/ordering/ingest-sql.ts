import { sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { inTransaction } from '../db/statements';
import { lockLanes } from './lanes-sql';

export interface Inserted {
  id: string | number;
  source: string;
  webhook_id: string;
}

/**
 * The group-commit insert (src/store/group-commit.ts) for a batch with ordered events (docs/ordering.md), in a transaction that first
 * locks their lanes: the ids (receive order) are then drawn, and each lane's head decided, while no
 * other transaction can change those lanes. An event is its lane's head (due now) when it is the
 * first of its lane in the batch and the lane has no queued event; the others wait at 'infinity'.
 */
export async function insertOrdered(database: Database, rows: string, lanes: readonly string[]): Promise<Inserted[]> {
  return inTransaction(database, async (run) => {
    await lockLanes(run, lanes);
    return run<Inserted>(sql`
      with inserted as (
        insert into webhook_events (source, webhook_id, topic, account, body, content_hash, headers, max_attempts,
                                    request_target, ordering_key)
        select r.source, r.webhook_id, r.topic, r.account, decode(r.body, 'base64'), decode(r.content_hash, 'hex'),
               r.headers, r.max_attempts, r.request_target, r.ordering_key
        from json_to_recordset(${rows}::text::json) as r(
          source text, webhook_id text, topic text, account text, body text, content_hash text, headers jsonb,
          max_attempts int, request_target text, ordering_key text)
        on conflict (source, webhook_id) do nothing
        returning id, source, webhook_id, source || ':' || ordering_key as lane
      ),
      queued as (
        insert into event_queue (event_id, ordering_key, lane_pos, run_at)
        select i.id, i.lane, case when i.lane is not null then i.id end,
               case when i.lane is null then now()
                    when row_number() over (partition by i.lane order by i.id) = 1
                         and not exists (select 1 from event_queue q where q.ordering_key = i.lane) then now()
                    else 'infinity'::timestamptz end
        from inserted i
      )
      select id, source, webhook_id from inserted`);
  });
}
