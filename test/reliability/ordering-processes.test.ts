import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { waitFor } from '../helpers/gateway';
import { freePort, waitUntilHealthy } from '../helpers/process';
import { killAllStarted, startProcess, type StartedProcess } from '../helpers/started-process';

// Per-key ordering across processes (docs/ordering.md): 1 web + 3 worker processes of the real
// gateway on one PostgreSQL, 50 keys × 20 events sent over HTTP with real Shopify signatures, each
// key's events one after another (each acknowledged before the next is sent), the keys at once.
// Two keys' 5th event fails its first run, a third's until the test saw its key blocked; one worker is killed with -9 while it runs a head.
// Every run is recorded by the handler (test/fixtures/ordering-process.ts) with database-clock
// start and end, so order and overlap are judged across processes.
const SECRET = 'ordering-shopify-secret-4Tq';
const OPS = 'ordering-ops-token-8Jd';
const KEYS = Array.from({ length: 50 }, (_, i) => `k${String(i).padStart(2, '0')}`);
const PER_KEY = 20;
const FAIL_ONCE = new Set(['k17', 'k31']);
/** Its 5th event fails until the test has seen the key blocked behind it. */
const BLOCKED = 'k03';

interface Run {
  id: string;
  event_id: string;
  key: string;
  attempt: number;
  worker: string;
  started_at: Date;
  finished_at: Date | null;
}

