import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, postgresUrl, type TestDatabase } from './helpers/database';
import { waitFor } from './helpers/gateway';
import { spawnHealthyGateway, stopGateways, type GatewayProcess } from './helpers/process';
import { post, shopifyHeaders } from './helpers/signers';

// Two real gateway processes on one PostgreSQL: A serves HTTP only (no worker), B serves and
// processes. A destination created, paused and resumed through A is used by B's worker within 1 s
// (NOTIFY; the backstop re-read is 60 s here so it cannot be what converges).

const OPS = 'ops-token-destinations-two';
const SHOPIFY = 'env-shopify-secret-0123456789';
const answer = async (pending: Promise<Response>) =>
  (await pending) as Omit<Response, 'json'> & { json(): Promise<any> };
const auth = { authorization: `Bearer ${OPS}`, 'content-type': 'application/json' };

describe.skipIf(!postgresUrl())('destinations across two gateway processes on one PostgreSQL', () => {
  let testDb: TestDatabase;
  const procs: GatewayProcess[] = [];
  const bases: string[] = [];
  const received = new Set<string>();
  const receiver = createServer((req, res) => {
    received.add(String(req.headers['webhook-id']));
    req.resume().on('end', () => res.writeHead(204).end());
  });
  let receiverUrl = '';
  let n = 0;
  const send = async (base: string) => {
    const body = JSON.stringify({ n: ++n });
    const res = await post(
      `${base}/api/webhooks/shopify`,
      body,
      shopifyHeaders(SHOPIFY, body, `two-dest-${n}-${Date.now()}`),
    );
    expect(res.status).toBe(200);
    return res.json.id as number;
  };
  const api = (base: string, path: string, method = 'GET', body?: unknown) =>
    answer(
      fetch(`${base}${path}`, { method, headers: auth, body: body === undefined ? undefined : JSON.stringify(body) }),
    );

  beforeAll(async () => {
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
    testDb = await createTestDatabase('postgres');
    const env = {
      DATABASE_URL: testDb.url!,
      OPS_API_TOKEN: OPS,
      SHOPIFY_WEBHOOK_SECRET: SHOPIFY,
      GATEWAY_MASTER_KEY: randomBytes(32).toString('base64'),
      CONTROL_REFRESH_SECONDS: '60',
      LOG_LEVEL: 'info',
    };
    for (const role of ['web', 'all']) {
      bases.push(await spawnHealthyGateway(procs, ['start', '--role', role], env, 60_000));
    }
  }, 120_000);

  afterAll(async () => {
    await stopGateways(procs);
    await new Promise((r) => receiver.close(r));
    await testDb?.drop();
  }, 60_000);

  it("a destination created, paused and resumed through A is used by B's worker within 1 s", async () => {
    const [a] = bases as [string, string];
    const created = await api(a, '/api/destinations', 'POST', { name: 'erp', url: receiverUrl, sources: ['shopify'] });
    expect(created.status).toBe(201);
    const secret = (await created.json()).secret as string;
    const started = Date.now();
    // Events sent through A are processed by B (A has no worker); the first one B forwards proves
    // B's registry has the destination.
    await waitFor(
      async () => {
        await send(a);
        return received.size > 0;
      },
      5_000,
      'B to forward to the new destination',
    );
    expect(Date.now() - started).toBeLessThan(1_000 + 500); // 1 s to converge, plus one delivery

    expect((await api(a, '/api/destinations/erp/pause', 'POST')).status).toBe(200);
    // Once B sees the pause, a new event is held (not delivered, not counted).
    const held = await waitFor(
      async () => {
        const id = await send(a);
        const state = await waitFor(async () => {
          const event = await (await api(a, `/api/events/${id}`)).json();
          return received.has(`evt_${id}`)
            ? 'delivered'
            : event.status === 'received' && event.attempts === 0 && /erp paused/.test(event.last_error ?? '')
              ? 'held'
              : undefined;
        }, 3_000).catch(() => undefined);
        return state === 'held' ? id : undefined;
      },
      5_000,
      'an event to be held on B',
    );
    expect((await (await api(a, '/api/destinations/erp')).json()).health.held).toBeGreaterThanOrEqual(1);

    const resumed = Date.now();
    expect((await api(a, '/api/destinations/erp/resume', 'POST')).status).toBe(200);
    await waitFor(() => received.has(`evt_${held}`), 3_000, 'B to deliver the held event');
    expect(Date.now() - resumed).toBeLessThan(1_500);

    const { stdout } = await promisify(execFile)('pg_dump', ['--no-owner', testDb.url!], {
      maxBuffer: 64 * 1024 * 1024,
    });
    expect(stdout).toContain('destination_sources');
    expect(stdout).not.toContain(secret);
    expect(stdout).not.toContain(secret.slice('whsec_'.length));
  }, 60_000);
});
