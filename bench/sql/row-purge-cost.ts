// One batch of the row purge (src/store/retention.ts) on a history of day partitions: N completed
// events (default 300,000) over the last 29 days and 5,000 completed 40 days ago, each with its key,
// one attempt and one delivery, in day partitions from 40 days ago to a week ahead (48 days and the
// default of each history table), analyzed. The purge's first statement (its biggest) is run under
// EXPLAIN (ANALYZE, BUFFERS) R times (default 5), each in a transaction rolled back, with
// completedDays 30 and batchSize 1,000 as the cron runs it; prints planning and execution time
// (median) and the partitions of each table the plan kept. Run:
// node --import tsx bench/sql/row-purge-cost.ts (docs/performance.md, *The row purge on a large history*).
// Then the sweep of conflicts left without their event, over C conflicts (default 100,000).
import { sql as drizzleSql, type SQL } from 'drizzle-orm';
import { openDatabase, type Database } from '../../src/db/client';
import { deleteOrphanedConflicts } from '../../src/store/orphaned-conflicts';
import { createRetention } from '../../src/store/retention';
import { createBenchDatabase } from '../lib/database';

interface PlanNode {
  'Relation Name'?: string;
  Plans?: PlanNode[];
}
interface Measured {
  planningMs: number;
  executionMs: number;
  partitions: Record<string, number>;
}

const db = await createBenchDatabase(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
const gateway = await openDatabase({ url: db.url, poolSize: 2 });
try {
  const n = Number(process.env.N ?? 300_000);
  await db.sql`select gateway_ensure_partition(t, (now() at time zone 'UTC')::date + d)
    from unnest(array['webhook_events', 'processing_log', 'delivery_attempts']) t, generate_series(-40, 7) d`;
  let started = performance.now();
  await history(n, '29 days', 0);
  await history(5_000, '1 day', 40);
  await db.sql`analyze`;
  console.log(`generated ${n + 5_000} events in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  // A new session each time, as the hourly cron finds it (the pool closes connections idle for
  // 60 s): its first plan over the partitions also loads their catalog entries. Then the same
  // statement again in that session, as the purge's next batch runs it.
  const cold: Measured[] = [];
  const warm: Measured[] = [];
  for (let i = 0; i < Number(process.env.R ?? 5); i++) {
    const session = await openDatabase({ url: db.url, poolSize: 2 });
    try {
      cold.push(await explainFirstStatement(session));
      warm.push(await explainFirstStatement(session));
    } finally {
      await session.close();
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!.toFixed(1);
  const summary = (runs: Measured[]) => ({
    planningMs: median(runs.map((r) => r.planningMs)),
    executionMs: median(runs.map((r) => r.executionMs)),
  });
  console.log(
    JSON.stringify({ newSession: summary(cold), nextBatch: summary(warm), partitionsRun: cold[0]!.partitions }),
  );
  started = performance.now();
  const purged = await createRetention(gateway).purge({ completedDays: 30, failedDays: 90, batchSize: 1000 });
  console.log(`purge for real: ${JSON.stringify(purged)} in ${(performance.now() - started).toFixed(0)} ms`);
  // The orphaned-conflict sweep the same run ends with: C conflicts (default 100,000) of 1 KB
  // bodies, 1 % of them left without their event.
  const conflicts = Number(process.env.C ?? 100_000);
  await db.sql`
    insert into event_conflicts (event_id, source, webhook_id, content_hash, body, body_size)
    select case when n % 100 = 0 then -n else e.id end, e.source, e.webhook_id, sha256(e.webhook_id::bytea),
           convert_to(repeat('x', 1024), 'UTF8'), 1024
    from (select id, source, webhook_id, row_number() over (order by id) as n from webhook_events limit ${conflicts}) e`;
  await db.sql`vacuum analyze event_conflicts`;
  for (const pass of ['first', 'again']) {
    started = performance.now();
    const swept = await deleteOrphanedConflicts(gateway);
    console.log(
      `orphan sweep (${pass}): ${swept} of ${conflicts} conflicts in ${(performance.now() - started).toFixed(0)} ms`,
    );
  }
} finally {
  await gateway.close();
  await db.drop();
}

/** `count` completed events spread over `span` ending `daysAgo` days ago, each with key, attempt and delivery. */
async function history(count: number, span: string, daysAgo: number) {
  await db.sql.begin(async (tx) => {
    // Without the notify trigger: history notifies nobody.
    await tx`set local session_replication_role = replica`;
    await tx`
      with e as (
        insert into webhook_events (source, webhook_id, topic, status, body, content_hash, attempts, received_at, processed_at)
        select 'shopify', 'purge-' || ${daysAgo}::int || '-' || g, 'orders/create', 'completed', '\\x7b7d', sha256('\\x7b7d'), 1,
               at, at + interval '15 milliseconds'
        from generate_series(1, ${count}::int) g,
             lateral (select now() - make_interval(days => ${daysAgo}::int) - g * (${span}::interval / ${count}::int)) x(at)
        returning id, source, webhook_id, content_hash, received_at, processed_at
      ),
      k as (insert into event_keys (source, webhook_id, event_id, content_hash, received_at)
            select source, webhook_id, id, content_hash, received_at from e),
      p as (insert into processing_log (event_id, attempt, worker, started_at, finished_at, outcome)
            select id, 1, 'bench', received_at, processed_at, 'completed' from e)
      insert into delivery_attempts (event_id, attempt, destination, started_at, duration_ms, outcome, http_status)
      select id, 1, 'crm', received_at + interval '5 milliseconds', 10, 'delivered', 200 from e`;
  });
}

/**
 * The purge's first statement under EXPLAIN (ANALYZE, BUFFERS), rolled back with the whole batch:
 * the database handed to createRetention explains instead of running, then aborts the purge.
 */
async function explainFirstStatement(database: Database): Promise<Measured> {
  let measured: Measured | undefined;
  const stop = new Error('explained');
  const explaining: Database = {
    ...database,
    db: new Proxy(database.db, {
      get(target, property) {
        if (property !== 'transaction') return Reflect.get(target, property) as unknown;
        return (work: (tx: { execute(query: SQL): Promise<unknown> }) => Promise<unknown>) =>
          target.transaction(async (tx) =>
            work({
              async execute(query: SQL) {
                const [row] = (await tx.execute(
                  drizzleSql`explain (analyze, buffers, format json) ${query}`,
                )) as unknown as Record<string, unknown>[];
                const [result] = Object.values(row!)[0] as {
                  Plan: PlanNode;
                  'Planning Time': number;
                  'Execution Time': number;
                }[];
                measured = {
                  planningMs: result!['Planning Time'],
                  executionMs: result!['Execution Time'],
                  partitions: partitionsIn(result!.Plan),
                };
                throw stop;
              },
            }),
          );
      },
    }),
  };
  await createRetention(explaining)
    .purge({ completedDays: 30, failedDays: 90, batchSize: 1000 })
    .catch((err: unknown) => {
      if (err !== stop) throw err;
    });
  return measured!;
}

/** How many partitions (day or default) of each history table a plan names. */
function partitionsIn(plan: PlanNode): Record<string, number> {
  const names = new Set<string>();
  const walk = (node: PlanNode) => {
    if (node['Relation Name']) names.add(node['Relation Name']);
    node.Plans?.forEach(walk);
  };
  walk(plan);
  const counts: Record<string, number> = {};
  for (const name of names) {
    const table = /^(webhook_events|processing_log|delivery_attempts)_(p\d{8}|default)$/.exec(name)?.[1];
    if (table) counts[table] = (counts[table] ?? 0) + 1;
  }
  return counts;
}
