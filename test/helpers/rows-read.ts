import { sql, type SQL } from 'drizzle-orm';
import type { Database } from '../../src/db/client';

export interface PlanNode {
  'Relation Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Rows Removed by Filter'?: number;
  Plans?: PlanNode[];
}

/** Rows a plan's scans of `table` (and its partitions) read: returned or removed by a filter. */
export function rowsOf(node: PlanNode, table: string): number {
  const own = node['Relation Name']?.startsWith(table)
    ? ((node['Actual Rows'] ?? 0) + (node['Rows Removed by Filter'] ?? 0)) * (node['Actual Loops'] ?? 1)
    : 0;
  return own + (node.Plans ?? []).reduce((sum, child) => sum + rowsOf(child, table), 0);
}

/**
 * A Database that records every statement run through `rows` or drizzle's query builder, and the
 * rows each one read of `table`, counted by EXPLAIN ANALYZE afterwards (not by time).
 */
export function watchStatements(database: Database) {
  const statements: SQL[] = [];
  const watched: Database = {
    ...database,
    rows: (query) => {
      statements.push(query);
      return database.rows(query);
    },
  };
  return {
    watched,
    statements,
    /** Runs EXPLAIN ANALYZE on each recorded statement (a second time): the rows each read of `table`. */
    async rowsRead(table: string, recorded: SQL[] = statements): Promise<number[]> {
      const read: number[] = [];
      for (const statement of recorded) {
        const [plan] = await database.rows<{ 'QUERY PLAN': unknown }>(sql`explain (analyze, format json) ${statement}`);
        const raw = plan!['QUERY PLAN'];
        const [root] = (typeof raw === 'string' ? JSON.parse(raw) : raw) as { Plan: PlanNode }[];
        read.push(rowsOf(root!.Plan, table));
      }
      return read;
    },
  };
}
