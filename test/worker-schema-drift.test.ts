// A rolling deploy, the worker's half (the web half is readiness-schema-drift.test.ts): a newer
// release migrated the shared database while an old worker still runs. A newer schema alone
// leaves it working; once its own queue statements fail because of it, it logs that once, its
// /readyz says `schema: incompatible`, and it claims nothing more, so what it holds returns to the
// queue when its lease expires and the release that migrated processes every event. Before, it
// stayed ready and went on: a failing claim logged an error at every tick and wake-up; a failing
// outcome let it claim event after event, run each handler and leave each claimed for a lease,
// logging each outcome write's retries and then a failed lease recovery every few seconds.
import { afterEach, describe, expect, it } from 'vitest';
import { createEventStore } from '../src/store/events';
import { createTestDatabase, databaseKinds, type DatabaseKind, type TestDatabase } from './helpers/database';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { freePort } from './helpers/process';
import { post, shopifyHeaders } from './helpers/signers';

/** In every stored body: no log line may show it. */
const MARKER = 'payload-value-never-logged';

const started: TestGateway[] = [];
let testDb: TestDatabase | undefined;
afterEach(async () => {
  for (const gw of started.splice(0)) await gw.stop();
  await testDb?.drop();
  testDb = undefined;
});

async function start(
  kind: DatabaseKind,
  overrides: Parameters<typeof startTestGateway>[1],
  options: Parameters<typeof startTestGateway>[2],
) {
  const gw = await startTestGateway(kind, overrides, options);
  started.push(gw);
  return gw;
}

/** Stops a gateway the test started (afterEach stops the rest). */
async function stop(gw: TestGateway) {
  started.splice(started.indexOf(gw), 1);
  await gw.stop();
}

async function readiness(origin: string) {
  const response = await fetch(`${origin}/readyz`);
  return { status: response.status, json: (await response.json()) as { status: string; checks: object } };
}

/** Waits for /readyz to answer 503 (the drift is checked off the statement's path), bounded. */
const unready = (origin: string) =>
  waitFor(
    async () => {
      const seen = await readiness(origin);
      return seen.status === 503 ? seen : undefined;
    },
    10_000,
    '/readyz 503',
  );

/** A newer release's migration, as the migrator records it. */
const newerMigration = (gw: TestGateway) =>
  gw.query(`insert into drizzle.__drizzle_migrations (hash, created_at)
            select 'newer-release', max(created_at) + 1 from drizzle.__drizzle_migrations`);

const lines = (gw: TestGateway, message: string) => gw.logs.filter((line) => line.includes(message));

const deliver = (url: string, id: string) => {
  const body = JSON.stringify({ id, total_price: '2.00', note: MARKER });
  return post(`${url}/api/webhooks/shopify`, body, shopifyHeaders(SECRETS.shopify, body, id));
};

