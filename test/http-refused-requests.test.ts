import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway';

// Requests @hono/node-server cannot turn into a URL (a backslash in the path, a malformed Host
// header) never reach the app; the server answered them with an empty 400. They get the gateway's
// JSON error now (src/http/refused-request.ts). Sent over a raw socket: fetch and node:http would
// refuse to send such requests, or repair them first.

/** Sends `head` (request line and headers) on a fresh connection; the parsed answer. */
function rawRequest(port: number, head: string, body = '') {
  return new Promise<{ status: number; headers: Record<string, string>; body: string }>((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (received += chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const [top = '', ...rest] = received.split('\r\n\r\n');
      const [statusLine = '', ...lines] = top.split('\r\n');
      const headers = Object.fromEntries(
        lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]),
      );
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body: rest.join('\r\n\r\n') });
    });
    socket.write(`${head}\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  });
}

describe('requests the HTTP server cannot parse into a URL', () => {
  let gw: TestGateway;
  let port: number;
  beforeAll(async () => {
    gw = await startTestGateway('pglite', {}, { role: 'web' });
    port = Number(new URL(gw.url).port);
  });
  afterAll(() => gw?.stop());

  it('a backslash in the path is a JSON 400 saying what to send instead', async () => {
    for (const head of [
      'GET /api\\events HTTP/1.1\r\nHost: 127.0.0.1',
      'POST /api/webhooks/shop\\x HTTP/1.1\r\nHost: 127.0.0.1',
    ]) {
      const answer = await rawRequest(port, head, head.startsWith('POST') ? '{"a":1}' : '');
      expect(answer.status, head).toBe(400);
      expect(answer.headers['content-type']).toMatch(/^application\/json/);
      expect(JSON.parse(answer.body)).toEqual({
        error: {
          code: 'invalid_path',
          message:
            'The request path contains a backslash; separate path segments with "/" and percent-encode a backslash as %5C',
        },
      });
    }
  });

  it('a malformed Host header is a JSON 400 that quotes nothing back', async () => {
    const answer = await rawRequest(port, 'GET /healthz HTTP/1.1\r\nHost: attacker@127.0.0.1');
    expect(answer.status).toBe(400);
    expect(answer.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(answer.body).error.code).toBe('invalid_host');
    expect(answer.body).not.toContain('attacker');

    const unparsable = await rawRequest(port, 'GET /healthz HTTP/1.1\r\nHost: exa mple<script>');
    expect(unparsable.status).toBe(400);
    expect(JSON.parse(unparsable.body).error.code).toBe('invalid_request_target');
    expect(unparsable.body).not.toContain('script');
  });

  it('a backslash after "?" is part of the query: the request is served as before', async () => {
    const answer = await rawRequest(port, 'GET /healthz?x=a\\b HTTP/1.1\r\nHost: 127.0.0.1');
    expect(answer.status).toBe(200);
  });
});
