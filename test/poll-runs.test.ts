import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createPollLocks } from '../src/poll/lock-sql';
import { createEventStore } from '../src/store/events';
import { createTestDatabase, databaseKinds, type TestDatabase } from './helpers/database';
import { SECRETS, waitFor } from './helpers/gateway';
import { startPollHarness, waitForRun, type PollHarness } from './helpers/poll-harness';
import { createFakeSps, spsRestSource, type FakeSps } from './helpers/poll-sps-mocks';
import { x12PurchaseOrder } from './helpers/poll-x12';

// Locks, leases and the run log, on every database kind (real PostgreSQL when TEST_DATABASE_URL
// is set): two gateway instances share one database and race for the same source.

const gate = () => {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
};

describe.each(databaseKinds())('poll runs and locks on %s', (kind) => {
  const server = setupServer();
  let testDb: TestDatabase;
  let fake: FakeSps;
  const harnesses: PollHarness[] = [];

  beforeAll(async () => {
    server.listen({ onUnhandledRequest: 'bypass' });
    testDb = await createTestDatabase(kind);
  });
  afterEach(async () => {
    await Promise.all(harnesses.splice(0).map((h) => h.stop()));
  });
  afterAll(async () => {
    server.close();
    await testDb.drop();
  });

  /** A gateway instance (its own pool on PostgreSQL) polling the fake SPS as `name`. */
  async function instance(host: string, sources: Record<string, unknown>[]) {
    const harness = await startPollHarness(kind, sources.map(spsRestSource), {
      testDb,
      instance: { hostname: host, pid: 4000 + harnesses.length },
    });
    harnesses.push(harness);
    return harness;
  }
  function freshFake() {
    fake = createFakeSps();
    server.resetHandlers(...fake.handlers);
    return fake;
  }

  it('two concurrent triggers on two instances: one runs, the other is told a run is in progress', async () => {
    freshFake();
    fake.addFile('out/PO_1.edi', x12PurchaseOrder('PO-1'));
    const listing = gate();
    fake.hooks.afterListPage = () => listing.opened;
    const a = await instance('host-a', [{ name: 'race' }]);
    const b = await instance('host-b', [{ name: 'race' }]);

    const answers = await Promise.all([a.poll('race'), b.poll('race')]);
    const accepted = answers.filter((r) => r.status === 202);
    const refused = answers.filter((r) => r.status === 409);
    expect(accepted).toHaveLength(1);
    expect(refused).toHaveLength(1);
    const runId = accepted[0]!.json.runs[0].run_id as number;
    const winner = answers[0]!.status === 202 ? 'host-a' : 'host-b';
    expect(refused[0]!.json).toEqual({
      error: {
        code: 'poll_in_progress',
        message: expect.stringMatching(
          new RegExp(`already in progress for "race" \\(run ${runId} on ${winner}:\\d+ since .+\\)`),
        ),
      },
    });
    // The same instance asking again is refused the same way.
    const again = await (winner === 'host-a' ? a : b).poll('race');
    expect(again.status).toBe(409);

    const { json: sources } = await a.get('/api/sps/sources');
    expect(sources.sources[0]).toMatchObject({
      name: 'race',
      kind: 'sps-rest',
      schedule: '*/30 * * * *',
      lock: { held: true, held_by: expect.stringContaining(winner) },
    });

    listing.open();
    expect(await waitForRun(a, runId)).toMatchObject({
      status: 'succeeded',
      stored: 1,
      acknowledged: 1,
      worker: expect.stringContaining(winner),
    });
    expect((await a.get('/api/sps/sources')).json.sources[0].lock).toEqual({ held: false });
    // Free again: the other instance may poll now.
    const next = await (winner === 'host-a' ? b : a).poll('race');
    expect(next.status).toBe(202);
    await waitForRun(a, next.json.runs[0].run_id);
    expect(await a.query('select count(*)::int as n from poll_runs where source = $1', ['race'])).toEqual([{ n: 2 }]);
  });

  it('twenty claims racing for one source: exactly one wins', async () => {
    const databases = await Promise.all(Array.from({ length: 4 }, () => testDb.open()));
    const claims = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        createPollLocks(databases[i % databases.length]!).claim('burst', { hostname: `h${i}`, pid: i }, 'schedule', 60),
      ),
    );
    expect(claims.filter(Boolean)).toHaveLength(1);
    const a = await instance('host-a', [{ name: 'burst' }]);
    expect(await a.query(`select count(*)::int as n from poll_runs where source = 'burst'`)).toEqual([{ n: 1 }]);
  });

  it('a crash between store and delete: after the lease, the next run finds the event stored, deletes the file, stores nothing twice', async () => {
    freshFake();
    fake.addFile('out/PO_crash.edi', x12PurchaseOrder('PO-CRASH'));
    const a = await instance('host-b', [{ name: 'crashy', lease_seconds: 1 }]);
    // What a process that died after storing (and before deleting) leaves behind: its lock and
    // running run, the committed event, and the file still on SPS.
    const dead = await createPollLocks(a.database).claim('crashy', { hostname: 'dead-host', pid: 4242 }, 'schedule', 1);
    expect(dead).toBeDefined();
    await createEventStore(a.database).insert({
      source: 'crashy',
      webhookId: 'out/PO_crash.edi',
      topic: 'x12/850',
      body: Buffer.from('{}'),
      headers: {},
      maxAttempts: 8,
    });

    // Within the lease the dead run still counts as running.
    const early = await a.poll('crashy');
    expect(early.status).toBe(409);
    expect(early.json.error.message).toContain('dead-host:4242');

    const started = await waitFor(
      async () => {
        const r = await a.poll('crashy');
        return r.status === 202 ? r : undefined;
      },
      5_000,
      'the dead lease to expire',
    );
    const run = await waitForRun(a, started!.json.runs[0].run_id);
    expect(run).toMatchObject({ status: 'succeeded', listed: 1, stored: 0, duplicates: 1, acknowledged: 1 });
    expect(fake.remaining()).toEqual([]);
    expect(await a.query(`select count(*)::int as n from webhook_events where source = 'crashy'`)).toEqual([{ n: 1 }]);
    const { json } = await a.get(`/api/sps/runs/${dead!.runId}`);
    expect(json).toMatchObject({
      status: 'abandoned',
      worker: 'dead-host:4242',
      error: 'lease expired: dead-host:4242 stopped responding',
    });
  });

  it('a live run keeps its lock past lease_seconds by heart-beating, and reports progress', async () => {
    freshFake();
    fake.addFile('out/PO_1.edi', x12PurchaseOrder('PO-1'));
    const listing = gate();
    fake.hooks.afterListPage = () => listing.opened;
    const a = await instance('host-a', [{ name: 'slow', lease_seconds: 1 }]);
    const b = await instance('host-b', [{ name: 'slow', lease_seconds: 1 }]);
    const first = await a.poll('slow');
    expect(first.status).toBe(202);
    await new Promise((r) => setTimeout(r, 2_200));
    expect((await b.poll('slow')).status).toBe(409);
    const { json: during } = await b.get(`/api/sps/runs/${first.json.runs[0].run_id}`);
    expect(during.status).toBe('running');
    expect(new Date(during.heartbeat_at).getTime()).toBeGreaterThan(new Date(during.started_at).getTime());
    listing.open();
    expect(await waitForRun(a, first.json.runs[0].run_id)).toMatchObject({ status: 'succeeded', stored: 1 });
  });

  it('a run whose lease lapsed and was taken over stops at its next heartbeat and cannot overwrite the new run', async () => {
    freshFake();
    fake.addFile('out/PO_1.edi', x12PurchaseOrder('PO-1'));
    const listing = gate();
    fake.hooks.afterListPage = () => listing.opened;
    const a = await instance('host-a', [{ name: 'stalled', lease_seconds: 3 }]);
    const b = await instance('host-b', [{ name: 'stalled', lease_seconds: 3 }]);
    const first = await a.poll('stalled');
    expect(first.status).toBe(202);
    // As if host-a had stalled past its lease (a long GC pause, a partition): host-b takes over.
    await a.query(`update poll_locks set expires_at = now() - interval '1 second' where source = 'stalled'`);
    const second = await b.poll('stalled');
    expect(second.status).toBe(202);
    const firstId = first.json.runs[0].run_id as number;
    await waitFor(() => a.logs.some((l) => l.includes('"lockLost":true')), 5_000, 'host-a to notice');
    listing.open();
    expect(await waitForRun(b, second.json.runs[0].run_id)).toMatchObject({
      status: 'succeeded',
      stored: 1,
      acknowledged: 1,
    });
    expect((await b.get(`/api/sps/runs/${firstId}`)).json).toMatchObject({
      status: 'abandoned',
      worker: expect.stringMatching(/^host-a:/),
    });
    expect(await a.query(`select count(*)::int as n from webhook_events where source = 'stalled'`)).toEqual([{ n: 1 }]);
  });

  it('stopping the instance aborts its run, records it as aborted and frees the lock', async () => {
    freshFake();
    fake.addFile('out/PO_1.edi', x12PurchaseOrder('PO-1'));
    fake.hooks.afterListPage = () => new Promise<void>(() => {}); // SPS never answers
    const a = await instance('host-a', [{ name: 'stopping' }]);
    const b = await instance('host-b', [{ name: 'stopping' }]);
    const { json } = await a.poll('stopping');
    await a.stop();
    harnesses.splice(harnesses.indexOf(a), 1);
    expect(await waitForRun(b, json.runs[0].run_id)).toMatchObject({
      status: 'aborted',
      error: 'aborted: the gateway is shutting down',
    });
    fake.hooks.afterListPage = undefined;
    const next = await b.poll('stopping');
    expect(next.status).toBe(202);
    expect(await waitForRun(b, next.json.runs[0].run_id)).toMatchObject({ status: 'succeeded', stored: 1 });
  });

  it('each source runs on its own cron schedule; instances sharing a schedule never overlap', async () => {
    freshFake();
    for (let i = 1; i <= 3; i++) fake.addFile(`out/PO_${i}.edi`, x12PurchaseOrder(`PO-${i}`));
    fake.hooks.afterListPage = () => new Promise((r) => setTimeout(r, 1_200));
    const a = await instance('host-a', [{ name: 'cron', schedule: '* * * * * *' }]);
    const b = await instance('host-b', [{ name: 'cron', schedule: '* * * * * *' }]);
    a.scheduler.start();
    b.scheduler.start();
    await waitFor(
      async () =>
        (
          await a.query<{ n: number }>(
            `select count(*)::int as n from poll_runs where source = 'cron' and status <> 'running'`,
          )
        )[0]!.n >= 2,
      10_000,
      'two scheduled runs',
    );
    await Promise.all([a.scheduler.stop(), b.scheduler.stop()]);
    const runs = await a.query<{ triggered_by: string; started_at: Date; finished_at: Date }>(
      `select triggered_by, started_at, finished_at from poll_runs where source = 'cron' order by id`,
    );
    expect(runs.every((r) => r.triggered_by === 'schedule')).toBe(true);
    for (let i = 1; i < runs.length; i++) {
      expect(new Date(runs[i]!.started_at).getTime()).toBeGreaterThanOrEqual(
        new Date(runs[i - 1]!.finished_at).getTime(),
      );
    }
    expect(await a.query(`select count(*)::int as n from webhook_events where source = 'cron'`)).toEqual([{ n: 3 }]);
  });

  it('the poll API: unknown source 404, no token 401, all sources at once, the run log paged and filtered', async () => {
    freshFake();
    fake.addFile('out/PO_1.edi', x12PurchaseOrder('PO-1'));
    fake.addFile('testout/PO_T.edi', x12PurchaseOrder('PO-T'));
    const a = await instance('host-a', [{ name: 'api-live' }, { name: 'api-test', directory: 'testout' }]);

    expect(await a.poll('nope')).toEqual({
      status: 404,
      json: {
        error: {
          code: 'poll_source_not_found',
          message: 'No poll source named "nope"; configured: api-live, api-test',
        },
      },
    });
    const anonymous = await fetch(`${a.url}/api/sps/poll`, { method: 'POST' });
    expect(anonymous.status).toBe(401);
    expect((await fetch(`${a.url}/api/sps/runs`)).status).toBe(401);
    const badBody = await fetch(`${a.url}/api/sps/poll`, {
      method: 'POST',
      headers: { authorization: `Bearer ${SECRETS.ops}` },
      body: '{nope',
    });
    expect(badBody.status).toBe(400);

    const all = await a.poll();
    expect(all.status).toBe(202);
    expect(all.json.runs.map((r: { source: string; status: string }) => [r.source, r.status])).toEqual([
      ['api-live', 'started'],
      ['api-test', 'started'],
    ]);
    for (const r of all.json.runs) await waitForRun(a, r.run_id);
    expect(fake.remaining()).toEqual([]);

    const { json: page1 } = await a.get('/api/sps/runs?limit=1&source=api-test');
    expect(page1.runs).toHaveLength(1);
    expect(page1.runs[0]).toMatchObject({
      source: 'api-test',
      status: 'succeeded',
      listed: 1,
      stored: 1,
      duplicates: 0,
      acknowledged: 1,
      errors: 0,
      triggered_by: 'manual',
      worker: expect.stringMatching(/^host-a:\d+$/),
    });
    expect(page1.next_cursor).toBeNull();
    const { json: both } = await a.get('/api/sps/runs?limit=1&status=succeeded');
    expect(both.next_cursor).toEqual(expect.any(String));
    const { json: older } = await a.get(`/api/sps/runs?limit=1&status=succeeded&cursor=${both.next_cursor}`);
    expect(older.runs[0].id).toBeLessThan(both.runs[0].id);
    expect((await a.get('/api/sps/runs?status=bogus')).status).toBe(400);
    expect((await a.get('/api/sps/runs/999999')).json.error.code).toBe('poll_run_not_found');
    const stored = await a.query<{ webhook_id: string }>(
      `select webhook_id from webhook_events where source = 'api-test'`,
    );
    expect(stored).toEqual([{ webhook_id: 'testout/PO_T.edi' }]);
  });
});
