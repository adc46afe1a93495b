import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEventStore } from '../src/store/events';
import { retryDelayMs } from '../src/worker/backoff';
import { PermanentError, type DeliveredEvent } from '../src/worker/handlers';
import { createQueue } from '../src/worker/queue-sql';
import { databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { post, shopifyHeaders } from './helpers/signers';

describe('retryDelayMs', () => {
  const policy = { baseMs: 1000, maxMs: 60_000 };
  it('doubles per attempt within [nominal/2, nominal]', () => {
    expect([1, 2, 3, 4].map((a) => retryDelayMs(a, policy, () => 0))).toEqual([500, 1000, 2000, 4000]);
    expect([1, 2, 3, 4].map((a) => retryDelayMs(a, policy, () => 1))).toEqual([1000, 2000, 4000, 8000]);
  });
  it('is capped at maxMs', () => {
    expect(retryDelayMs(20, policy, () => 1)).toBe(60_000);
    expect(retryDelayMs(1000, policy, () => 1)).toBe(60_000);
  });
});

describe.each(databaseKinds())('worker on %s', (kind) => {
  let gw: TestGateway;
  const source = 'shopify';
  beforeAll(async () => {
    // No cron ticks: the tests call tick() themselves, so nothing claims behind a test's back.
    gw = await startTestGateway(kind, {
      worker: { cron: '0 0 1 1 *', retryBaseMs: 40, retryMaxMs: 400, maxAttempts: 8, leaseSeconds: 1 },
    });
  });
  afterAll(() => gw?.stop());

  async function send(id: string, topic: string, payload: object = { id }) {
    const body = JSON.stringify(payload);
    const res = await post(
      `${gw.url}/api/webhooks/shopify/${topic}`,
      body,
      shopifyHeaders(SECRETS.shopify, body, id, 'acme.myshopify.com', topic),
    );
    expect(res.json.status).toBe('accepted');
    return res.json.id as number;
  }
  /** Stores an event that no live worker will see as due, so a "dead" worker can claim it first. */
  async function insertUnannounced(webhookId: string, maxAttempts: number): Promise<number> {
    // Inserted and queued not yet due (the insert's notification says due=false), then made due
    // without a status change (which announces nothing); the live worker's cron is off in this file.
    const [row] = await gw.query<{ id: string }>(
      `with e as (
         insert into webhook_events (source, webhook_id, topic, body, max_attempts, next_attempt_at)
         values ('test-crash', $1, 't', '\\x7b7d', $2, now() + interval '1 hour') returning id, next_attempt_at, received_at, source)
       insert into event_queue (event_id, run_at, received_at, source) select id, next_attempt_at, received_at, source from e
       returning event_id as id`,
      [webhookId, maxAttempts],
    );
    await gw.query('update webhook_events set next_attempt_at = now() where id = $1', [row!.id]);
    await gw.query('update event_queue set run_at = now() where event_id = $1', [row!.id]);
    return Number(row!.id);
  }
  const eventRow = async (id: number) =>
    // As the ops views show it: a claim on the queue row reads as 'processing' (src/store/claims.ts).
    (
      await gw.query<{ status: string; attempts: number; last_error: string | null; locked_by: string | null }>(
        `select case when q.claim_token is not null then 'processing' else e.status end as status,
              coalesce(q.attempt, e.attempts) as attempts, e.last_error, q.locked_by
       from webhook_events e left join event_queue q on q.event_id = e.id and q.claim_token is not null
       where e.id = $1`,
        [id],
      )
    )[0]!;
  const attempts = (id: number) =>
    gw.query<{
      attempt: number;
      outcome: string;
      worker: string;
      started_at: Date;
      finished_at: Date | null;
      error: string | null;
    }>(
      'select attempt, outcome, worker, started_at, finished_at, error from processing_log where event_id = $1 order by id',
      [id],
    );

  it('hands the handler the stored event and completes it', async () => {
    const seen: DeliveredEvent[] = [];
    gw.gateway.on(source, 'handled/ok', (event) => {
      seen.push(event);
    });
    const id = await send('w-ok', 'handled/ok', { id: 'w-ok', amount: 5 });
    await waitFor(async () => (await eventRow(id)).status === 'completed');
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      id,
      source,
      topic: 'handled/ok',
      webhookId: 'acme.myshopify.com/w-ok',
      attempt: 1,
      maxAttempts: 8,
    });
    expect(seen[0]!.payload).toEqual({ id: 'w-ok', amount: 5 });
    expect(seen[0]!.rawBody.toString()).toBe('{"id":"w-ok","amount":5}');
    const log = await attempts(id);
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({ attempt: 1, outcome: 'completed', worker: gw.gateway.worker.id, error: null });
    expect(gw.gateway.worker.id).toMatch(/^.+:\d+$/);
  });

  it('retries a failing handler 8 times with growing backoff, then marks it failed', async () => {
    let calls = 0;
    gw.gateway.on(source, 'handled/flaky', () => {
      calls += 1;
      throw new Error(`upstream said no (${calls})`);
    });
    const id = await send('w-flaky', 'handled/flaky');
    await waitFor(
      async () => {
        await gw.gateway.worker.tick();
        return (await eventRow(id)).status === 'failed';
      },
      20_000,
      'event to fail',
    );
    expect(calls).toBe(8);
    const row = await eventRow(id);
    expect(row).toMatchObject({
      status: 'failed',
      attempts: 8,
      last_error: 'upstream said no (8)',
      locked_by: null,
    });
    const log = await attempts(id);
    expect(log.map((a) => a.outcome)).toEqual([...Array(7).fill('retry'), 'failed']);
    expect(log.map((a) => a.attempt)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    // Each retry waited at least half its nominal delay (equal jitter): 20, 40, 80, 160, 200, 200, 200 ms.
    for (let i = 0; i < 7; i++) {
      const waited = new Date(log[i + 1]!.started_at).getTime() - new Date(log[i]!.finished_at!).getTime();
      expect(waited).toBeGreaterThanOrEqual(retryDelayMs(i + 1, { baseMs: 40, maxMs: 400 }, () => 0) - 2);
    }
  });

  it('a PermanentError fails the event at once without retries', async () => {
    gw.gateway.on(source, 'handled/permanent', () => {
      throw new PermanentError('order references an unknown SKU');
    });
    const id = await send('w-perm', 'handled/permanent');
    await waitFor(async () => (await eventRow(id)).status === 'failed');
    expect(await eventRow(id)).toMatchObject({
      attempts: 1,
      last_error: 'order references an unknown SKU',
    });
  });

  it('recovers an event whose worker died, and fences the dead worker out', async () => {
    const database = gw.gateway.database;
    const id = await insertUnannounced('crash-1', 8);
    const deadQueue = createQueue(database);
    const [claimed] = await deadQueue.claim('dead-host:4242', 100).then((all) => all.filter((e) => e.id === id));
    expect(claimed).toBeDefined();
    expect(await eventRow(id)).toMatchObject({ status: 'processing', locked_by: 'dead-host:4242' });

    // Lease is 1 s; the backstop tick returns it to due and the live worker completes it.
    await waitFor(
      async () => {
        await gw.gateway.worker.tick();
        return (await eventRow(id)).status === 'completed';
      },
      15_000,
      'recovery',
    );
    const log = await attempts(id);
    expect(log.map((a) => [a.worker, a.outcome])).toEqual([
      ['dead-host:4242', 'abandoned'],
      [gw.gateway.worker.id, 'completed'],
    ]);

    // The dead worker wakes up and tries to record a failure: rejected, nothing changes.
    expect(await deadQueue.finish(claimed!, { outcome: 'failed', error: 'late' })).toBe(false);
    expect(await eventRow(id)).toMatchObject({ status: 'completed', attempts: 2 });
  });

  it('a handler running longer than the lease keeps its claim: the heartbeat extends it', async () => {
    gw.gateway.on(source, 'handled/slow', async () => {
      await new Promise((r) => setTimeout(r, 2_500));
    });
    const id = await send('w-slow', 'handled/slow');
    // Lease is 1 s; ticks keep trying to recover expired leases while the handler runs.
    await waitFor(
      async () => {
        await gw.gateway.worker.tick();
        return (await eventRow(id)).status === 'completed';
      },
      15_000,
      'the slow handler to complete',
    );
    const log = await attempts(id);
    expect(log.map((a) => a.outcome)).toEqual(['completed']);
    expect(await eventRow(id)).toMatchObject({ attempts: 1 });
  });

  it('an event whose last attempt was abandoned ends failed, not due forever', async () => {
    const inserted = { id: await insertUnannounced('crash-last', 1) };
    const [claimed] = (await createQueue(gw.gateway.database).claim('dead-host:1', 100)).filter(
      (e) => e.id === inserted.id,
    );
    expect(claimed).toBeDefined();
    await waitFor(async () => {
      await gw.gateway.worker.tick();
      return (await eventRow(inserted.id)).status === 'failed';
    });
    expect((await eventRow(inserted.id)).last_error).toBe('lease expired: worker dead-host:1 stopped responding');
  });
});

