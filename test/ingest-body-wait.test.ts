import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { sign } from '@octokit/webhooks-methods';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/env';
import { databaseKinds, type DatabaseKind } from './helpers/database';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { PROVIDER_SECRETS, providerSources } from './helpers/provider-signers';
import { openRequest, requestHead } from './helpers/raw-exchange';

// INGEST_BODY_WAIT_MS and INGEST_BODY_WAIT_QUEUE: a GitHub delivery (GitHub never retries) whose
// declared body does not fit in INGEST_BODY_BUDGET_BYTES waits, bounded in time and in count, for a
// body in flight to be answered, instead of being refused at once (src/ingest/body-budget.ts).
// Deliveries are signed with GitHub's own @octokit/webhooks-methods.

const MAX_BODY = 64 * 1024;
const BUDGET = 100 * 1024;
const TARGET = '/api/webhooks/github';

const pushBody = (bytes: number, mark: string) => {
  const start = `{"ref":"refs/heads/main","mark":"${mark}","pad":"`;
  return Buffer.from(start + 'x'.repeat(bytes - start.length - 2) + '"}');
};

/** Starts a signed GitHub push delivery of `body` on its own connection; `sent` bytes of the body are written now. */
async function startDelivery(port: number, body: Buffer, sent = body.length) {
  const head = requestHead(TARGET, {
    'content-type': 'application/json',
    'content-length': String(body.length),
    'x-github-event': 'push',
    'x-github-delivery': randomUUID(),
    'x-hub-signature-256': await sign(PROVIDER_SECRETS.github, body.toString('utf8')),
  });
  const request = openRequest(port, head);
  if (sent > 0) request.socket.write(body.subarray(0, sent));
  return { ...request, finish: () => request.socket.write(body.subarray(sent)) };
}

const status = (answer: string) => Number(/^HTTP\/1\.1 (\d{3}) /.exec(answer)?.[1]);
const answered = (request: { answer(): string }) => request.answer().includes('\r\n\r\n{');

/** A gateway on `kind` with a budget of BUDGET and the given wait, and the test's view of it. */
function budgetGateway(kind: DatabaseKind, ingestBodyWait: { waitMs: number; maxWaiting: number }) {
  let gw: TestGateway;
  let port: number;
  const sockets: net.Socket[] = [];
  beforeAll(async () => {
    gw = await startTestGateway(kind, {
      sources: providerSources(),
      maxBodyBytes: MAX_BODY,
      ingestBodyBudgetBytes: BUDGET,
      ingestBodyWait,
      timeouts: { headersMs: 120_000, requestMs: 120_000 },
    });
    port = Number(new URL(gw.url).port);
  });
  afterEach(() => sockets.splice(0).forEach((s) => s.destroy()));
  afterAll(() => gw?.stop());

  const gauge = async (name: string) => {
    const res = await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${SECRETS.ops}` } });
    return Number(new RegExp(`^${name} (\\d+)`, 'm').exec(await res.text())![1]);
  };
  /** Requests to the github source refused for `reason`, from webhook_gateway_requests_total. */
  const requests = async (reason: string) => {
    const res = await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${SECRETS.ops}` } });
    const line = (await res.text())
      .split('\n')
      .find((l) => l.startsWith('webhook_gateway_requests_total{') && l.includes(`reason="${reason}"`));
    return line === undefined ? 0 : Number(line.split(' ').at(-1));
  };
  const gaugeIs = (name: string, value: number) =>
    waitFor(async () => (await gauge(name)) === value, 10_000, `${name} ${value}`);
  const stored = async (mark: string) =>
    Number(
      (
        await gw.query<{ n: string }>(
          `select count(*) as n from webhook_events where convert_from(body, 'UTF8') like $1`,
          [`%"mark":"${mark}"%`],
        )
      )[0]!.n,
    );
  const track = <T extends { socket: net.Socket }>(request: T) => (sockets.push(request.socket), request);
  /** A delivery of MAX_BODY bytes sent but for its last byte: it holds MAX_BODY of the budget. */
  const holdLarge = async (mark: string) => {
    const held = track(await startDelivery(port, pushBody(MAX_BODY, mark), MAX_BODY - 1));
    await gaugeIs('webhook_gateway_ingest_body_bytes_held', MAX_BODY);
    return held;
  };
  /** A signed delivery of `body` on its own connection, closed after the test. */
  const deliver = async (body: Buffer, sent?: number) => track(await startDelivery(port, body, sent));
  return { gauge, gaugeIs, stored, holdLarge, deliver, requests };
}

