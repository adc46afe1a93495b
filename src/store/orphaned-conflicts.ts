import { sql } from 'drizzle-orm';
import type { Database } from '../db/client';

/** Conflicts looked at per statement: each holds its locks for a few milliseconds. */
const BATCH = 1000;

/**
 * Deletes conflicts whose event no longer exists; returns how many. Retention deletes a key's
 * conflicts with it (conflicts-of-deleted-keys.ts), but until that was made race-free (a copy
 * settled while retention deleted its key inserted its conflict after the delete had looked), such
 * conflicts were left behind for good, and the conflicts API answered an event_href that 404s.
 *
 * A conflict is an orphan when no exactly-once key names its event: an event is never without its
 * key (a key goes with its event, or after its day was dropped), so no key means no event. A key of
 * the same (source, webhook id) held by a newer event (the sender's retry after the purge) does not
 * keep it. One probe of event_keys' primary key per conflict; webhook_events (keyed by id and
 * received_at) would cost a probe of every day partition. Walks all conflicts by id, BATCH at a
 * time. Safe beside a copy being settled: its conflict is inserted while it holds its key (FOR KEY
 * SHARE, settleCopies), so a conflict this statement sees had its key committed before it.
 */
export async function deleteOrphanedConflicts(database: Database): Promise<number> {
  let after = 0;
  let deleted = 0;
  for (;;) {
    const [row] = await database.rows<{ last: string | null; seen: number; deleted: number }>(sql`
      with batch as (
        select c.id, c.event_id, c.source, c.webhook_id from event_conflicts c
        where c.id > ${after} order by c.id limit ${BATCH}
      ),
      orphans as (
        delete from event_conflicts c
        where c.id = any(array(
          select b.id from batch b
          where not exists (select 1 from event_keys k
                            where k.source = b.source and k.webhook_id = b.webhook_id and k.event_id = b.event_id)))
        returning c.id
      )
      select (select max(id) from batch)::text as last, (select count(*) from batch)::int as seen,
             (select count(*) from orphans)::int as deleted`);
    deleted += row?.deleted ?? 0;
    if (!row?.last || row.seen < BATCH) return deleted;
    after = Number(row.last);
  }
}