describe('worker drain loop', () => {
  // Opens a fresh in-memory PGlite inside the test (initdb: ~5 s of CPU, 30 s and more seen on a
  // loaded 2-core machine), so it gets 90 s rather than the default 30 s.
  it('keeps draining after wake-ups that arrive while every slot is busy (regression)', async () => {
    // Found by the SIGKILL crash test: a wake-up on a full worker left a settled promise behind
    // that made every later drain a no-op, so events sat due until... forever.
    const { createTestDatabase } = await import('./helpers/database');
    const { runMigrations } = await import('../src/db/migrate');
    const { HandlerRegistry } = await import('../src/worker/handlers');
    const { createTestWorker } = await import('./helpers/worker');
    const testDb = await createTestDatabase('pglite');
    const database = await testDb.open();
    await runMigrations(database);
    const store = createEventStore(database);
    for (let i = 0; i < 4; i++) {
      await store.insert({
        source: 's',
        webhookId: `d-${i}`,
        topic: 't',
        body: Buffer.from('{}'),
        headers: {},
        maxAttempts: 8,
      });
    }
    const handled: number[] = [];
    const worker = createTestWorker(database, {
      handlers: new HandlerRegistry().on('s', '*', async (e) => {
        await new Promise((r) => setTimeout(r, 20));
        handled.push(e.id);
      }),
      concurrency: 1,
    });
    worker.wake();
    await waitFor(() => worker.inFlight === 1);
    worker.wake(); // arrives while the only slot is busy
    await waitFor(() => handled.length === 4, 5_000, 'all four events without a cron tick');
    await worker.idle();
    await testDb.drop();
  }, 90_000);
});
