import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setupServer } from 'msw/node';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDocumentParser, type DocumentParser } from '../src/poll/document-parser';
import { SECRETS, startTestGateway, type TestGateway } from './helpers/gateway';
import { startPollHarness, waitForRun, type PollHarness } from './helpers/poll-harness';
import { createFakeSps, spsRestSource } from './helpers/poll-sps-mocks';
import { x12PurchaseOrder, x12PurchaseOrders } from './helpers/poll-x12';
import { post, shopifyHeaders } from './helpers/signers';

// Polled files are parsed on a worker thread with a time budget, so no file can hold up the thread
// that answers webhooks. The real gateway answers signed Shopify deliveries in this process while
// the parser works; the evidence is that they complete during the parse and that the event loop
// keeps turning meanwhile — never a wall-clock threshold.

/** About 2 MB of valid 850s: parsing it takes long enough to see what happens meanwhile. */
const BIG = x12PurchaseOrders(Array.from({ length: 2500 }, (_, i) => ({ poNumber: `PO-${i + 1}` })));
/**
 * About 250 KB: far more than 1 ms of parsing. (Kept smaller than BIG because storing a 4 MB body
 * in embedded PGlite blocks the process for seconds: its bytea parameters are hex-encoded in JS.)
 */
const MEDIUM = x12PurchaseOrders(Array.from({ length: 300 }, (_, i) => ({ poNumber: `PO-${i + 1}` })));
/** The file that stalled ingest for 9.7 s: a 150 KB run of digits ending in a letter, in PO102. */
const HOSTILE = x12PurchaseOrder('PO-HOSTILE').replace('PO1*1*24*', `PO1*1*${'9'.repeat(150_000)}x*`);

describe('polled files are parsed off the thread that answers webhooks', () => {
  const fake = createFakeSps();
  const server = setupServer(...fake.handlers);
  let gw: TestGateway;
  let polls: PollHarness;
  let parser: DocumentParser;

  beforeAll(async () => {
    server.listen({ onUnhandledRequest: 'bypass' });
    gw = await startTestGateway('pglite');
    polls = await startPollHarness(
      'pglite',
      [
        spsRestSource({ name: 'sps', max_file_bytes: 16 * 1024 * 1024 }),
        spsRestSource({
          name: 'sps-budget',
          directory: 'budget/',
          max_file_bytes: 16 * 1024 * 1024,
          parse_timeout_ms: 1,
        }),
      ],
      { testDb: gw.testDb, database: gw.gateway.database },
    );
    parser = createDocumentParser({ logger: pino({ level: 'silent' }) });
  });
  afterAll(async () => {
    server.close();
    await parser?.close();
    await polls?.stop();
    await gw?.stop();
  });

  let delivery = 0;
  async function webhook(): Promise<number> {
    const body = JSON.stringify({ id: ++delivery, total_price: '10.00' });
    const res = await post(
      `${gw.url}/api/webhooks/shopify/orders/create`,
      body,
      shopifyHeaders(SECRETS.shopify, body, `iso-${delivery}`),
    );
    return res.status;
  }

  it('signed webhooks are answered while a 2 MB file is being parsed', { timeout: 90_000 }, async () => {
    // A first file starts the worker, so what follows measures parsing, not start-up.
    await parser.parse(
      { path: 'out/warm.edi', name: 'warm.edi' },
      Buffer.from(x12PurchaseOrder('PO-W')),
      'sps-rest',
      60_000,
    );

    const delay = monitorEventLoopDelay({ resolution: 10 });
    let parsing = true;
    delay.enable();
    const parsed = parser
      .parse({ path: 'out/big.edi', name: 'big.edi' }, Buffer.from(BIG), 'sps-rest', 120_000)
      .finally(() => {
        parsing = false;
        delay.disable();
      });
    const answeredDuringParse: number[] = [];
    while (parsing) {
      const status = await webhook();
      if (parsing) answeredDuringParse.push(status);
    }
    const document = await parsed;

    expect(document.topic).toBe('x12/850');
    expect(JSON.parse(document.body.toString()).purchase_orders).toHaveLength(2500);
    // Parsed on this thread, the file would have blocked every one of these requests until it was done.
    expect(answeredDuringParse.length).toBeGreaterThanOrEqual(3);
    expect(answeredDuringParse.every((s) => s === 200)).toBe(true);
    // And the event loop kept turning: a 10 ms timer fired several times during the parse (a parse on
    // this thread would allow at most one turn). Counted, not timed: the OS may deschedule this
    // process on a loaded machine, which stretches delays but does not stop the turns; a quick parse
    // leaves fewer turns (9 were seen in CI), so the bound is what a blocked thread cannot reach.
    expect(delay.count).toBeGreaterThanOrEqual(3);
  });

  it('the file that stalled ingest is refused by the element limit, and the run says why', async () => {
    fake.addFile('out/PO_hostile.edi', HOSTILE);
    fake.addFile('out/PO_ok.edi', x12PurchaseOrder('PO-OK'));
    const { json } = await polls.poll('sps');
    const statuses = await Promise.all(Array.from({ length: 5 }, () => webhook()));
    const run = await waitForRun(polls, json.runs[0].run_id);

    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    expect(run).toMatchObject({ status: 'partial', listed: 2, stored: 2, acknowledged: 2, errors: 1 });
    const [invalid] = await gw.query<{ id: number; topic: string; body: Buffer }>(
      `select id, topic, body from webhook_events where source = 'sps' and webhook_id = 'out/PO_hostile.edi'`,
    );
    expect(run.error_details).toEqual([
      {
        path: 'out/PO_hostile.edi',
        code: 'parse_failed',
        message: 'interchange 1, segment 20 (PO1): element PO102 is 150001 characters long, over the limit of 4096',
        event_id: invalid!.id,
      },
    ]);
    // Refused, not lost: the raw file is in its event, under x12/invalid.
    expect(invalid!.topic).toBe('x12/invalid');
    expect(JSON.parse(Buffer.from(invalid!.body).toString()).file.content).toBe(HOSTILE);
  });

  it('a file that spends its parse time budget is stored raw and reported as parse_timeout', async () => {
    fake.addFile('budget/PO_big.edi', MEDIUM);
    const { json } = await polls.poll('sps-budget');
    const run = await waitForRun(polls, json.runs[0].run_id);
    const [event] = await gw.query<{ id: number; topic: string; body: Buffer }>(
      `select id, topic, body from webhook_events where source = 'sps-budget'`,
    );
    expect(run).toMatchObject({ status: 'partial', stored: 1, acknowledged: 1, errors: 1 });
    expect(run.error_details).toEqual([
      {
        path: 'budget/PO_big.edi',
        code: 'parse_timeout',
        message: 'parsing did not finish within parse_timeout_ms (1 ms); the raw file is stored unparsed',
        event_id: event!.id,
      },
    ]);
    const payload = JSON.parse(Buffer.from(event!.body).toString());
    expect(event!.topic).toBe('x12/invalid');
    expect(payload).toMatchObject({ format: 'x12', parse_error: expect.stringContaining('parse_timeout_ms') });
    expect(payload.file.content).toBe(MEDIUM);

    // The parser recovers: the next file of that source, with a budget it can meet, parses.
    fake.addFile('out/PO_after.edi', x12PurchaseOrder('PO-AFTER'));
    const next = await waitForRun(polls, (await polls.poll('sps')).json.runs[0].run_id);
    expect(next).toMatchObject({ status: 'succeeded', stored: 1 });
  });
});
