import { sql, type SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import type { Database } from '../../src/db/client';

// Plans of the statements the gateway really runs, read with EXPLAIN (ANALYZE, BUFFERS) and rolled
// back (test/partition-pruning.test.ts, test/retention-pruning.test.ts).

export interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Actual Loops'?: number;
  'Shared Hit Blocks'?: number;
  'Shared Read Blocks'?: number;
  Plans?: PlanNode[];
}
export interface Explained {
  statement: string;
  plan: PlanNode;
}

const PARTITION = /^(webhook_events|processing_log|delivery_attempts)_(p\d{8}|default)$/;

/** Partitions each history table had scanned (executed at least once) in a plan. */
export function partitionsScanned(plan: PlanNode): Map<string, Set<string>> {
  const touched = new Map<string, Set<string>>();
  const walk = (node: PlanNode) => {
    const match = PARTITION.exec(node['Relation Name'] ?? '');
    if (match && node['Node Type'] !== 'ModifyTable' && (node['Actual Loops'] ?? 0) > 0) {
      const set = touched.get(match[1]!) ?? new Set<string>();
      set.add(node['Relation Name']!);
      touched.set(match[1]!, set);
    }
    node.Plans?.forEach(walk);
  };
  walk(plan);
  return touched;
}

/** Partitions of a history table read by a sequential scan (executed at least once) in a plan. */
export function partitionsReadWhole(plan: PlanNode, table: string): Set<string> {
  const read = new Set<string>();
  const walk = (node: PlanNode) => {
    const match = PARTITION.exec(node['Relation Name'] ?? '');
    if (match?.[1] === table && node['Node Type'] === 'Seq Scan' && (node['Actual Loops'] ?? 0) > 0)
      read.add(node['Relation Name']!);
    node.Plans?.forEach(walk);
  };
  walk(plan);
  return read;
}

export const buffers = (plan: PlanNode) => (plan['Shared Hit Blocks'] ?? 0) + (plan['Shared Read Blocks'] ?? 0);

/** EXPLAIN (ANALYZE, BUFFERS) of a statement in a transaction that is rolled back: its plan, nothing written. */
export async function explain(database: Database, query: SQL): Promise<PlanNode> {
  const explained = sql`explain (analyze, buffers, format json) ${query}`;
  if (database.pglite) {
    const { sql: text, params } = new PgDialect().sqlToQuery(explained);
    return database.pglite.transaction(async (tx) => {
      const result = await tx.query<Record<string, unknown>>(text, params);
      await tx.rollback();
      return planOf(result.rows[0]!);
    });
  }
  const { sql: text, params } = new PgDialect().sqlToQuery(explained);
  let plan: PlanNode | undefined;
  await database
    .sql!.begin(async (tx) => {
      const [row] = await tx.unsafe(text, params as never[]);
      plan = planOf(row as Record<string, unknown>);
      throw new RolledBack();
    })
    .catch((err: unknown) => {
      if (!(err instanceof RolledBack)) throw err;
    });
  return plan!;
}
class RolledBack extends Error {}
const planOf = (row: Record<string, unknown>): PlanNode => {
  const cell = Object.values(row)[0];
  return (typeof cell === 'string' ? JSON.parse(cell) : cell)[0].Plan as PlanNode;
};

/** A drizzle transaction's execute(), as far as this file uses it. */
type Executor = {
  execute(query: SQL): Promise<unknown>;
  transaction<T>(work: (tx: Executor) => Promise<T>): Promise<T>;
};
const rowsOf = (result: unknown) =>
  (Array.isArray(result) ? result : (result as { rows: Record<string, unknown>[] }).rows) as Record<string, unknown>[];

/**
 * The database as the queue and delivery log see it, except that each statement is first explained
 * (and rolled back), then run for real: the plans are those of the real statements and data. Both
 * paths are covered: single statements (rows) and transactions (db.transaction, where the
 * explanation runs in a savepoint that is rolled back).
 */
export function explaining(database: Database, plans: Explained[]): Database {
  const dialect = new PgDialect();
  const inTransaction = (tx: Executor): Executor => ({
    async execute(query: SQL) {
      await tx
        .transaction(async (savepoint) => {
          const [row] = rowsOf(await savepoint.execute(sql`explain (analyze, buffers, format json) ${query}`));
          plans.push({ statement: dialect.sqlToQuery(query).sql, plan: planOf(row!) });
          throw new RolledBack();
        })
        .catch((err: unknown) => {
          if (!(err instanceof RolledBack)) throw err;
        });
      return { rows: rowsOf(await tx.execute(query)) };
    },
    transaction: (work) => tx.transaction((inner) => work(inTransaction(inner))),
  });
  const db = new Proxy(database.db, {
    get(target, property) {
      if (property === 'transaction')
        return (work: (tx: Executor) => Promise<unknown>) =>
          (target as unknown as Executor).transaction((tx) => work(inTransaction(tx)));
      const value = Reflect.get(target, property) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return {
    kind: database.kind,
    db,
    close: async () => {},
    async rows<T>(query: SQL): Promise<T[]> {
      plans.push({ statement: dialect.sqlToQuery(query).sql, plan: await explain(database, query) });
      return database.rows<T>(query);
    },
  };
}
