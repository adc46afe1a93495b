import { sql, type SQL } from 'drizzle-orm';

/**
 * `cross join lateral (…) e`: the webhook_events row of each event_queue row (`queue` is its alias
 * in the statement), found by primary key with the partition key, so one partition probe per queue
 * row. A lateral lookup with a limit is never flattened into a join, so the plan cannot turn into a
 * merge or hash join over every day of history when the planner misjudges unanalyzed partitions (it
 * did: a merge join read 264,000 blocks per claim with 1 M events of history, autovacuum off;
 * docs/adr/0008-partitioned-history.md). `columns` are the archive columns to read, as `e.<name>`.
 */
export function archiveRowOf(queue: 'q' | 'due', columns: string): SQL {
  const alias = sql.raw(queue);
  return sql`cross join lateral (
    select ${sql.raw(columns)} from webhook_events e
    where e.id = ${alias}.event_id and e.received_at = ${alias}.received_at limit 1) e`;
}
