import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './helpers/database';
import { startPollHarness, waitForRun, type PollHarness } from './helpers/poll-harness';
import { SPS_BASE_URL, SPS_CLIENT_SECRET, createFakeSps, spsRestSource, type FakeSps } from './helpers/poll-sps-mocks';
import { x12PurchaseOrder } from './helpers/poll-x12';

// The SPS REST source against a fake SPS (msw): tokens, pagination, retries, limits, and the
// store-then-delete order. Real PGlite underneath; each test polls its own source name.

describe('SPS REST polling', () => {
  const server = setupServer();
  let testDb: TestDatabase;
  const harnesses: PollHarness[] = [];

  beforeAll(async () => {
    server.listen({ onUnhandledRequest: 'bypass' });
    testDb = await createTestDatabase('pglite');
  });
  afterEach(async () => {
    await Promise.all(harnesses.splice(0).map((h) => h.stop()));
    server.resetHandlers();
  });
  afterAll(async () => {
    server.close();
    await testDb.drop();
  });

  async function setup(source: Record<string, unknown>, opts: { fake?: FakeSps; now?: () => number } = {}) {
    const fake = opts.fake ?? createFakeSps();
    server.resetHandlers(...fake.handlers);
    const harness = await startPollHarness('pglite', [spsRestSource(source)], { testDb, now: opts.now });
    harnesses.push(harness);
    return { fake, harness };
  }

  async function pollOnce(harness: PollHarness, source: string) {
    const { status, json } = await harness.poll(source);
    expect(status).toBe(202);
    return waitForRun(harness, json.runs[0].run_id);
  }

  const events = (harness: PollHarness, source: string) =>
    harness.query<{ id: number; webhook_id: string; topic: string; status: string }>(
      'select id, webhook_id, topic, status from webhook_events where source = $1 order by webhook_id',
      [source],
    );

  it('takes every file across several pages exactly once, deleting each only after its event is stored', async () => {
    const { fake, harness } = await setup({ name: 'sps-pages', page_size: 3 });
    const paths = Array.from({ length: 7 }, (_, i) => `out/PO_${i + 1}.edi`);
    paths.forEach((p, i) => fake.addFile(p, x12PurchaseOrder(`PO-${i + 1}`)));
    fake.addFile('testout/PO_test.edi', x12PurchaseOrder('PO-TEST')); // another folder: not ours
    const storedAtDelete: string[] = [];
    fake.hooks.beforeDelete = async (path) => {
      const rows = await harness.query('select 1 from webhook_events where source = $1 and webhook_id = $2', [
        'sps-pages',
        path,
      ]);
      if (rows.length === 1) storedAtDelete.push(path);
    };

    const run = await pollOnce(harness, 'sps-pages');

    expect(run).toMatchObject({
      status: 'succeeded',
      listed: 7,
      stored: 7,
      duplicates: 0,
      acknowledged: 7,
      errors: 0,
      triggered_by: 'manual',
    });
    const listCalls = fake.calls('GET').filter((c) => c.path === 'out/');
    expect(listCalls.map((c) => c.query.cursor ?? null)).toEqual([null, 'page-3', 'page-6']);
    expect(listCalls.every((c) => c.query.limit === '3')).toBe(true);
    expect((await events(harness, 'sps-pages')).map((e) => [e.webhook_id, e.topic])).toEqual(
      paths.map((p) => [p, 'x12/850']),
    );
    expect(storedAtDelete.sort()).toEqual(paths);
    expect(fake.remaining()).toEqual(['testout/PO_test.edi']);
  });

  it('takes only files whose name starts with entry_name_prefix', async () => {
    const { fake, harness } = await setup({ name: 'sps-prefix', entry_name_prefix: 'PO' });
    fake.addFile('out/PO_1.edi', x12PurchaseOrder('PO-1'));
    fake.addFile('out/INV_1.edi', 'not ours');
    const run = await pollOnce(harness, 'sps-prefix');
    expect(run).toMatchObject({ status: 'succeeded', listed: 1, stored: 1, acknowledged: 1 });
    expect(fake.calls('GET')[0]!.query.entryNamePrefix).toBe('PO');
    expect(fake.remaining()).toEqual(['out/INV_1.edi']);
  });

  it('fetches one client-credentials token and reuses it until it expires, across runs', async () => {
    const { fake, harness } = await setup({ name: 'sps-token', page_size: 1 });
    for (let i = 1; i <= 3; i++) fake.addFile(`out/PO_${i}.edi`, x12PurchaseOrder(`PO-${i}`));
    await pollOnce(harness, 'sps-token');
    fake.addFile('out/PO_4.edi', x12PurchaseOrder('PO-4'));
    await pollOnce(harness, 'sps-token');
    expect(fake.tokenRequests).toHaveLength(1);
    expect(fake.tokenRequests[0]).toEqual({
      grant_type: 'client_credentials',
      client_id: 'gw-client-id',
      client_secret: SPS_CLIENT_SECRET,
      audience: 'api://api.spscommerce.com/',
    });
    expect(new Set(fake.requests.map((r) => r.token))).toEqual(new Set(['sps-access-token-1']));
  });

  it('a token that expires mid-run is renewed before it is used again (no request is refused)', async () => {
    let clock = Date.now();
    const now = () => clock;
    const fake = createFakeSps({ now, tokenLifetimeSeconds: 3600 });
    const { harness } = await setup({ name: 'sps-expiry', page_size: 2 }, { fake, now });
    for (let i = 1; i <= 5; i++) fake.addFile(`out/PO_${i}.edi`, x12PurchaseOrder(`PO-${i}`));
    // After the second page, an hour passes: the first token is now expired on both sides.
    fake.hooks.afterListPage = (page) => {
      if (page === 2) clock += 3600 * 1000;
    };
    const run = await pollOnce(harness, 'sps-expiry');
    expect(run).toMatchObject({ status: 'succeeded', listed: 5, stored: 5, acknowledged: 5 });
    expect(fake.tokenRequests).toHaveLength(2);
    expect(fake.requests.filter((r) => r.status === 401)).toEqual([]);
    expect(
      fake
        .calls('GET')
        .filter((c) => c.path === 'out/')
        .map((c) => c.token),
    ).toEqual(['sps-access-token-1', 'sps-access-token-1', 'sps-access-token-2']);
  });

  it('a token the API refuses mid-run (401) is replaced once and every refused request repeated', async () => {
    const { fake, harness } = await setup({ name: 'sps-revoked', page_size: 2 });
    for (let i = 1; i <= 4; i++) fake.addFile(`out/PO_${i}.edi`, x12PurchaseOrder(`PO-${i}`));
    fake.hooks.afterListPage = (page) => {
      if (page === 2) fake.revokeTokens();
    };
    const run = await pollOnce(harness, 'sps-revoked');
    expect(run).toMatchObject({ status: 'succeeded', listed: 4, stored: 4, acknowledged: 4, errors: 0 });
    // The downloads run concurrently: each is refused with the old token, and all of them share
    // the one new token (a single token request), then succeed.
    expect(fake.tokenRequests).toHaveLength(2);
    const refused = fake.requests.filter((r) => r.status === 401);
    expect(refused.length).toBeGreaterThan(0);
    for (const request of refused) {
      expect(request.token).toBe('sps-access-token-1');
      const retried = fake.requests.filter(
        (r) => r.path === request.path && r.method === request.method && r.token === 'sps-access-token-2',
      );
      expect(retried.map((r) => r.status)).toEqual([200]);
    }
  });

  // A listing the API never ends: pages of sub-folders only (nothing counts toward
  // max_files_per_run), each with a new cursor, or a cursor handed out again.
  function endlessListing(cursorOf: (page: number) => string) {
    let pages = 0;
    server.use(
      http.get(`${SPS_BASE_URL}/transactions/v5/data/out/`, () => {
        pages++;
        return HttpResponse.json({
          results: [{ path: `out/folder-${pages}/`, type: 'folder' }],
          paging: { next: { cursor: cursorOf(pages) } },
        });
      }),
    );
    return () => pages;
  }

  it('a listing of endless pages with no file to take stops after 1,000 pages, failing the run', async () => {
    const { harness } = await setup({ name: 'sps-endless', page_size: 1 });
    const pages = endlessListing((page) => `c-${page}`);
    const run = await pollOnce(harness, 'sps-endless');
    expect(run).toMatchObject({ status: 'failed', listed: 0 });
    expect(run.error).toBe(
      'listing out/: 1000 pages in a row with no file to take; stopped (the next run lists again)',
    );
    expect(pages()).toBe(1000);
  });

  it('a listing that hands out a cursor twice stops, failing the run', async () => {
    const { harness } = await setup({ name: 'sps-cursor-loop', page_size: 1 });
    const pages = endlessListing((page) => `c-${page % 3}`);
    const run = await pollOnce(harness, 'sps-cursor-loop');
    expect(run).toMatchObject({ status: 'failed', listed: 0 });
    expect(run.error).toBe('listing out/: the API repeated cursor "c-1"');
    expect(pages()).toBe(4);
  });

  it('a 429 is retried after the Retry-After the API asked for, then succeeds', async () => {
    const { fake, harness } = await setup({ name: 'sps-429' });
    fake.addFile('out/PO_1.edi', x12PurchaseOrder('PO-1'));
    fake.failNext('GET', 429, { path: 'out/PO_1.edi', retryAfter: '1' });
    const times: number[] = [];
    fake.hooks.beforeDelete = () => void times.push(Date.now());
    const started = Date.now();
    const run = await pollOnce(harness, 'sps-429');
    expect(run).toMatchObject({ status: 'succeeded', stored: 1, acknowledged: 1, errors: 0 });
    const downloads = fake.calls('GET').filter((c) => c.path === 'out/PO_1.edi');
    expect(downloads.map((d) => d.status)).toEqual([429, 200]);
    // retry_base_ms is 10 ms in these tests: only the Retry-After explains a wait of a second.
    expect(times[0]! - started).toBeGreaterThanOrEqual(950);
  });

  it('5xx answers are retried with backoff; the token endpoint too', async () => {
    const { fake, harness } = await setup({ name: 'sps-5xx' });
    fake.addFile('out/PO_1.edi', x12PurchaseOrder('PO-1'));
    fake.failNext('TOKEN', 503);
    fake.failNext('GET', 502, { path: 'out/', times: 2 });
    fake.failNext('DELETE', 500);
    const run = await pollOnce(harness, 'sps-5xx');
    expect(run).toMatchObject({ status: 'succeeded', stored: 1, acknowledged: 1, errors: 0 });
    expect(fake.tokenRequests).toHaveLength(2);
    expect(fake.calls('DELETE').map((c) => c.status)).toEqual([500, 204]);
  });

  it('a Retry-After longer than retry_max_ms ends the run instead of holding the lock idle', async () => {
    const { fake, harness } = await setup({ name: 'sps-slowdown', retry_max_ms: 500 });
    fake.addFile('out/PO_1.edi', x12PurchaseOrder('PO-1'));
    fake.failNext('GET', 429, { path: 'out/', retryAfter: '120' });
    const run = await pollOnce(harness, 'sps-slowdown');
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/HTTP 429 with Retry-After 120 s/);
    expect(fake.remaining()).toEqual(['out/PO_1.edi']);
  });

  it('an oversize file is rejected, left on the server and reported; the others are taken', async () => {
    const { fake, harness } = await setup({ name: 'sps-size', max_file_bytes: 4096 });
    fake.addFile('out/PO_1.edi', x12PurchaseOrder('PO-1'));
    fake.addFile('out/PO_big_declared.edi', 'X'.repeat(10_000));
    fake.addFile('out/PO_big_streamed.edi', 'Y'.repeat(50_000), { declareLength: false });
    const run = await pollOnce(harness, 'sps-size');
    expect(run).toMatchObject({ status: 'partial', listed: 3, stored: 1, acknowledged: 1, errors: 2 });
    expect(run.error_details).toEqual([
      {
        path: 'out/PO_big_declared.edi',
        code: 'file_too_large',
        message: expect.stringMatching(/10000 bytes, over max_file_bytes \(4096\)/),
        event_id: null,
      },
      {
        path: 'out/PO_big_streamed.edi',
        code: 'file_too_large',
        message: expect.stringMatching(/larger than max_file_bytes \(4096\)/),
        event_id: null,
      },
    ]);
    expect((await events(harness, 'sps-size')).map((e) => e.webhook_id)).toEqual(['out/PO_1.edi']);
    expect(fake.remaining()).toEqual(['out/PO_big_declared.edi', 'out/PO_big_streamed.edi']);
  });

  it('a delete that keeps failing leaves the file; the next run finds it stored, and deletes it', async () => {
    const { fake, harness } = await setup({ name: 'sps-nodelete', max_retries: 1 });
    fake.addFile('out/PO_1.edi', x12PurchaseOrder('PO-1'));
    fake.failNext('DELETE', 503, { times: 2 });
    const first = await pollOnce(harness, 'sps-nodelete');
    expect(first).toMatchObject({
      status: 'partial',
      stored: 1,
      acknowledged: 0,
      errors: 1,
      error_details: [{ code: 'acknowledge_failed', path: 'out/PO_1.edi' }],
    });
    expect(fake.remaining()).toEqual(['out/PO_1.edi']);
    const second = await pollOnce(harness, 'sps-nodelete');
    expect(second).toMatchObject({ status: 'succeeded', listed: 1, stored: 0, duplicates: 1, acknowledged: 1 });
    expect(fake.remaining()).toEqual([]);
    expect(await events(harness, 'sps-nodelete')).toHaveLength(1);
  });

  it('wrong client credentials fail the run with a message that names the problem, never the secret', async () => {
    const { fake, harness } = await setup({ name: 'sps-badauth', client_secret: 'wrong-secret-value' });
    fake.addFile('out/PO_1.edi', x12PurchaseOrder('PO-1'));
    const run = await pollOnce(harness, 'sps-badauth');
    expect(run.status).toBe('failed');
    expect(run.error).toBe('token endpoint answered HTTP 401 (invalid_client): check client_id and client_secret');
    expect(harness.logs.join('')).not.toContain('wrong-secret-value');
  });

  it('logs every run and never logs the client secret or a token', async () => {
    const { fake, harness } = await setup({ name: 'sps-logs' });
    fake.addFile('out/PO_1.edi', x12PurchaseOrder('PO-1'));
    fake.failNext('GET', 401, { path: 'out/' });
    await pollOnce(harness, 'sps-logs');
    const logs = harness.logs.join('');
    expect(logs).toContain('"msg":"poll run started"');
    expect(logs).toMatch(/"listed":1,"stored":1,"duplicates":0,"acknowledged":1,"errors":0.*"msg":"poll run finished"/);
    expect(logs).not.toContain(SPS_CLIENT_SECRET);
    expect(logs).not.toContain('sps-access-token');
  });
});
