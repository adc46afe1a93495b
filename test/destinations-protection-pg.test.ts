import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, postgresUrl, type TestDatabase } from './helpers/database';
import { waitFor, waitUntilAllHeld } from './helpers/gateway';
import { startIdReceiver } from './helpers/id-receiver';
import { spawnHealthyGateway, stopGateways, type GatewayProcess } from './helpers/process';
import { post, shopifyHeaders } from './helpers/signers';

// Destination protection shared by two real gateway processes (both serve and work) on one
// PostgreSQL: a rate limit holds across both, and a dead destination's circuit, opened by either,
// holds its events in both while a healthy destination's events flow.

const OPS = 'ops-token-protection-pg';
const SHOPIFY = 'env-shopify-secret-protection';
const auth = { authorization: `Bearer ${OPS}`, 'content-type': 'application/json' };

describe.skipIf(!postgresUrl())('destination protection across two gateway processes (PostgreSQL)', () => {
  let testDb: TestDatabase;
  const procs: GatewayProcess[] = [];
  const bases: string[] = [];
  const receivers: { close(): Promise<void> }[] = [];
  let n = 0;
  const api = async (path: string, method = 'GET', body?: unknown) =>
    (await fetch(`${bases[0]}${path}`, {
      method,
      headers: auth,
      body: body === undefined ? undefined : JSON.stringify(body),
    })) as Omit<Response, 'json'> & { json(): Promise<any> };
  /** Sends alternately to each process, so both ingest (and either may work on any event). */
  const send = async (topic: string) => {
    const body = JSON.stringify({ n: ++n });
    const base = bases[n % 2]!;
    const res = await post(
      `${base}/api/webhooks/shopify`,
      body,
      shopifyHeaders(SHOPIFY, body, `pg-protect-${n}`, 'acme.myshopify.com', topic),
    );
    expect(res.status).toBe(200);
    return res.json.id as number;
  };
  const events = async (ids: number[]) => {
    const answer = await api(`/api/events?limit=200`);
    const list = (await answer.json()).events as { id: number; status: string; attempts: number }[];
    return list.filter((e) => ids.includes(e.id));
  };

  beforeAll(async () => {
    testDb = await createTestDatabase('postgres');
    const env = {
      DATABASE_URL: testDb.url!,
      OPS_API_TOKEN: OPS,
      SHOPIFY_WEBHOOK_SECRET: SHOPIFY,
      GATEWAY_MASTER_KEY: randomBytes(32).toString('base64'),
      WORKER_CRON: '* * * * * *',
      RETRY_BASE_MS: '50',
      RETRY_MAX_MS: '200',
      LOG_LEVEL: 'warn',
    };
    for (let i = 0; i < 2; i++) {
      bases.push(await spawnHealthyGateway(procs, ['start', '--role', 'all'], env, 60_000));
    }
  }, 120_000);

  afterAll(async () => {
    await stopGateways(procs);
    for (const r of receivers) await r.close();
    await testDb?.drop();
  }, 60_000);

  it('a rate limit of 5/s holds across both processes and every event is delivered once', async () => {
    const receiver = await startIdReceiver();
    receivers.push(receiver);
    const created = await api('/api/destinations', 'POST', {
      name: 'limited',
      url: receiver.url,
      sources: ['shopify'],
      filter: { topic: 'orders/limited' },
      rate_limit: { per_second: 5 },
    });
    expect(created.status).toBe(201);
    // Both processes know it (NOTIFY) before events arrive.
    await waitFor(
      async () => (await (await fetch(`${bases[1]}/api/destinations/limited`, { headers: auth })).status) === 200,
    );
    const ids: number[] = [];
    for (let i = 0; i < 30; i++) ids.push(await send('orders/limited'));
    await waitFor(
      async () => (await events(ids)).filter((e) => e.status === 'completed').length === 30,
      30_000,
      'all 30 delivered',
    );
    expect(receiver.got.length).toBe(30);
    expect(new Set(receiver.got.map((g) => g.id)).size).toBe(30);
    expect((await events(ids)).every((e) => e.attempts === 1)).toBe(true);
    const times = receiver.got.map((g) => g.at).sort((a, b) => a - b);
    // Six windows of 5: more than four seconds from first to last.
    expect(times.at(-1)! - times[0]!).toBeGreaterThan(4000);
    // Both processes delivered some: the limit is shared, not per process.
    const sql = postgres(testDb.url!, { max: 1, onnotice: () => {} });
    try {
      // Per second of the limiter's windows (whole seconds of the clock), read where the gate let
      // each delivery through (its logged start), not where the receiver got it: a delivery let
      // through at the end of one window reached the receiver in the next second on a loaded
      // machine ([7,5,5,5,5,3] by arrival). One more than the limit allows for that same lag here.
      const perSecond = await sql<{ n: number }[]>`select count(*)::int as n from delivery_attempts
        where destination = 'limited' and outcome = 'delivered' group by floor(extract(epoch from started_at))`;
      const counts = perSecond.map((r) => r.n);
      expect(counts.reduce((a, b) => a + b, 0)).toBe(30);
      expect(Math.max(...counts), JSON.stringify(counts)).toBeLessThanOrEqual(6);
      const [row] = await sql`select count(distinct worker)::int as n from processing_log
        where event_id = any(${ids}::bigint[]) and outcome = 'completed'`;
      expect(row!.n).toBe(2);
    } finally {
      await sql.end();
    }
  }, 90_000);

  it("one dead destination's (connections reset) circuit holds its events in both processes; the healthy one's flow; all arrive once it is back", async () => {
    const healthy = await startIdReceiver();
    receivers.push(healthy);
    let down = true;
    const back = await startIdReceiver({ dead: () => down });
    receivers.push(back);
    for (const [name, url, topic] of [
      ['healthy', healthy.url, 'orders/paid'],
      ['dead', back.url, 'orders/create'],
    ] as const) {
      const created = await api('/api/destinations', 'POST', {
        name,
        url,
        sources: ['shopify'],
        filter: { topic },
        circuit: { failure_threshold: 3, cooldown_seconds: 1 },
      });
      expect(created.status).toBe(201);
      await waitFor(
        async () => (await fetch(`${bases[1]}/api/destinations/${name}`, { headers: auth })).status === 200,
      );
    }
    const dead: number[] = [];
    const ok: number[] = [];
    for (let i = 0; i < 10; i++) {
      dead.push(await send('orders/create'));
      ok.push(await send('orders/paid'));
    }
    const started = Date.now();
    await waitFor(async () => (await events(ok)).every((e) => e.status === 'completed'), 20_000, 'healthy events');
    expect(Date.now() - started).toBeLessThan(10_000);
    // Two probes have failed since the circuit opened.
    await waitFor(
      async () => {
        const v = await (await api('/api/destinations/dead')).json();
        return v.circuit_state.state !== 'closed' && v.circuit_state.consecutive_failures >= 15;
      },
      30_000,
      'the circuit open with failed probes',
    );
    const held = await waitUntilAllHeld(() => events(dead));
    expect(Math.max(...held.map((e) => e.attempts)), held.map((e) => e.attempts).join(',')).toBeLessThanOrEqual(3);

    down = false;
    await waitFor(
      async () => (await events(dead)).every((e) => e.status === 'completed'),
      30_000,
      'dead events delivered',
    );
    expect(back.got.length).toBe(10);
    expect(new Set(back.got.map((g) => g.id)).size).toBe(10);
    const after = await (await api('/api/destinations/dead')).json();
    expect(after.circuit_state).toMatchObject({ state: 'closed', consecutive_failures: 0 });
  }, 120_000);
});
