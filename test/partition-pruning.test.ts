// The worker's hot statements touch one day partition of each history table (migration 0019):
// with 35 days of history, every statement the claim → deliver → outcome / release / lease-recovery
// cycle runs is executed under EXPLAIN (ANALYZE, BUFFERS) and its plan is read. A scan of a
// partition that ran (loops > 0) counts; pruned ones are absent or never executed. The ops API's
// lookup by id alone is the contrast: it visits every partition (allowed there, it is not hot).
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../src/db/client';
import { runMigrations } from '../src/db/migrate';
import { createDeliveryLog } from '../src/store/deliveries';
import { createEventStore } from '../src/store/events';
import { createQueue } from '../src/worker/queue-sql';
import { createTestDatabase, databaseKinds, type TestDatabase } from './helpers/database';
import { buffers, explain, explaining, partitionsScanned, type Explained } from './helpers/plans';

const HISTORY_DAYS = 35;
const EVENTS_PER_DAY = 200;

// Also as PostgreSQL plans them where nothing ever analyzed the history (autovacuum off, as on the
// machines the bench runs on) and every statement gets a generic plan: the planner's guesses for
// unanalyzed partitions once turned the claim's join into a merge join over every day (264,000
// blocks per claim with 1 M events of history; that size is the bench's, `npm run bench` history
// phase — here the plans are checked at a size a test can afford).
const variants = [
  ...databaseKinds().map((kind) => ({ kind, analyzed: true, label: `${kind}, analyzed` })),
  ...(databaseKinds().includes('postgres')
    ? [{ kind: 'postgres' as const, analyzed: false, label: 'postgres, never analyzed, generic plans' }]
    : []),
];

