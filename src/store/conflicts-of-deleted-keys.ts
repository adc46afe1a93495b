import { sql, type SQL } from 'drizzle-orm';
import { rowsOf, type Database } from '../db/client';

/**
 * Runs `deleteKeys` — a statement that deletes exactly-once keys (with their events, or after
 * their day was dropped) and returns the ids of their events — then, in a second statement of the
 * same transaction, the conflicts of those events (no foreign key reaches the partitioned
 * webhook_events). Two statements, not one: a copy with other bytes locks its key before inserting
 * its conflict (settleCopies, src/store/conflicts.ts), and a key delete that waited for that lock
 * kept its statement's snapshot, from before the conflict was committed; the second statement's
 * snapshot sees it. Returns the rows of `deleteKeys`.
 */
export async function deleteKeysAndConflicts<T extends { id: string | number }>(
  database: Database,
  deleteKeys: SQL,
): Promise<T[]> {
  return database.db.transaction(async (tx) => {
    const gone = rowsOf<T>(await tx.execute(deleteKeys));
    if (gone.length === 0) return gone;
    // A bigint[] literal of the ids the database returned (digits only).
    const ids = `{${gone.map((row) => String(row.id)).join(',')}}`;
    await tx.execute(sql`delete from event_conflicts c where c.event_id = any(${ids}::bigint[])`);
    return gone;
  });
}
