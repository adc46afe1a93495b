import { sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { webhookEvents } from '../db/schema';
import type { EventView } from './claims';

// What a replay writes (src/store/events.ts, replay and replayMatching): the event's new state,
// and its queue row.

/** How many tries a replay gives: the event's source's own max_attempts, else the global one. */
export interface ReplayAttempts {
  bySource: Readonly<Record<string, number>>;
  fallback: number;
}

/**
 * What a replay sets: due now, its source's max_attempts more tries on top of those already made
 * (looked up per row, so one bulk statement serves events of several sources), and the replay
 * time, from which latency statistics measure (src/store/stats.ts).
 */
export const replayedState = ({ bySource, fallback }: ReplayAttempts) => ({
  status: 'received' as const,
  nextAttemptAt: sql`now()`,
  replayedAt: sql`now()`,
  maxAttempts: sql`${webhookEvents.attempts} + coalesce((${JSON.stringify(bySource)}::jsonb ->> ${webhookEvents.source})::int, ${fallback}::int)`,
  processedAt: null,
});

/**
 * Puts replayed events (now 'received', due now) into the hot queue; an event still queued for a
 * later retry becomes due now (a paused source's: due now when the source is resumed). Only unclaimed events are replayed, so no lease is overwritten.
 * Ordered events (docs/ordering.md) with no queue row go to the end of their lane (a fresh lane_pos
 * from the id sequence) and are due only when they reach its head; a blocked head is unblocked and
 * due now; one waiting in its lane keeps its place.
 */
export async function requeue<T extends { id: number }>(
  tx: Pick<Database['db'], 'execute'>,
  events: T[],
): Promise<T[]> {
  if (events.length === 0) return events;
  const ids = sql`(select json_array_elements_text(${JSON.stringify(events.map((e) => e.id))}::text::json)::bigint)`;
  const lanes = sql`array(select e.source || ':' || e.ordering_key from webhook_events e
                          where e.id in ${ids} and e.ordering_key is not null)`;
  await tx.execute(sql`select event_queue_lock_lanes(${lanes})`);
  await tx.execute(sql`
    insert into event_queue (event_id, received_at, source, ordering_key, lane_pos, run_at)
    select e.id, e.received_at, e.source, e.source || ':' || e.ordering_key,
           case when e.ordering_key is not null then nextval(pg_get_serial_sequence('webhook_events', 'id')) end,
           case when e.ordering_key is null then now() else 'infinity'::timestamptz end
    from webhook_events e where e.id in ${ids}
    order by e.id
    on conflict (event_id) do update
    set run_at = case when event_queue.run_at = 'infinity' and event_queue.blocked_at is null
                      then event_queue.run_at else now() end,
        blocked_at = null,
        -- A parked event (its source paused, ../store/queue-parking.ts) keeps run_at 'infinity'
        -- above; it is due now once given back, not at the retry time it was parked with.
        parked_run_at = case when event_queue.parked_run_at is not null then now() end`);
  await tx.execute(sql`select event_queue_promote(${lanes})`);
  return events;
}

export type ReplayResult =
  { status: 'replayed'; event: EventView } | { status: 'not_found' } | { status: 'processing' };
