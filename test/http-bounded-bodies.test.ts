import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DESTINATION_SECRET } from './helpers/destinations';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { startPollHarness, waitForRun, type PollHarness } from './helpers/poll-harness';
import { spsRestSource } from './helpers/poll-sps-mocks';
import { post, shopifyHeaders } from './helpers/signers';

// Every response body the gateway reads is bounded. A real HTTP server on loopback answers with
// bodies that never end; the gateway must read a few KiB (or its JSON limit), cancel the rest and
// report the answer clearly. Evidence: the server sees the connection closed after sending a
// bounded number of bytes, and the process does not grow by what was offered.

const CHUNK = Buffer.alloc(64 * 1024, 'x');
/** Bytes the server may have pushed into socket buffers before the client's cancel arrives. */
const SENT_LIMIT = 64 * 1024 * 1024;

interface Endless {
  /** Bytes written before the client went away. */
  sent: number;
  closed: Promise<void>;
}

/** Streams `prefix` then `CHUNK`s until the client closes the connection. */
function streamForever(res: ServerResponse, status: number, contentType: string, prefix = ''): Endless {
  const state = { sent: 0, closed: undefined as unknown as Promise<void> };
  state.closed = new Promise((resolve) => res.once('close', () => resolve()));
  res.writeHead(status, { 'content-type': contentType });
  res.write(prefix);
  const pump = () => {
    while (!res.destroyed && !res.writableEnded) {
      state.sent += CHUNK.length;
      if (!res.write(CHUNK)) return void res.once('drain', pump);
    }
  };
  pump();
  return state;
}

describe('bounded response bodies', () => {
  let server: Server;
  let base: string;
  const streams: Record<string, Endless> = {};
  let gw: TestGateway;
  let polls: PollHarness;

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      req.resume();
      const url = req.url ?? '';
      if (url === '/hooks') streams.destination = streamForever(res, 500, 'text/plain');
      else if (url === '/oauth/ok') res.end(JSON.stringify({ access_token: 'local-token', expires_in: 3600 }));
      else if (url === '/oauth/huge') streams.token = streamForever(res, 200, 'application/json', '{"access_token":"');
      else if (url.startsWith('/listing-huge/transactions/v5/data/out/'))
        streams.listing = streamForever(res, 200, 'application/json', '{"results":[{"path":"out/');
      else if (url.startsWith('/error-huge/transactions/v5/data/out/?'))
        res.end(JSON.stringify({ results: [{ path: 'out/PO_1.edi', type: 'file' }], paging: {} }));
      else if (url === '/error-huge/transactions/v5/data/out/PO_1.edi')
        streams.download = streamForever(res, 422, 'application/problem+json', '{"title":"');
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    gw = await startTestGateway('pglite', { worker: { cron: '0 0 1 1 *', retryBaseMs: 20, retryMaxMs: 5_000 } });
    gw.gateway.forward('shopify', {
      destinations: [{ name: 'endless', url: `${base}/hooks`, secret: DESTINATION_SECRET, timeoutMs: 20_000 }],
    });
    const local = { token_url: `${base}/oauth/ok`, max_retries: 0 };
    polls = await startPollHarness(
      'pglite',
      [
        spsRestSource({ ...local, name: 'huge-listing', base_url: `${base}/listing-huge` }),
        spsRestSource({ ...local, name: 'huge-error', base_url: `${base}/error-huge` }),
        spsRestSource({
          ...local,
          name: 'huge-token',
          base_url: `${base}/error-huge`,
          token_url: `${base}/oauth/huge`,
        }),
      ],
      { testDb: gw.testDb, database: gw.gateway.database },
    );
  });
  afterAll(async () => {
    await polls?.stop();
    await gw?.stop();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('a destination answering 500 with an endless body: a short excerpt is kept, the rest is never read', async () => {
    const rssBefore = process.memoryUsage().rss;
    const body = JSON.stringify({ id: 1 });
    const res = await post(
      `${gw.url}/api/webhooks/shopify/orders/create`,
      body,
      shopifyHeaders(SECRETS.shopify, body, 'endless-1'),
    );
    const id = res.json.id as number;
    const attempt = await waitFor(
      async () => {
        await gw.gateway.worker.tick();
        const rows = await gw.query<{ http_status: number; error: string }>(
          'select http_status, error from delivery_attempts where event_id = $1',
          [id],
        );
        return rows[0];
      },
      20_000,
      'the delivery attempt',
    );

    expect(attempt).toEqual({ http_status: 500, error: `HTTP 500: ${'x'.repeat(300)}…` });
    await streams.destination!.closed;
    expect(streams.destination!.sent).toBeLessThan(SENT_LIMIT);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(256 * 1024 * 1024);
  });

  it('an endless listing fails the run with a clear limit, and the stream is cancelled', async () => {
    const run = await waitForRun(polls, (await polls.poll('huge-listing')).json.runs[0].run_id, 30_000);
    expect(run).toMatchObject({ status: 'failed', error: 'listing out/: the answer is larger than 4194304 bytes' });
    await streams.listing!.closed;
    expect(streams.listing!.sent).toBeLessThan(SENT_LIMIT);
  });

  it('an endless error answer (422) to a download is excerpted; an endless token answer is refused', async () => {
    const run = await waitForRun(polls, (await polls.poll('huge-error')).json.runs[0].run_id, 30_000);
    expect(run).toMatchObject({ status: 'partial', listed: 1, stored: 0, errors: 1 });
    expect(run.error_details[0]).toMatchObject({
      path: 'out/PO_1.edi',
      code: 'download_failed',
      message: expect.stringMatching(/^downloading out\/PO_1\.edi: HTTP 422 \{"title":"x{150}/),
    });
    expect(run.error_details[0].message.length).toBeLessThan(300);
    await streams.download!.closed;
    expect(streams.download!.sent).toBeLessThan(SENT_LIMIT);

    const tokenRun = await waitForRun(polls, (await polls.poll('huge-token')).json.runs[0].run_id, 30_000);
    expect(tokenRun).toMatchObject({
      status: 'failed',
      error: 'token endpoint: the answer is larger than 65536 bytes',
    });
    await streams.token!.closed;
    expect(streams.token!.sent).toBeLessThan(SENT_LIMIT);
  });
});
