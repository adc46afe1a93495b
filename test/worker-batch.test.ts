import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { createEventStore } from '../src/store/events';
import { HandlerRegistry } from '../src/worker/handlers';
import { createQueue } from '../src/worker/queue-sql';
import { databaseKinds, useMigratedDatabase } from './helpers/database';
import { createTestWorker } from './helpers/worker';

describe.each(databaseKinds())('batched outcomes on %s', (kind) => {
  const migrated = useMigratedDatabase(kind);

  /** Stores `count` due events of a source of their own, so tests never claim each other's. */
  async function store(source: string, count: number): Promise<void> {
    const events = createEventStore(migrated.database);
    for (let i = 0; i < count; i++) {
      await events.insert({
        source,
        webhookId: `${source}-${i}`,
        topic: 't',
        body: Buffer.from('{}'),
        headers: {},
        maxAttempts: 3,
      });
    }
  }
  const claimAll = async (source: string) =>
    (await createQueue(migrated.database).claim(`test:${source}`, 100)).filter((e) => e.source === source);
  const events = (source: string) =>
    migrated.database.rows<{
      id: string;
      status: string;
      last_error: string | null;
      claim_token: string | null;
      xmin: string;
    }>(
      sql`select e.id, e.status, e.last_error, q.claim_token, e.xmin::text as xmin
          from webhook_events e left join event_queue q on q.event_id = e.id
          where e.source = ${source} order by e.id`,
    );
  const attempts = (source: string) =>
    migrated.database.rows<{ event_id: string; outcome: string; error: string | null; finished_at: unknown }>(
      sql`select p.event_id, p.outcome, p.error, p.finished_at from processing_log p
          join webhook_events e on e.id = p.event_id where e.source = ${source} order by p.event_id`,
    );

  it('finishMany records completions, retries and failures with their attempt logs in one statement', async () => {
    await store('mixed', 3);
    const [a, b, c] = await claimAll('mixed');
    const recorded = await createQueue(migrated.database).finishMany([
      { event: a!, result: { outcome: 'completed' } },
      { event: b!, result: { outcome: 'retry', error: 'try later', retryInMs: 60_000 } },
      { event: c!, result: { outcome: 'failed', error: 'no' } },
    ]);
    expect([...recorded].sort()).toEqual([a!.id, b!.id, c!.id].sort());
    const rows = await events('mixed');
    expect(rows.map((r) => [r.status, r.last_error, r.claim_token])).toEqual([
      ['completed', null, null],
      ['received', 'try later', null],
      ['failed', 'no', null],
    ]);
    expect(new Set(rows.map((r) => r.xmin)).size).toBe(1);
    const log = await attempts('mixed');
    expect(log.map((l) => [l.outcome, l.error])).toEqual([
      ['completed', null],
      ['retry', 'try later'],
      ['failed', 'no'],
    ]);
    expect(log.every((l) => l.finished_at !== null)).toBe(true);
  });

  it('fences each row by its claim token: a taken-over event is left alone, its neighbours are recorded', async () => {
    await store('fenced', 3);
    const [a, b, c] = await claimAll('fenced');
    // Another worker took b over (its lease expired and it was claimed again): a new token.
    await migrated.database.rows(sql`update event_queue set claim_token = gen_random_uuid() where event_id = ${b!.id}`);
    const recorded = await createQueue(migrated.database).finishMany(
      [a!, b!, c!].map((event) => ({ event, result: { outcome: 'completed' as const } })),
    );
    expect([...recorded].sort()).toEqual([a!.id, c!.id].sort());
    // b is still claimed (by the other worker): its archive row was not written.
    expect((await events('fenced')).map((r) => [r.status, r.claim_token !== null])).toEqual([
      ['completed', false],
      ['received', true],
      ['completed', false],
    ]);
    // b's attempt is still running (the other worker's): only a and c have a log row, each once.
    expect((await attempts('fenced')).map((l) => [Number(l.event_id), l.outcome])).toEqual([
      [a!.id, 'completed'],
      [c!.id, 'completed'],
    ]);
    expect(await createQueue(migrated.database).finish(b!, { outcome: 'failed', error: 'late' })).toBe(false);
  });

  it('error text PostgreSQL cannot hold (U+0000, a cut surrogate pair) is stored replaced, not refused', async () => {
    await store('odd-text', 2);
    const [a, b] = await claimAll('odd-text');
    const recorded = await createQueue(migrated.database).finishMany([
      { event: a!, result: { outcome: 'failed', error: 'nul\u0000here' } },
      { event: b!, result: { outcome: 'failed', error: 'cut \uD83D' } },
    ]);
    expect(recorded.size).toBe(2);
    expect((await events('odd-text')).map((r) => r.last_error)).toEqual(['nul\uFFFDhere', 'cut \uFFFD']);
  });

  it('the worker records the outcomes of attempts that finish together with one statement', async () => {
    await store('together', 20);
    const handled: number[] = [];
    const worker = createTestWorker(migrated.database, {
      handlers: new HandlerRegistry().on('together', '*', (event) => {
        handled.push(event.id);
      }),
      batchSize: 50,
      concurrency: 50,
    });
    await worker.tick();
    await worker.idle();
    expect(handled).toHaveLength(20);
    const rows = await events('together');
    expect(rows.every((r) => r.status === 'completed')).toBe(true);
    expect(new Set(rows.map((r) => r.xmin)).size).toBe(1);
    expect((await attempts('together')).every((l) => l.outcome === 'completed')).toBe(true);
  });

  it('handlers run no more than `concurrency` at once while outcomes are written in batches', async () => {
    await store('bounded', 30);
    let running = 0;
    let most = 0;
    const worker = createTestWorker(migrated.database, {
      handlers: new HandlerRegistry().on('bounded', '*', async () => {
        running += 1;
        most = Math.max(most, running);
        await new Promise((r) => setTimeout(r, 2 + Math.random() * 5));
        running -= 1;
      }),
    });
    await worker.tick();
    await worker.idle();
    expect(most).toBeLessThanOrEqual(4);
    expect((await events('bounded')).every((r) => r.status === 'completed')).toBe(true);
  });
});