describe.each(variants)('partition pruning of the hot statements on $label', ({ kind, analyzed }) => {
  let testDb: TestDatabase;
  let database: Database;
  const plans: Explained[] = [];
  const measured: { name: string; buffers: number; scanned: Record<string, number> }[] = [];

  /** The plans captured by `run`, each checked: at most one partition of each history table scanned. */
  async function expectPruned<T>(
    name: string,
    run: () => Promise<T>,
  ): Promise<{ result: T; scanned: Map<string, Set<string>>[] }> {
    plans.length = 0;
    const result = await run();
    expect(plans.length).toBeGreaterThan(0);
    const scanned = plans.map(({ statement, plan }) => {
      const touched = partitionsScanned(plan);
      for (const [table, partitions] of touched)
        expect(
          partitions.size,
          `${name}: ${table} partitions ${[...partitions].join(', ')}\n${statement}`,
        ).toBeLessThanOrEqual(1);
      measured.push({
        name,
        buffers: buffers(plan),
        scanned: Object.fromEntries([...touched].map(([table, set]) => [table, set.size])),
      });
      return touched;
    });
    return { result, scanned };
  }

  beforeAll(async () => {
    testDb = await createTestDatabase(kind);
    if (!analyzed) {
      const admin = await testDb.open();
      const name = new URL(testDb.url!).pathname.slice(1);
      await admin.rows(sql.raw(`alter database "${name}" set plan_cache_mode = force_generic_plan`));
      await admin.close();
    }
    database = await testDb.open();
    await runMigrations(database, testDb.url);
    await database.rows(sql`
      select gateway_ensure_partition(t, (now() at time zone 'UTC')::date - d)
      from unnest(array['webhook_events', 'processing_log', 'delivery_attempts']) t, generate_series(1, ${HISTORY_DAYS}::int) d`);
    // History as ingest and the worker leave it: each day's events with their key, attempt and delivery.
    await database.rows(sql`
      with e as (
        insert into webhook_events (source, webhook_id, topic, body, content_hash, status, attempts, received_at, processed_at)
        select 'history', 'h-' || d || '-' || n, 't', '\\x7b7d', sha256('\\x7b7d'), 'completed', 1, t, t
        from generate_series(1, ${HISTORY_DAYS}::int) d, generate_series(1, ${EVENTS_PER_DAY}::int) n,
             lateral (select now() - make_interval(days => d) as t) x
        returning id, source, webhook_id, content_hash, received_at
      ), k as (
        insert into event_keys (source, webhook_id, event_id, content_hash, received_at)
        select source, webhook_id, id, content_hash, received_at from e
      ), p as (
        insert into processing_log (event_id, attempt, worker, started_at, finished_at, outcome)
        select id, 1, 'w', received_at, received_at, 'completed' from e
      )
      insert into delivery_attempts (event_id, attempt, destination, started_at, duration_ms, outcome)
      select id, 1, 'crm', received_at, 3, 'delivered' from e`);
    if (analyzed)
      await database.rows(sql`analyze webhook_events, processing_log, delivery_attempts, event_keys, event_queue`);
  }, 120_000);
  afterAll(async () => {
    if (process.env.REPORT_PARTITION_BUFFERS) console.info(kind, JSON.stringify(measured, null, 1));
    await testDb?.drop();
  });

  it('has the history in at least 30 day partitions of each table', async () => {
    const [row] = await database.rows<{ n: number }>(sql`
      select min(n)::int as n from (
        select count(*) as n from pg_inherits i
        where i.inhparent in ('webhook_events'::regclass, 'processing_log'::regclass, 'delivery_attempts'::regclass)
        group by i.inhparent) c`);
    expect(row!.n).toBeGreaterThanOrEqual(HISTORY_DAYS);
  });

  it('the lookup by id alone (ops API) visits every partition: what the hot statements avoid', async () => {
    const [row] = await database.rows<{ id: number }>(sql`select max(id)::int as id from webhook_events`);
    const plan = await explain(database, sql`select * from webhook_events where id = ${row!.id}`);
    expect(partitionsScanned(plan).get('webhook_events')?.size).toBeGreaterThanOrEqual(HISTORY_DAYS);
    measured.push({ name: 'lookup by id alone', buffers: buffers(plan), scanned: { webhook_events: HISTORY_DAYS } });
  });

  it('claim, delivery lookups, outcomes, release and lease recovery each touch one partition per table', async () => {
    const store = createEventStore(database);
    for (let n = 0; n < 5; n++) {
      const stored = await store.insert({
        source: 'live',
        webhookId: `live-${n}`,
        topic: 't',
        body: Buffer.from(`{"n":${n}}`),
        headers: {},
        maxAttempts: 5,
      });
      expect(stored.status).toBe('accepted');
    }
    const queue = createQueue(explaining(database, plans));
    const deliveries = createDeliveryLog(explaining(database, plans));

    const claim = await expectPruned('claim', () => queue.claim('worker-1', 5));
    const events = claim.result;
    expect(events.map((e) => e.webhookId).sort()).toEqual(['live-0', 'live-1', 'live-2', 'live-3', 'live-4']);
    expect(claim.scanned[0]!.get('webhook_events')?.size).toBe(1);

    const [first, second, third, fourth, fifth] = events as [(typeof events)[0], ...typeof events];
    await expectPruned('settledDestinations', () => deliveries.settledDestinations(first.id, first.receivedAt));
    await expectPruned('record delivery', () =>
      deliveries.record({
        eventId: first.id,
        eventReceivedAt: first.receivedAt,
        attempt: first.attempt,
        destination: 'crm',
        startedAt: new Date(),
        durationMs: 4,
        outcome: 'delivered',
        httpStatus: 200,
        error: null,
        ruleVersion: null,
      }),
    );
    expect((await deliveries.settledDestinations(first.id, first.receivedAt)).done).toEqual(new Set(['crm']));

    const outcome = await expectPruned('outcome', () =>
      queue.finishMany([
        { event: first, result: { outcome: 'completed' } },
        { event: second!, result: { outcome: 'retry', error: 'try again', retryInMs: 0 } },
        { event: third!, result: { outcome: 'held', error: 'paused', heldFor: ['crm'], recheckInMs: 60_000 } },
        { event: fourth!, result: { outcome: 'failed', error: 'gave up' } },
      ]),
    );
    expect(outcome.result).toEqual(new Set([first.id, second!.id, third!.id, fourth!.id]));
    expect(outcome.scanned[0]!.get('webhook_events')?.size).toBe(1);
    // The attempt-log rows are inserted with the outcome (the claim only reserved their ids): no
    // partition of the log is read at all.
    expect(outcome.scanned[0]!.has('processing_log')).toBe(false);

    const released = await expectPruned('release', () => queue.release([fifth!], 'shutting down'));
    expect(released.result).toBe(1);

    const again = await expectPruned('claim', () => queue.claim('worker-2', 5));
    expect(again.result.map((e) => e.id).sort()).toEqual([second!.id, fifth!.id].sort());
    await database.rows(
      sql`update event_queue set locked_at = now() - interval '1 hour' where claim_token is not null`,
    );
    const recovered = await expectPruned('lease recovery', () => queue.recoverExpiredLeases(60));
    expect(recovered.result).toBe(2);
    // Two statements: the expired claims' key range, then the recovery itself.
    expect(recovered.scanned.at(-1)!.get('webhook_events')?.size).toBe(1);
    // The abandoned attempts are inserted (their conflict check is an index probe, not a scan).
    expect(recovered.scanned.at(-1)!.has('processing_log')).toBe(false);

    const attempts = await database.rows<{ outcome: string; n: number }>(sql`
      select outcome, count(*)::int as n from processing_log where worker like 'worker-%' group by outcome order by outcome`);
    expect(attempts).toEqual([
      { outcome: 'abandoned', n: 3 },
      { outcome: 'completed', n: 1 },
      { outcome: 'failed', n: 1 },
      { outcome: 'retry', n: 1 },
    ]);
  }, 60_000);
});