const statuses = async (gw: TestGateway) =>
  Object.fromEntries(
    (
      await gw.query<{ webhook_id: string; status: string; attempts: number }>(
        'select webhook_id, status, attempts from webhook_events order by id',
      )
    ).map((e) => [e.webhook_id.replace(/^.*\//, ''), `${e.status}/${e.attempts}`]),
  );

describe.each(databaseKinds())('an old worker on a newer release schema (%s)', (kind) => {
  it('a worker-only process whose claim fails: unready, told once, claims nothing more; the events wait for the new release', async () => {
    testDb = await createTestDatabase(kind);
    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    const old = await start(kind, { worker: { httpPort: port } }, { role: 'worker', testDb });
    const store = createEventStore(old.gateway.database);
    const storeEvent = (webhookId: string) =>
      store.insert({
        source: 'shopify',
        webhookId,
        topic: 'orders/create',
        body: Buffer.from(JSON.stringify({ note: MARKER })),
        headers: {},
        maxAttempts: 3,
      });

    await newerMigration(old);
    expect(await readiness(origin)).toEqual({
      status: 200,
      json: { status: 'ready', checks: { database: 'ok', migrations: 'newer', worker: 'ok' } },
    });
    // The newer release renames a column the claim reads.
    await old.query('alter table webhook_events rename column replayed_at to replayed_at_renamed');
    await storeEvent('queued-1');
    await storeEvent('queued-2');
    old.gateway.worker.wake();

    expect(await unready(origin)).toEqual({
      status: 503,
      json: {
        status: 'unavailable',
        checks: { database: 'ok', migrations: 'newer', worker: 'ok', schema: 'incompatible' },
      },
    });
    // Backs off: more ticks and wake-ups claim (and log) nothing.
    const claimFailures = lines(old, 'claiming due events failed').length;
    expect(claimFailures).toBeGreaterThan(0);
    for (let i = 0; i < 3; i++) {
      await old.gateway.worker.tick();
      old.gateway.worker.wake();
    }
    await old.gateway.worker.idle();
    expect(lines(old, 'claiming due events failed')).toHaveLength(claimFailures);
    const told = lines(old, 'schema is newer than this release');
    expect(told).toHaveLength(1);
    expect(JSON.parse(told[0]!)).toMatchObject({ component: 'worker', statement: 'claim', level: 50 });
    expect(told[0]).toContain('the worker claims nothing more');
    expect(old.logs.join('\n')).not.toContain(MARKER);
    expect(await statuses(old)).toEqual({ 'queued-1': 'received/0', 'queued-2': 'received/0' });

    // The release that migrated (here: this one on the schema it knows) processes both.
    await stop(old);
    await old.query('alter table webhook_events rename column replayed_at_renamed to replayed_at');
    await old.query(`delete from drizzle.__drizzle_migrations where hash = 'newer-release'`);
    const next = await start(kind, {}, { role: 'worker', testDb });
    next.gateway.worker.wake();
    await waitFor(
      async () => Object.values(await statuses(next)).every((s) => s === 'completed/1'),
      20_000,
      'both events completed by the next release',
    );
  }, 90_000);

  it('the default process whose outcome fails: unready, told once, takes no more events; the one it held is recovered after its lease', async () => {
    testDb = await createTestDatabase(kind);
    const old = await start(kind, {}, { testDb });
    let oldRuns = 0;
    old.gateway.on('shopify', '*', () => {
      oldRuns += 1;
    });
    const completed = (gw: TestGateway, id: string) =>
      waitFor(async () => (await statuses(gw))[id] === 'completed/1', 20_000, `${id} completed`);

    // A newer release's migration that only adds: the worker goes on.
    await newerMigration(old);
    expect((await deliver(old.url, 'after-additive-migration')).status).toBe(200);
    await completed(old, 'after-additive-migration');

    // A newer release's migration that makes a column of the attempt log required, which the outcome does not write.
    await old.query(`alter table processing_log add column newer_release_field text not null default 'x'`);
    await old.query('alter table processing_log alter column newer_release_field drop default');
    expect((await deliver(old.url, 'after-breaking-migration')).status).toBe(200);
    expect(await unready(old.url)).toEqual({
      status: 503,
      json: { status: 'unavailable', checks: { database: 'ok', migrations: 'newer', schema: 'incompatible' } },
    });
    // The outcome it could not write is given up at once, not retried (and logged) for a whole lease.
    await waitFor(() => lines(old, 'could not record the outcome').length === 1, 10_000, 'the outcome given up');
    const writeFailures = lines(old, 'recording attempt outcomes failed').length;
    expect(writeFailures).toBeGreaterThan(0);
    expect(writeFailures).toBeLessThanOrEqual(2);
    expect(oldRuns).toBe(2);

    // Ingest still stores (this migration does not touch it), but the worker takes nothing more:
    // neither the hand-off nor a claim, nor lease recovery.
    expect((await deliver(old.url, 'while-halted-1')).status).toBe(200);
    expect((await deliver(old.url, 'while-halted-2')).status).toBe(200);
    await old.gateway.worker.tick();
    await old.gateway.worker.idle();
    expect(oldRuns).toBe(2);
    expect(lines(old, 'recording attempt outcomes failed')).toHaveLength(writeFailures);
    expect(lines(old, 'lease recovery failed')).toHaveLength(0);
    const told = lines(old, 'schema is newer than this release');
    expect(told).toHaveLength(1);
    expect(JSON.parse(told[0]!)).toMatchObject({ component: 'worker', statement: 'outcome' });
    expect(told[0]).toContain('newer_release_field');
    expect(old.logs.join('\n')).not.toContain(MARKER);
    const [held] = await old.query<{ claimed: boolean }>(
      `select q.claim_token is not null as claimed from event_queue q
       join webhook_events e on e.id = q.event_id where e.webhook_id like '%/after-breaking-migration'`,
    );
    expect(held?.claimed).toBe(true);
    const queued = await old.query<{ claimed: boolean }>(
      `select q.claim_token is not null as claimed from event_queue q
       join webhook_events e on e.id = q.event_id where e.webhook_id like '%/while-halted-%'`,
    );
    expect(queued).toEqual([{ claimed: false }, { claimed: false }]);

    // The release that migrated recovers the held claim once its lease is over, and runs every event.
    await stop(old);
    await old.query('alter table processing_log drop column newer_release_field');
    await old.query(`delete from drizzle.__drizzle_migrations where hash = 'newer-release'`);
    const next = await start(kind, { worker: { leaseSeconds: 1 } }, { testDb });
    await waitFor(
      async () => Object.values(await statuses(next)).every((s) => s.startsWith('completed/')),
      30_000,
      'every event completed by the next release',
    );
    expect(await statuses(next)).toEqual({
      'after-additive-migration': 'completed/1',
      'after-breaking-migration': 'completed/2',
      'while-halted-1': 'completed/1',
      'while-halted-2': 'completed/1',
    });
    const attempts = await next.query<{ attempt: number; outcome: string }>(
      `select p.attempt, p.outcome from processing_log p join webhook_events e on e.id = p.event_id
       where e.webhook_id like '%/after-breaking-migration' order by p.attempt`,
    );
    expect(attempts).toEqual([
      { attempt: 1, outcome: 'abandoned' },
      { attempt: 2, outcome: 'completed' },
    ]);
  }, 120_000);
});
