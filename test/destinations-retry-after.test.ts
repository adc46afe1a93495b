import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKinds } from './helpers/database';
import { DESTINATION_SECRET } from './helpers/destinations';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { post, shopifyHeaders } from './helpers/signers';

// A destination's Retry-After is read as RFC 9110 has it: delay-seconds (digits) or an HTTP-date
// (IMF-fixdate, or the obsolete RFC 850 and asctime forms). Date.parse read any text it could, so
// "2099" or a JavaScript date string postponed the event to the retry maximum (10 min here);
// such a header is ignored now, said in the attempt's error, and the usual backoff (30-60 s) applies.

const BACKOFF_MAX_MS = 60_000; // the first retry with RETRY_BASE_MS 60 s: 30-60 s
const RETRY_MAX_MS = 600_000;

/** A real HTTP server: /hooks/<n> answers 503 (odd n: 429) with the n-th Retry-After header. */
async function startBusyReceiver(headers: () => string[]) {
  const server: Server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      const n = Number(request.url!.split('/').pop());
      response.writeHead(n % 2 ? 429 : 503, { 'retry-after': headers()[n]! }).end('busy');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (n: number) => `http://127.0.0.1:${port}/hooks/${n}`,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

const inFiveMinutes = () => new Date(Date.now() + 300_000);
const asctime = (d: Date) => {
  const [day, , month, , time] = d.toUTCString().replace(',', '').split(' ');
  return `${day} ${month} ${String(d.getUTCDate()).padStart(2, ' ')} ${time} ${d.getUTCFullYear()}`;
};
const rfc850 = (d: Date) => {
  const weekday = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'][d.getUTCDay()];
  const [, dd, month, , time] = d.toUTCString().replace(',', '').split(' ');
  return `${weekday}, ${dd}-${month}-${String(d.getUTCFullYear()).slice(2)} ${time} GMT`;
};

const IGNORED = [
  'Dec 31 2099',
  '1 2 3',
  '12/31/2099',
  'Thu Dec 31 2099 00:00:00 GMT+0000',
  '2099-12-31T00:00:00Z',
  '1.5e3',
  '+300',
  '300 s',
];
const KEPT: [string, () => string][] = [
  ['delay-seconds', () => '300'],
  ['an IMF-fixdate', () => inFiveMinutes().toUTCString()],
  ['an RFC 850 date', () => rfc850(inFiveMinutes())],
  ['an asctime date', () => asctime(inFiveMinutes())],
];

describe.each(databaseKinds())('Retry-After from a real destination on %s', (kind) => {
  let gw: TestGateway;
  let receiver: Awaited<ReturnType<typeof startBusyReceiver>>;
  const headers = [...IGNORED.map((h) => () => h), ...KEPT.map(([, h]) => h)];

  beforeAll(async () => {
    receiver = await startBusyReceiver(() => headers.map((h) => h()));
    gw = await startTestGateway(kind, {
      worker: { cron: '0 0 1 1 *', retryBaseMs: BACKOFF_MAX_MS, retryMaxMs: RETRY_MAX_MS },
    });
    headers.forEach((_, n) =>
      gw.gateway.forward(
        'shopify',
        { destinations: [{ name: `busy-${n}`, url: receiver.url(n), secret: DESTINATION_SECRET, timeoutMs: 5_000 }] },
        `busy/${n}`,
      ),
    );
  }, 120_000);
  afterAll(async () => {
    await gw?.stop();
    await receiver?.close();
  });

  /** The first attempt's error and how long after it the next one is due. */
  async function firstRetry(n: number) {
    const body = JSON.stringify({ id: n });
    const topic = `busy/${n}`;
    const sent = await post(
      `${gw.url}/api/webhooks/shopify/${topic}`,
      body,
      shopifyHeaders(SECRETS.shopify, body, `ra-${n}`, 'acme.myshopify.com', topic),
    );
    const id = sent.json.id as number;
    const row = async () =>
      (
        await gw.query<{ attempts: number; status: string; last_error: string | null; next_attempt_at: Date }>(
          'select attempts, status, last_error, next_attempt_at from webhook_events where id = $1',
          [id],
        )
      )[0]!;
    await waitFor(
      async () => {
        await gw.gateway.worker.tick();
        const r = await row();
        return r.attempts === 1 && r.status === 'received' && r.last_error !== null;
      },
      20_000,
      `attempt 1 of ${topic}`,
    );
    const [log] = await gw.query<{ finished_at: Date }>('select finished_at from processing_log where event_id = $1', [
      id,
    ]);
    const r = await row();
    return {
      error: r.last_error!,
      dueInMs: new Date(r.next_attempt_at).getTime() - new Date(log!.finished_at).getTime(),
    };
  }

  it.each(IGNORED.map((header, n) => [header, n] as const))(
    'Retry-After %j is not a delay or an HTTP-date: ignored, said so, the usual backoff applies',
    async (_header, n) => {
      const { error, dueInMs } = await firstRetry(n);
      expect(dueInMs).toBeLessThanOrEqual(BACKOFF_MAX_MS + 1_000);
      expect(error).toContain(
        `busy-${n}: HTTP ${n % 2 ? 429 : 503}: busy (Retry-After ignored: neither delay-seconds nor an HTTP-date`,
      );
    },
  );

  it.each(KEPT.map(([what], i) => [what, IGNORED.length + i] as const))(
    'Retry-After as %s is kept: the next attempt is due about 5 minutes later',
    async (_what, n) => {
      const { error, dueInMs } = await firstRetry(n);
      // Whole seconds in the header, and the attempt finished a moment after the header was written.
      expect(dueInMs).toBeGreaterThanOrEqual(290_000);
      expect(dueInMs).toBeLessThanOrEqual(301_000);
      expect(error).not.toContain('Retry-After ignored');
    },
  );
});
