import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKeyring } from '../src/control/crypto';
import { inTransaction } from '../src/db/statements';
import { createTestDatabase, postgresUrl, type TestDatabase } from './helpers/database';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';

// Instances share PostgreSQL and learn of each other's changes by NOTIFY, then re-read: for a few
// milliseconds after a create on A, B has not heard of it. B must still act on it at once — an
// operator (or apply, or a script) that creates on one instance and pauses through the load
// balancer on the next must not get 404. To hold "B has not heard yet" open as long as the test
// needs, a third connection locks a table that a re-read reads but the create and the pause do not
// touch, and a NOTIFY starts every instance's re-read, which then waits for it: the create's own
// NOTIFY is only noted, to re-read once that one is done.

const auth = { authorization: `Bearer ${SECRETS.ops}`, 'content-type': 'application/json' };
const api = (gw: TestGateway, path: string, method = 'GET', body?: unknown) =>
  fetch(`${gw.url}${path}`, { method, headers: auth, body: body === undefined ? undefined : JSON.stringify(body) });

describe.skipIf(!postgresUrl())('a change sent to the instance that has not heard of the create yet', () => {
  let testDb: TestDatabase;
  let a: TestGateway;
  let b: TestGateway;

  beforeAll(async () => {
    testDb = await createTestDatabase('postgres');
    const control = { keyring: loadKeyring({ key: randomBytes(32).toString('base64') }), refreshMs: 60_000 };
    // Pools with room to spare: postgres.js queues a statement behind a busy connection once every
    // one is busy, and the held re-read keeps one busy; the pause must not queue behind it.
    const roomy: TestDatabase = { ...testDb, open: (options) => testDb.open({ poolSize: 16, ...options }) };
    a = await startTestGateway('postgres', { control }, { testDb: roomy, role: 'web' });
    b = await startTestGateway('postgres', { control }, { testDb: roomy, role: 'web' });
  }, 120_000);
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await testDb?.drop();
  }, 60_000);

  /**
   * Runs `steps` while `table` is locked against every reader (re-reads wait), then releases it.
   * The lock is released even when a step fails.
   */
  async function withRereadsHeld(table: 'destinations' | 'source_secrets', steps: () => Promise<void>) {
    const holder = await testDb.open({ poolSize: 1 });
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let holding = false;
    const held = inTransaction(holder, async (run) => {
      await run(sql.raw(`lock table ${table} in access exclusive mode`));
      holding = true;
      await released;
    });
    try {
      await waitFor(() => holding, 5000, `the lock on ${table}`);
      await a.query(`select pg_notify('gateway_control', 'test')`);
      const waiting = async () =>
        (
          await a.query<{ n: number }>(
            `select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and query like '%from ${table}%'`,
          )
        )[0]!.n;
      await waitFor(async () => (await waiting()) >= 2, 10_000, "both instances' re-reads to wait");
      await steps();
    } finally {
      release();
      await held;
    }
  }

  /** Resolves once `answer` has arrived or `done` holds, whichever comes first. */
  const answeredOr = (answer: Promise<Response>, done: () => Promise<boolean>, what: string) => {
    let arrived = false;
    void answer.then(
      () => (arrived = true),
      () => (arrived = true),
    );
    return waitFor(async () => arrived || (await done()), 10_000, what);
  };

  it('a source created on A is paused on B at once', async () => {
    let created!: Promise<Response>;
    let paused!: Promise<Response>;
    // A re-read reads the destinations too (the registry loads the destination catalog with the
    // sources); creating and pausing a source does not.
    await withRereadsHeld('destinations', async () => {
      created = api(a, '/api/sources', 'POST', { name: 'fresh', provider: 'shopify' });
      await waitFor(
        async () => (await a.query(`select 1 from sources where name = 'fresh'`)).length === 1,
        10_000,
        'the create to commit',
      );
      paused = api(b, '/api/sources/fresh/pause', 'POST');
      await answeredOr(
        paused,
        async () =>
          (await a.query<{ paused: boolean }>(`select paused from sources where name = 'fresh'`))[0]?.paused === true,
        'B to answer or pause',
      );
    });
    expect((await created).status).toBe(201);
    const answer = await paused;
    expect(`${answer.status} ${answer.status === 200 ? '' : await answer.text()}`).toBe('200 ');
    expect(await answer.json()).toMatchObject({ name: 'fresh', paused: true });
  }, 60_000);

  it('a destination created on A is paused on B at once', async () => {
    let created!: Promise<Response>;
    let paused!: Promise<Response>;
    // A re-read reads the sources' secrets (its destinations, read alongside, are read before the
    // create: the re-read began then); creating and pausing a destination does not.
    await withRereadsHeld('source_secrets', async () => {
      created = api(a, '/api/destinations', 'POST', { name: 'fresh-erp', url: 'https://erp.example.com/hooks' });
      await waitFor(
        async () => (await a.query(`select 1 from destinations where name = 'fresh-erp'`)).length === 1,
        10_000,
        'the create to commit',
      );
      paused = api(b, '/api/destinations/fresh-erp/pause', 'POST');
      await answeredOr(
        paused,
        async () =>
          (await a.query<{ paused: boolean }>(`select paused from destinations where name = 'fresh-erp'`))[0]
            ?.paused === true,
        'B to answer or pause',
      );
    });
    expect((await created).status).toBe(201);
    const answer = await paused;
    expect(`${answer.status} ${answer.status === 200 ? '' : await answer.text()}`).toBe('200 ');
    expect(await answer.json()).toMatchObject({ name: 'fresh-erp', paused: true });
  }, 60_000);

  it('a destination created on A is previewed on B at once', async () => {
    let created!: Promise<Response>;
    let previewed!: Promise<Response>;
    await withRereadsHeld('source_secrets', async () => {
      created = api(a, '/api/destinations', 'POST', { name: 'fresh-preview', url: 'https://erp.example.com/preview' });
      await waitFor(
        async () => (await a.query(`select 1 from destinations where name = 'fresh-preview'`)).length === 1,
        10_000,
        'the create to commit',
      );
      previewed = api(b, '/api/destinations/fresh-preview/preview', 'POST', { payload: { order: 1 } });
      await answeredOr(previewed, async () => false, 'B to answer the preview');
    });
    expect((await created).status).toBe(201);
    const answer = await previewed;
    expect(`${answer.status} ${answer.status === 200 ? '' : await answer.text()}`).toBe('200 ');
  }, 60_000);
});
