import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, postgresUrl, type TestDatabase } from './helpers/database';
import { waitFor } from './helpers/gateway';
import { spawnHealthyGateway, stopGateways, type GatewayProcess } from './helpers/process';
import { post, shopifyHeaders } from './helpers/signers';

// The decisive test of the control plane: two real gateway processes on one PostgreSQL database.
// A change made through one is effective on the other within 1 s (NOTIFY; the backstop re-read is
// set to 60 s here so it cannot be what converges).

const OPS = 'ops-token-two-instances';
const OLD = `old-${randomBytes(12).toString('hex')}`;
const NEW = `new-${randomBytes(12).toString('hex')}`;
/** The answer, with its JSON body typed loosely (the test reads what it asserts). */
const answer = async (pending: Promise<Response>) =>
  (await pending) as Omit<Response, 'json'> & { json(): Promise<any> };
const auth = { authorization: `Bearer ${OPS}`, 'content-type': 'application/json' };

describe.skipIf(!postgresUrl())('two gateway processes on one PostgreSQL', () => {
  let testDb: TestDatabase;
  const procs: GatewayProcess[] = [];
  let a = '';
  let b = '';
  let n = 0;
  const send = (base: string, secret: string, source = 'partner') => {
    const body = JSON.stringify({ n: ++n });
    return post(`${base}/api/webhooks/${source}`, body, shopifyHeaders(secret, body, `two-${n}-${Date.now()}`));
  };
  const api = (base: string, path: string, method = 'GET', body?: unknown) =>
    answer(
      fetch(`${base}${path}`, { method, headers: auth, body: body === undefined ? undefined : JSON.stringify(body) }),
    );
  /** Time until `check` holds, failing past 1 s. */
  const within1s = async (what: string, check: () => Promise<boolean>) => {
    const started = Date.now();
    await waitFor(check, 1000, what);
    return Date.now() - started;
  };

  beforeAll(async () => {
    testDb = await createTestDatabase('postgres');
    const env = {
      DATABASE_URL: testDb.url!,
      OPS_API_TOKEN: OPS,
      SHOPIFY_WEBHOOK_SECRET: 'env-shopify-secret-0123456789',
      GATEWAY_MASTER_KEY: randomBytes(32).toString('base64'),
      CONTROL_REFRESH_SECONDS: '60',
      LOG_LEVEL: 'info',
    };
    for (const _ of [0, 1]) {
      const base = await spawnHealthyGateway(procs, [], env, 60_000);
      if (!a) a = base;
      else b = base;
    }
  }, 120_000);

  afterAll(async () => {
    await stopGateways(procs);
    await testDb?.drop();
  }, 60_000);

  it('create, rotate, pause, resume and delete through A take effect on B within 1 s', async () => {
    expect((await send(b, OLD)).status).toBe(404);
    expect(
      (await api(a, '/api/sources', 'POST', { name: 'partner', provider: 'shopify', secrets: [OLD] })).status,
    ).toBe(201);
    await within1s('B to accept the new source', async () => (await send(b, OLD)).status === 200);

    const rotated = await api(a, '/api/sources/partner/rotate-secret', 'POST', { secret: NEW, overlap_seconds: 3 });
    expect(rotated.status).toBe(200);
    expect(await rotated.text()).not.toContain(NEW); // a given secret is not echoed
    await within1s('B to accept the new secret', async () => (await send(b, NEW)).status === 200);
    expect((await send(b, OLD)).status).toBe(200); // overlap: the old one still verifies
    await waitFor(async () => (await send(b, OLD)).status === 401, 6000, 'the old secret to expire on B');
    expect((await send(b, NEW)).status).toBe(200);

    expect((await api(a, '/api/sources/partner/pause', 'POST')).status).toBe(200);
    await within1s(
      'B to see the pause',
      async () => (await (await api(b, '/api/sources/partner')).json()).paused === true,
    );
    const held = (await send(b, NEW)).json.id as number;
    // Evidence the workers ran meanwhile: an event of another source, sent after, completes.
    const other = (await send(b, 'env-shopify-secret-0123456789', 'shopify')).json.id as number;
    const statusOf = async (id: number) => (await (await api(b, `/api/events/${id}`)).json()).status;
    await waitFor(async () => (await statusOf(other)) === 'completed', 10_000, 'the other event to complete');
    expect(await statusOf(held)).toBe('received');
    expect((await (await api(b, '/api/sources/partner')).json()).on_hold).toBeGreaterThanOrEqual(1);

    expect((await api(a, '/api/sources/partner/resume', 'POST')).status).toBe(200);
    await waitFor(async () => (await statusOf(held)) === 'completed', 10_000, 'the held event to complete');

    expect((await api(a, '/api/sources/partner', 'DELETE')).status).toBe(200);
    await within1s('B to drop the source', async () => (await send(b, NEW)).status === 404);
  }, 60_000);

  it('pg_dump of the database holds no secret', async () => {
    const created = await (await api(a, '/api/sources', 'POST', { name: 'dumped', provider: 'shopify' })).json();
    const generated = created.secret as string;
    expect(generated).toBeTruthy();
    await api(a, '/api/sources/dumped/rotate-secret', 'POST', { secret: OLD });
    const { stdout } = await promisify(execFile)('pg_dump', ['--no-owner', testDb.url!], {
      maxBuffer: 64 * 1024 * 1024,
    });
    expect(stdout).toContain('source_secrets'); // the dump is the real thing
    for (const secret of [generated, OLD, NEW]) {
      expect(stdout).not.toContain(secret);
      expect(stdout).not.toContain(Buffer.from(secret).toString('hex'));
      expect(stdout).not.toContain(Buffer.from(secret).toString('base64'));
    }
    expect(procs.map((p) => p.output()).join('')).not.toContain(generated);
  }, 30_000);
});
