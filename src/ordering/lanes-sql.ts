import { sql } from 'drizzle-orm';
import type { PreparedRows } from '../db/statements';

// The two lane statements every path that changes a lane runs in its transaction (the functions
// are in migrations/0017_ordering.sql; their lock order in 0029_lane_lock_order.sql): ingest locks
// the lanes before deciding whether its row is a head; anything that removes or unblocks a head
// promotes the next one afterwards.

/** The lanes as one text[] parameter (a JSON array: the statement text is the same for any count). */
const laneArray = (lanes: readonly string[]) =>
  sql`array(select json_array_elements_text(${JSON.stringify([...new Set(lanes)])}::text::json))`;

/** Serialises changes to these lanes until the transaction ends (locks sorted by their key: no deadlock between lanes). */
export async function lockLanes(run: PreparedRows, lanes: readonly string[]): Promise<void> {
  if (lanes.length > 0) await run(sql`select event_queue_lock_lanes(${laneArray(lanes)})`);
}

/** Makes each lane's head due if it waits (and announces it to the workers); returns how many were promoted. */
export async function promoteLanes(run: PreparedRows, lanes: readonly string[]): Promise<number> {
  if (lanes.length === 0) return 0;
  const [row] = await run<{ promoted: number }>(sql`select event_queue_promote(${laneArray(lanes)}) as promoted`);
  return Number(row?.promoted ?? 0);
}