describe.each(databaseKinds())('waiting for room in the ingest body budget on %s', (kind) => {
  // Long enough that only the test's own steps end a wait (the wait running out is tested below).
  const { gauge, gaugeIs, stored, holdLarge, deliver, requests } = budgetGateway(kind, {
    waitMs: 60_000,
    maxWaiting: 2,
  });

  it('a delivery that does not fit waits for the body in flight to be answered, then is accepted', async () => {
    const large = await holdLarge('in-flight');
    const waiting = await deliver(pushBody(MAX_BODY, 'waited'));
    await gaugeIs('webhook_gateway_ingest_body_waiting', 1);
    // The budget is a real bound: the waiting body's bytes are not taken while it waits.
    expect(await gauge('webhook_gateway_ingest_body_bytes_held')).toBe(MAX_BODY);
    expect(answered(waiting)).toBe(false);

    large.finish();
    await waitFor(() => answered(large) && answered(waiting), 10_000, 'both answered');
    expect([status(large.answer()), status(waiting.answer())]).toEqual([200, 200]);
    expect(waiting.answer()).toContain('"accepted"');
    expect(await stored('in-flight')).toBe(1);
    expect(await stored('waited')).toBe(1);
    await gaugeIs('webhook_gateway_ingest_body_waiting', 0);
    await gaugeIs('webhook_gateway_ingest_body_bytes_held', 0);
  });

  it('waiting requests are admitted in arrival order, each once its body fits', async () => {
    const large = await holdLarge('order-held');
    const first = await deliver(pushBody(MAX_BODY, 'order-first'), 0);
    await gaugeIs('webhook_gateway_ingest_body_waiting', 1);
    const second = await deliver(pushBody(MAX_BODY, 'order-second'), 0);
    await gaugeIs('webhook_gateway_ingest_body_waiting', 2);

    // The held body ends: there is room for one more body of MAX_BODY, the first to arrive.
    large.finish();
    await waitFor(() => answered(large), 10_000, 'the held delivery answered');
    await gaugeIs('webhook_gateway_ingest_body_waiting', 1);
    expect(await gauge('webhook_gateway_ingest_body_bytes_held')).toBe(MAX_BODY);
    first.finish();
    await waitFor(() => answered(first), 10_000, 'the first waiter answered');
    expect(status(first.answer())).toBe(200);
    // Then the second.
    await gaugeIs('webhook_gateway_ingest_body_waiting', 0);
    second.finish();
    await waitFor(() => answered(second), 10_000, 'the second waiter answered');
    expect(status(second.answer())).toBe(200);
    expect((await stored('order-first')) + (await stored('order-second'))).toBe(2);
  });

  it('beyond INGEST_BODY_WAIT_QUEUE waiting requests, a delivery that does not fit is refused at once', async () => {
    await holdLarge('queue-held');
    for (const mark of ['queue-1', 'queue-2']) await deliver(pushBody(MAX_BODY, mark), 0);
    await gaugeIs('webhook_gateway_ingest_body_waiting', 2);
    const refused = await deliver(pushBody(MAX_BODY, 'queue-3'), 0);
    await waitFor(() => answered(refused), 10_000, 'the refusal');
    // Refused while both others still wait: not after a wait of its own.
    expect(await gauge('webhook_gateway_ingest_body_waiting')).toBe(2);
    expect(status(refused.answer())).toBe(503);
    expect(refused.answer()).toMatch(/\r\nretry-after: 5\r\n/i);
    expect(refused.answer()).toContain('"ingest_busy"');
  });

  it('a client that leaves while waiting gives its place up at once', async () => {
    await holdLarge('leaver-held');
    const leavers = [
      await deliver(pushBody(MAX_BODY, 'leaver-1'), 0),
      await deliver(pushBody(MAX_BODY, 'leaver-2'), 0),
    ];
    await gaugeIs('webhook_gateway_ingest_body_waiting', 2);
    const [incomplete, busy] = [await requests('incomplete_request'), await requests('ingest_busy')];
    leavers.forEach((l) => l.socket.destroy());
    await gaugeIs('webhook_gateway_ingest_body_waiting', 0);
    // Counted as clients that left, not as the gateway being busy.
    await waitFor(
      async () => (await requests('incomplete_request')) === incomplete + 2,
      10_000,
      'two more incomplete_request',
    );
    expect(await requests('ingest_busy')).toBe(busy);
    // Their places are free again: a new delivery waits rather than being refused.
    await deliver(pushBody(MAX_BODY, 'after-leavers'), 0);
    await gaugeIs('webhook_gateway_ingest_body_waiting', 1);
  });
});

describe.each(databaseKinds())('the wait running out on %s', (kind) => {
  const { gauge, gaugeIs, holdLarge, deliver } = budgetGateway(kind, { waitMs: 2000, maxWaiting: 2 });

  it('a delivery still without room after INGEST_BODY_WAIT_MS is refused 503 ingest_busy, its body unread', async () => {
    await holdLarge('timeout-held');
    const waited = await deliver(pushBody(40 * 1024, 'timed-out'), 0);
    await gaugeIs('webhook_gateway_ingest_body_waiting', 1);
    await waitFor(() => answered(waited), 15_000, 'the refusal after the wait');
    expect(status(waited.answer())).toBe(503);
    expect(waited.answer()).toMatch(/\r\nretry-after: 5\r\n/i);
    expect(waited.answer()).toContain('"ingest_busy"');
    expect(await gauge('webhook_gateway_ingest_body_waiting')).toBe(0);
    expect(await gauge('webhook_gateway_ingest_body_bytes_held')).toBe(MAX_BODY);
  });
});

describe('INGEST_BODY_WAIT_MS and INGEST_BODY_WAIT_QUEUE', () => {
  it('default to 3 s and 32 requests; 0 refuses at once', () => {
    expect(loadConfig({}).ingestBodyWait).toEqual({ waitMs: 3000, maxWaiting: 32 });
    expect(loadConfig({ INGEST_BODY_WAIT_MS: '0', INGEST_BODY_WAIT_QUEUE: '5' }).ingestBodyWait).toEqual({
      waitMs: 0,
      maxWaiting: 5,
    });
  });
});
