import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSourcesDocument } from '../src/config/file';
import { databaseKinds } from './helpers/database';
import { DESTINATION_SECRET } from './helpers/destinations';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { post } from './helpers/signers';

// Destinations that misbehave on purpose, each a real HTTP server on loopback: the gateway bounds
// what it reads and how long it waits, records each attempt's failure with a clear error, stops at
// max_attempts with the event failed and replayable.

const API_KEY = 'api-key-for-hostile-destinations';
const PAYLOAD_VALUE = 'payload-value-never-in-errors-7d1e';
const MiB = 1024 * 1024;
/** Bytes the 50 MiB answer had sent when the gateway let go of its connection. */
let hugeBytesSent = 0;

/** What each path of the hostile server does with a POST. */
const behaviours: Record<string, (socket: Socket, respond: (head: string, body?: string) => void) => void> = {
  // 200, then 50 MiB: delivered; the body is never downloaded.
  'huge-200': (socket) => {
    socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${50 * MiB}\r\n\r\n`);
    socket.once('close', () => (hugeBytesSent = socket.bytesWritten));
    const chunk = Buffer.alloc(64 * 1024, 'x');
    const pump = () => {
      while (!socket.destroyed && socket.write(chunk));
      if (!socket.destroyed) socket.once('drain', pump);
    };
    pump();
  },
  // 500 with an endless chunked body.
  'endless-500': (socket) => {
    socket.write('HTTP/1.1 500 Internal Server Error\r\ntransfer-encoding: chunked\r\n\r\n');
    const timer = setInterval(() => socket.destroyed || socket.write('4000\r\n' + 'e'.repeat(0x4000) + '\r\n'), 1);
    socket.once('close', () => clearInterval(timer));
  },
  // Never answers.
  silent: () => {},
  // 500, then one byte every 50 ms: the timeout is a total deadline.
  trickle: (socket) => {
    socket.write('HTTP/1.1 500 Internal Server Error\r\ntransfer-encoding: chunked\r\n\r\n');
    const timer = setInterval(() => socket.destroyed || socket.write('1\r\nt\r\n'), 50);
    socket.once('close', () => clearInterval(timer));
  },
  // A redirect to the metadata service: not followed.
  redirect: (_socket, respond) => respond('302 Found\r\nlocation: http://169.254.169.254/latest/meta-data/'),
  // Resets the connection half-way through the status line.
  reset: (socket) => {
    socket.write('HTTP/1.1 20');
    socket.resetAndDestroy();
  },
  // 200 with a header line that is not a header.
  'bad-headers': (socket) => socket.end('HTTP/1.1 200 OK\r\nthis is not a header\r\ncontent-length: 0\r\n\r\n'),
};

describe.each(databaseKinds())('hostile destinations on %s', (kind) => {
  let gw: TestGateway;
  let server: Server;
  const api = async (path: string, method = 'GET') => {
    const res = await fetch(`${gw.url}${path}`, { method, headers: { authorization: `Bearer ${SECRETS.ops}` } });
    return { status: res.status, json: (await res.json()) as any };
  };
  const send = async (source: string) => {
    const res = await post(`${gw.url}/api/webhooks/${source}`, JSON.stringify({ value: PAYLOAD_VALUE }), {
      'x-api-key': API_KEY,
      'content-type': 'application/json',
    });
    expect(res.status).toBe(200);
    return res.json.id as number;
  };
  const finished = (id: number) =>
    waitFor(
      async () => {
        const detail = (await api(`/api/events/${id}`)).json;
        return ['failed', 'completed'].includes(detail.status) ? detail : undefined;
      },
      30_000,
      `event ${id} finished`,
    );

  beforeAll(async () => {
    server = createServer();
    // Each request is answered by hand on its socket, below HTTP, so answers can be malformed.
    server.on('request', (request) => {
      request.resume();
      request.on('end', () => {
        const socket = request.socket;
        const respond = (head: string, body = '') =>
          socket.end(`HTTP/1.1 ${head}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
        behaviours[request.url!.slice(1)]!(socket, respond);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const names = Object.keys(behaviours);
    gw = await startTestGateway(kind, {
      sources: parseSourcesDocument(
        {
          sources: names.map((name) => ({
            name,
            provider: 'api-key',
            secrets: [API_KEY],
            header: 'x-api-key',
            retry: { max_attempts: 2 },
          })),
        },
        {},
      ),
      destinations: names.map((name) => ({
        name,
        url: `${base}/${name}`,
        secret: DESTINATION_SECRET,
        timeoutMs: 1000,
        sources: [name],
      })),
    });
  });

  afterAll(async () => {
    await gw?.stop();
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  });

  it('each misbehaviour fails its attempts with a clear error (no payload value), up to max_attempts; the event is replayable', async () => {
    const ids: Record<string, number> = Object.fromEntries(
      await Promise.all(Object.keys(behaviours).map(async (n) => [n, await send(n)] as const)),
    );
    const results: Record<string, any> = Object.fromEntries(
      await Promise.all(Object.entries(ids).map(async ([n, id]) => [n, await finished(id)])),
    );
    const errors = (name: string) => results[name].deliveries.map((d: any) => d.error as string);

    // Delivered on its 200; the 50 MiB body was not downloaded (a few MiB sat in socket buffers).
    expect(results['huge-200']).toMatchObject({ status: 'completed', attempts: 1 });
    await waitFor(() => hugeBytesSent > 0, 10_000, 'the huge answer closed');
    expect(hugeBytesSent).toBeLessThan(16 * MiB);

    for (const name of Object.keys(behaviours).filter((n) => n !== 'huge-200')) {
      expect(results[name], name).toMatchObject({ status: 'failed', attempts: 2 });
      expect(results[name].deliveries, name).toHaveLength(2);
      for (const delivery of results[name].deliveries) expect(delivery.outcome, name).toBe('failed');
      const texts = JSON.stringify([results[name].last_error, results[name].attempt_log, results[name].deliveries]);
      expect(texts, name).not.toContain(PAYLOAD_VALUE);
    }
    // An endless answer gives a cut excerpt; one that trickles is cut at the total deadline.
    for (const error of errors('endless-500')) expect(error).toMatch(/^HTTP 500: e{300}…$/);
    for (const delivery of results.trickle.deliveries) {
      expect(delivery).toMatchObject({ http_status: 500, error: expect.stringMatching(/^HTTP 500: t*$/) });
      expect(delivery.duration_ms).toBeLessThan(3000);
    }
    for (const delivery of results.silent.deliveries) {
      expect(delivery).toMatchObject({ http_status: null, error: 'timed out after 1000 ms' });
      expect(delivery.duration_ms).toBeLessThan(3000);
    }
    for (const error of errors('redirect')) expect(error).toMatch(/^HTTP 302: redirect not followed \(/);
    for (const error of errors('reset')) expect(error).toMatch(/^fetch failed: /);
    for (const error of errors('bad-headers')) expect(error).toMatch(/^fetch failed: .*Invalid header/);
    expect(gw.logs.join('\n')).not.toContain(PAYLOAD_VALUE);

    // Failed, not lost: a replay gives it new attempts.
    expect((await api(`/api/events/${ids.silent}/replay`, 'POST')).status).toBe(200);
    expect((await api(`/api/events/${ids.silent}`)).json.status).not.toBe('failed');
  });
});