describe('per-key ordering with 3 worker processes on PostgreSQL, one killed -9 mid-head', () => {
  let testDb: TestDatabase;
  let sql: postgres.Sql;
  let dir: string;
  beforeAll(async () => {
    process.env.TEST_DATABASE_URL ??= 'postgres://postgres@127.0.0.1:5432/postgres';
    testDb = await createTestDatabase('postgres');
    sql = postgres(testDb.url!, { max: 2, onnotice: () => {} });
    await sql`create table ordering_release (released boolean)`;
    await sql`create table ordering_runs (id bigserial primary key, event_id bigint, key text, attempt int, worker text,
              started_at timestamptz not null default clock_timestamp(), finished_at timestamptz)`;
    dir = mkdtempSync(join(tmpdir(), 'gw-ordering-'));
  }, 60_000);
  afterAll(async () => {
    killAllStarted();
    await sql?.end({ timeout: 1 });
    await testDb?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('keeps each key in order with no overlap, runs keys in parallel, and survives kill -9 of a head', async () => {
    const config = join(dir, 'gateway.json');
    writeFileSync(
      config,
      JSON.stringify({
        sources: [
          { name: 'orders', provider: 'shopify', secrets: [SECRET], ordering: { key: { jsonPath: '$.order_id' } } },
        ],
      }),
    );
    const port = await freePort();
    const env = {
      DATABASE_URL: testDb.url!,
      GATEWAY_CONFIG: config,
      OPS_API_TOKEN: OPS,
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      WORKER_LEASE_SECONDS: '2',
      WORKER_CRON: '* * * * * *',
      RETRY_BASE_MS: '500',
      RETRY_MAX_MS: '500',
      HANDLER_DELAY_MS: '15',
      MAX_ATTEMPTS: '100',
    };
    const start = (role: string, extra: Record<string, string> = {}) =>
      startProcess(process.execPath, ['--import', 'tsx', 'test/fixtures/ordering-process.ts', '--role', role], {
        ...env,
        ...extra,
      });
    // The web process migrates first; then the workers, at once.
    const web = start('web', { PORT: String(port) });
    const base = `http://127.0.0.1:${port}`;
    await waitUntilHealthy(`${base}/healthz`, 90_000).catch((err) => {
      throw new Error(`${err}\n${web.output().slice(-2000)}`);
    });
    // The victim's handler is slow, so the kill -9 below lands while it runs a head.
    const workers: StartedProcess[] = [start('worker', { HANDLER_DELAY_MS: '1500' }), start('worker'), start('worker')];
    await Promise.all(workers.map((w) => w.waitForOutput('gateway started (worker only)', 90_000)));

    // Send: one loop per key, each event acknowledged before the key's next is sent.
    const ids = new Map<string, number[]>();
    const send = async (key: string, i: number) => {
      const fail = key === BLOCKED && i === 4 ? 'until-released' : FAIL_ONCE.has(key) && i === 4 ? 'once' : undefined;
      const body = JSON.stringify({ order_id: key, i, ...(fail ? { fail } : {}) });
      const response = await fetch(`${base}/api/webhooks/orders`, {
        method: 'POST',
        body,
        headers: {
          'content-type': 'application/json',
          'x-shopify-hmac-sha256': createHmac('sha256', SECRET).update(body).digest('base64'),
          'x-shopify-webhook-id': `${key}-${i}`,
          'x-shopify-shop-domain': 'ordering.myshopify.com',
          'x-shopify-topic': 'orders/updated',
        },
      });
      expect(response.status).toBe(200);
      return ((await response.json()) as { id: number }).id;
    };
    const sending = Promise.all(
      KEYS.map(async (key) => {
        const list: number[] = [];
        ids.set(key, list);
        for (let i = 0; i < PER_KEY; i++) list.push(await send(key, i));
      }),
    );

    // A failing head blocks its key, visibly: once the head has failed and the next event is
    // stored, the next one names the head in blockedBy; then the head is let through.
    const api = async (path: string) =>
      (await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${OPS}` } })).json() as Promise<any>;
    const blockedSeen = (async () => {
      const found = await waitFor(
        async () => {
          const [h, n] = [ids.get(BLOCKED)?.[4], ids.get(BLOCKED)?.[5]];
          if (h === undefined || n === undefined) return undefined;
          // A finished run of the head, not its attempt count: a claim abandoned by the killed
          // worker counts as an attempt without running, and releasing then lets the head pass
          // on its only run.
          const [ran] =
            await sql`select 1 from ordering_runs where event_id = ${h} and finished_at is not null limit 1`;
          return ran ? { head: h, next: n } : undefined;
        },
        60_000,
        `the head of ${BLOCKED} to fail and the next event to be stored`,
      );
      const waiting = await api(`/api/events/${found!.next}`);
      await sql`insert into ordering_release values (true)`;
      return { head: found!.head, waiting };
    })();

    // kill -9 of a worker process while it runs a head.
    const victim = workers[0]!;
    const found = await waitFor(
      async () =>
        sql<
          Run[]
        >`select * from ordering_runs where finished_at is null and worker like ${`%:${victim.pid}`} limit 1`.then(
          (rows) => (rows.length > 0 ? rows : undefined),
        ),
      60_000,
      'the victim to run a head',
    );
    const held = found![0]!;
    victim.killGroup();
    await victim.exited;

    await sending;
    const { head: blockedHead, waiting } = await blockedSeen;
    expect(waiting).toMatchObject({ status: 'received', blockedBy: blockedHead, orderingKey: BLOCKED });
    const total = KEYS.length * PER_KEY;
    await waitFor(
      async () =>
        Number((await sql`select count(*) as n from webhook_events where status = 'completed'`)[0]!.n) === total,
      60_000,
      'every event to complete',
    );
    expect(Number((await sql`select count(*) as n from event_queue`)[0]!.n)).toBe(0);

    const runs = await sql<Run[]>`select * from ordering_runs order by started_at, id`;
    for (const key of KEYS) {
      const mine = runs.filter((r) => r.key === key);
      // Strict receive order: the distinct events, in the order they ran, are the key's ids ascending.
      const ranIds = mine.map((r) => Number(r.event_id)).filter((id, i, all) => i === 0 || all[i - 1] !== id);
      expect(ranIds, `order of ${key}`).toEqual(ids.get(key));
      // One at a time: each run starts after the previous one ended (a run cut short by the kill
      // has no end; only its own event may follow it).
      for (let i = 1; i < mine.length; i++) {
        const [before, after] = [mine[i - 1]!, mine[i]!];
        if (before.finished_at)
          expect(after.started_at.getTime(), `overlap in ${key}`).toBeGreaterThanOrEqual(before.finished_at.getTime());
        else expect(after.event_id).toBe(before.event_id);
      }
      if (FAIL_ONCE.has(key) || key === BLOCKED)
        expect(mine.filter((r) => Number(r.event_id) === ids.get(key)![4]).length).toBeGreaterThanOrEqual(2);
    }
    // The killed head's run was cut (no end), and the head ran again, elsewhere, after lease recovery.
    expect(runs.find((r) => r.id === held.id)!.finished_at).toBeNull();
    expect(runs.some((r) => r.event_id === held.event_id && r.worker !== held.worker)).toBe(true);
    // Parallel across keys and processes.
    const overlapping = runs.some((a, i) =>
      runs.slice(i + 1, i + 40).some((b) => b.key !== a.key && a.finished_at !== null && b.started_at < a.finished_at),
    );
    expect(overlapping).toBe(true);
    expect(new Set(runs.map((r) => r.worker)).size).toBeGreaterThanOrEqual(3);
  }, 180_000);
});
