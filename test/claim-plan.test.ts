// The claim runs as a generic plan (src/db/client.ts, PLAN_ONCE), which expects `limit $1` to return
// a tenth of the rows it deems due. Once the hot queue had been analyzed while large (the worker's
// own vacuum/analyze does, and autovacuum), that plan updated the claimed rows through a hash join
// over a sequential scan of the whole queue: a claim cost O(backlog) just when a backlog had to be
// worked off. Every step must reach the queue by key (src/worker/claim-sql.ts).
import { PgDialect } from 'drizzle-orm/pg-core';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PARK_LOOKAHEAD } from '../src/store/queue-parking';
import { claimStatement } from '../src/worker/claim-sql';
import { createQueue } from '../src/worker/queue-sql';
import { postgresUrl, useMigratedDatabase } from './helpers/database';

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Shared Hit Blocks'?: number;
  'Shared Read Blocks'?: number;
  Plans?: PlanNode[];
}
const nodesOf = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(nodesOf)];

describe.runIf(postgresUrl())('the claim on a large, analyzed queue (postgres)', () => {
  const db = useMigratedDatabase('postgres');
  const queued = 60_000;
  let session: postgres.Sql;

  beforeAll(async () => {
    session = postgres(db.testDb.url!, { max: 1, onnotice: () => {} });
    // A paused source's events that arrived after its pause (not parked yet) queued first, then
    // the running source's.
    const add = (source: string, n: number, age: string) => session`with e as (
        insert into webhook_events (source, webhook_id, topic, body, headers)
        select ${source}, ${source} || '-' || n, 't', convert_to('{}', 'UTF8'), '{}'::jsonb from generate_series(1, ${n}::int) n
        returning id, received_at, source)
        insert into event_queue (event_id, received_at, run_at, source)
        select id, received_at, now() - ${age}::interval, source from e`;
    await session`insert into sources (name, provider, spec, paused) values ('crm', 'github', '{}'::jsonb, true)`;
    await add('crm', 1_500, '2 minutes');
    await add('shop', queued, '1 minute');
    await session`vacuum analyze event_queue`;
  }, 120_000);
  afterAll(async () => {
    await session?.end();
  });

  it('reads the queue by key, not by a scan of every queued row', async () => {
    const { sql: text, params } = new PgDialect().sqlToQuery(claimStatement('w:plan', 100));
    // One connection, the claim explained inside a transaction that is rolled back: only looked at.
    const conn = await session.reserve();
    let plan: PlanNode;
    try {
      await conn`begin`;
      await conn`set local plan_cache_mode = force_generic_plan`;
      await conn`set local jit = off`;
      await conn.unsafe(`prepare claim_plan as ${text}`);
      const args = params.map((p) => (typeof p === 'string' ? `'${p.replaceAll("'", "''")}'` : String(p))).join(', ');
      const [row] = await conn.unsafe(`explain (analyze, buffers, format json) execute claim_plan(${args})`);
      plan = row!['QUERY PLAN'][0].Plan as PlanNode;
    } finally {
      await conn`rollback`;
      await conn.unsafe('deallocate all');
      conn.release();
    }
    const nodes = nodesOf(plan);
    const scans = nodes.filter((n) => n['Node Type'] === 'Seq Scan' && n['Relation Name'] === 'event_queue');
    expect(scans).toEqual([]);
    // 100 claimed and 1,000 parked rows: their index entries, queue rows and archive rows (1,430
    // buffers when written); a scan of the queue is ~750 pages more.
    const buffers = (n: PlanNode) => (n['Shared Hit Blocks'] ?? 0) + (n['Shared Read Blocks'] ?? 0);
    expect(buffers(plan)).toBeLessThan(2_000);
  });

  it("claims the running source's oldest due events and parks the paused source's in its lookahead", async () => {
    const claimed = await createQueue(db.database).claim('w:1', 100);
    expect(claimed).toHaveLength(100);
    expect(claimed.every((e) => e.source === 'shop')).toBe(true);
    const [parked] =
      await session`select count(*)::int as n from event_queue where source = 'crm' and parked_run_at is not null`;
    expect(parked!.n).toBe(PARK_LOOKAHEAD);
  });
});
