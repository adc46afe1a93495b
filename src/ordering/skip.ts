import { sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { inTransaction } from '../db/statements';
import { promoteLanes } from './lanes-sql';

export type SkipResult =
  | { status: 'skipped'; lane: string }
  | { status: 'not_found' }
  /** Finished (completed, failed under 'continue', skipped already): nothing is waiting on it. */
  | { status: 'not_queued' }
  | { status: 'not_ordered' }
  | { status: 'processing' };

/**
 * Takes a queued event of an ordered source out of its lane (docs/ordering.md): typically a head
 * that blocks its key (waiting for a retry, held, or failed under onFailure 'block'). The event
 * becomes `failed` with the reason "skipped by <token>", its queue row goes, and the lane's next
 * event is promoted in the same transaction. An event being processed right now is refused: its
 * worker holds the claim (skip it after the attempt, or let the attempt decide).
 */
export async function skipEvent(database: Database, id: number, actor: string): Promise<SkipResult> {
  return inTransaction(database, async (run) => {
    // The queue row's lock first, as outcomes and replays do, then the lane's (in promoteLanes).
    const [queued] = await run<{ claimed: boolean; lane: string | null }>(sql`
      select q.claim_token is not null as claimed, q.ordering_key as lane
      from event_queue q where q.event_id = ${id} for update`);
    if (!queued) {
      const [exists] = await run(sql`select 1 from webhook_events where id = ${id}`);
      return { status: exists ? 'not_queued' : 'not_found' };
    }
    if (queued.lane === null) return { status: 'not_ordered' };
    if (queued.claimed) return { status: 'processing' };
    await run(sql`
      with gone as (delete from event_queue where event_id = ${id} returning event_id)
      update webhook_events e
      set status = 'failed', last_error = ${`skipped by ${actor}`}, processed_at = now()
      from gone where e.id = gone.event_id`);
    await promoteLanes(run, [queued.lane]);
    return { status: 'skipped', lane: queued.lane };
  });
}
