import type { Database } from '../db/client';
import { inTransaction } from '../db/statements';
import { insertEventsStatement, type HashedEvent } from '../store/event-insert';
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
 * first of its lane in the batch and the lane has no queued event; the others wait at 'infinity'
 * (src/store/event-insert.ts, which also writes the exactly-once key of the partitioned history).
 */
export async function insertOrdered(
  database: Database,
  events: readonly HashedEvent[],
  lanes: readonly string[],
): Promise<Inserted[]> {
  return inTransaction(database, async (run) => {
    await lockLanes(run, lanes);
    return run<Inserted>(insertEventsStatement(events));
  });
}
