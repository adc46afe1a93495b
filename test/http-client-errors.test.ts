import net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/env';
import { SECRETS, startTestGateway, type TestGateway } from './helpers/gateway';

// Requests Node's HTTP parser refuses before any listener runs (src/http/client-error.ts), and
// HTTP/1.1 requests without Host (src/http/refused-request.ts): Node answered them with an empty
// body; the gateway's JSON error now. Raw sockets: fetch and node:http will not send such bytes.

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const opened: net.Socket[] = [];
afterEach(() => opened.splice(0).forEach((socket) => socket.destroy()));

function connect(port: number): net.Socket {
  const socket = net.connect(port, '127.0.0.1');
  opened.push(socket);
  return socket;
}

/**
 * Writes `bytes` on a fresh connection (then each of `later`, as soon as the previous write is
 * flushed) and parses what came back once the server closed it. Half-open: the client keeps its
 * side open after the server's FIN, as a client still sending would.
 */
function rawExchange(port: number, bytes: string, later: string[] = []): Promise<RawAnswer & { raw: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    opened.push(socket);
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (received += chunk));
    socket.on('error', reject);
    socket.on('end', () => socket.end());
    socket.on('close', () => resolve({ ...parseAnswer(received), raw: received }));
    const writeNext = () => {
      const next = later.shift();
      if (next !== undefined && socket.writable) socket.write(next, writeNext);
    };
    socket.write(bytes, writeNext);
  });
}

function parseAnswer(received: string): RawAnswer {
  const split = received.indexOf('\r\n\r\n');
  const [statusLine = '', ...lines] = received.slice(0, split).split('\r\n');
  const headers = Object.fromEntries(
    lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]),
  );
  return { status: Number(statusLine.split(' ')[1]), headers, body: received.slice(split + 4) };
}

/** The JSON error of a refused request, after checking it is a complete closing JSON response. */
function jsonError(answer: RawAnswer): { code: string; message: string } {
  expect(answer.headers['content-type']).toBe('application/json');
  expect(answer.headers['connection']).toBe('close');
  expect(Number(answer.headers['content-length'])).toBe(Buffer.byteLength(answer.body));
  const parsed = JSON.parse(answer.body) as { error: { code: string; message: string } };
  expect(Object.keys(parsed)).toEqual(['error']);
  return parsed.error;
}

describe('malformed requests refused by the HTTP server', () => {
  let gw: TestGateway;
  let port: number;
  beforeAll(async () => {
    // Short timeouts so that a client too slow for them is seen here; long enough for the other
    // connections these tests hold open while they send malformed requests.
    gw = await startTestGateway('pglite', { timeouts: { headersMs: 1500, requestMs: 5000 } }, { role: 'web' });
    port = Number(new URL(gw.url).port);
  });
  afterAll(() => gw?.stop());

  /** The server still serves: a fresh request, and one held open on another connection meanwhile. */
  async function stillServing(held: net.Socket, heldAnswer: Promise<string>) {
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
    held.write('Connection: close\r\n\r\n');
    expect(await heldAnswer).toMatch(/^HTTP\/1\.1 200 /);
  }

  /** The refusal was logged with the parser's error code, and no byte of the request. */
  function loggedCodeOnly(code: string, requestText: string) {
    const refusals = gw.logs.filter((line) => line.includes('refused a request the HTTP parser could not accept'));
    expect(refusals.map((line) => JSON.parse(line).code)).toContain(code);
    expect(gw.logs.join('\n')).not.toContain(requestText);
  }

  /** A request another client has half sent when the malformed one arrives. */
  function holdRequest() {
    const held = connect(port);
    let received = '';
    held.setEncoding('utf8');
    held.on('data', (chunk: string) => (received += chunk));
    const answer = new Promise<string>((resolve) => held.on('close', () => resolve(received)));
    held.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    return { held, answer };
  }

  it('an HTTP/1.1 request without Host is a JSON 400 invalid_host, and the server keeps serving', async () => {
    const { held, answer } = holdRequest();
    const refused = await rawExchange(port, 'GET /healthz HTTP/1.1\r\nX-Probe: no-host-here\r\n\r\n');
    expect(refused.status).toBe(400);
    expect(jsonError(refused)).toEqual({
      code: 'invalid_host',
      message: "The request has no Host header; send the gateway's host",
    });
    expect(refused.body).not.toContain('no-host-here');
    await stillServing(held, answer);
  });

  it('an HTTP/1.0 request without Host is still served (Host is required from HTTP/1.1 on)', async () => {
    const answer = await rawExchange(port, 'GET /healthz HTTP/1.0\r\n\r\n');
    expect(answer.status).toBe(200);
  });

  it('headers over 16 KiB are a JSON 431 headers_too_large that quotes none of them', async () => {
    const { held, answer } = holdRequest();
    const refused = await rawExchange(
      port,
      `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'q'.repeat(20_000)}\r\n\r\n`,
    );
    expect(refused.status).toBe(431);
    const error = jsonError(refused);
    expect(error.code).toBe('headers_too_large');
    expect(error.message).toContain('16384 bytes');
    expect(refused.body).not.toContain('qqqq');
    loggedCodeOnly('HPE_HEADER_OVERFLOW', 'qqqq');
    await stillServing(held, answer);
  });

  it('a garbage request line is a JSON 400 malformed_request_line that quotes nothing back', async () => {
    const { held, answer } = holdRequest();
    const refused = await rawExchange(port, 'G<script>ARBAGE nonsense\r\n\r\n');
    expect(refused.status).toBe(400);
    expect(jsonError(refused).code).toBe('malformed_request_line');
    expect(refused.body).not.toContain('script');
    loggedCodeOnly('HPE_INVALID_METHOD', 'script');
    await stillServing(held, answer);
  });

  it('a bad chunk size is a JSON 400 malformed_chunked_body, and nothing is stored', async () => {
    const { held, answer } = holdRequest();
    const refused = await rawExchange(
      port,
      'POST /api/webhooks/shopify/orders/create HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
        'Transfer-Encoding: chunked\r\n\r\nzz-secret-zz\r\n{"id":1}\r\n0\r\n\r\n',
    );
    expect(refused.status).toBe(400);
    expect(jsonError(refused).code).toBe('malformed_chunked_body');
    expect(refused.body).not.toContain('secret');
    loggedCodeOnly('HPE_INVALID_CHUNK_SIZE', 'zz-secret-zz');
    await stillServing(held, answer);
    expect(await gw.query('select 1 from webhook_events')).toHaveLength(0);
  });

  it('bytes sent after a refused request are never served: one answer, then the connection closes', async () => {
    const refused = await rawExchange(port, 'NOT HTTP AT ALL\r\n\r\n', [
      'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n',
      'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n',
    ]);
    expect(refused.status).toBe(400);
    expect(refused.raw.match(/HTTP\/1\.1 /g)).toHaveLength(1);
    expect(jsonError(refused).code).toBe('malformed_request_line');
  });

  it('headers that do not arrive within HEADERS_TIMEOUT_MS are a JSON 408 request_timeout', async () => {
    const slow = connect(port);
    let received = '';
    slow.setEncoding('utf8');
    slow.on('data', (chunk: string) => (received += chunk));
    slow.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    await new Promise((resolve) => slow.on('close', resolve));
    const timedOut = parseAnswer(received);
    expect(timedOut.status).toBe(408);
    expect(jsonError(timedOut)).toEqual({
      code: 'request_timeout',
      message: 'The request did not arrive in time: headers within 1500 ms, the whole request within 5000 ms',
    });
    const { held, answer } = holdRequest();
    await stillServing(held, answer);
  });

  /** webhook_gateway_http_refused_total by code, as a scraper reads it at GET /metrics. */
  async function refusedCounts(): Promise<Record<string, number>> {
    const res = await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${SECRETS.ops}` } });
    expect(res.status).toBe(200);
    const lines = [...(await res.text()).matchAll(/^webhook_gateway_http_refused_total\{code="([a-z_]+)"\} (\d+)$/gm)];
    return Object.fromEntries(lines.map(([, code, value]) => [code!, Number(value)]));
  }

  it('every refused or timed-out request counts once in webhook_gateway_http_refused_total, by its code', async () => {
    const before = await refusedCounts();
    const sent: Promise<RawAnswer>[] = [
      rawExchange(port, `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'q'.repeat(20_000)}\r\n\r\n`),
      rawExchange(port, `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'q'.repeat(20_000)}\r\n\r\n`),
      rawExchange(port, 'G<script>ARBAGE nonsense\r\n\r\n'),
      rawExchange(port, 'NOT HTTP AT ALL\r\n\r\n', ['GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n']),
      rawExchange(port, 'NOT HTTP AT ALL\r\n\r\n'),
      rawExchange(port, 'GET /healthz HTTP/1.1\r\nX-Probe: no-host\r\n\r\n'),
      rawExchange(port, 'GET /api\\events HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n'),
      // Half a request: answered 408 once HEADERS_TIMEOUT_MS has passed.
      rawExchange(port, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n'),
    ];
    const statuses = (await Promise.all(sent)).map((answer) => answer.status);
    expect(statuses).toEqual([431, 431, 400, 400, 400, 400, 400, 408]);
    // A request served normally and one the app itself refuses are not counted here.
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${gw.url}/api/events`)).status).toBe(401);
    const after = await refusedCounts();
    const delta = Object.fromEntries(
      Object.entries(after)
        .map(([code, value]) => [code, value - (before[code] ?? 0)])
        .filter(([, value]) => value !== 0),
    );
    expect(delta).toEqual({
      headers_too_large: 2,
      malformed_request_line: 3,
      invalid_host: 1,
      invalid_path: 1,
      request_timeout: 1,
    });
  });
});

describe('HTTP server timeouts', () => {
  it('HEADERS_TIMEOUT_MS over REQUEST_TIMEOUT_MS is a configuration error naming both, not a crash at listen', () => {
    expect(() => loadConfig({ HEADERS_TIMEOUT_MS: '40000' })).toThrow(
      'Invalid configuration: HEADERS_TIMEOUT_MS (40000) must not exceed REQUEST_TIMEOUT_MS (30000): the headers are part of the request',
    );
    expect(loadConfig({ HEADERS_TIMEOUT_MS: '30000' }).timeouts).toEqual({ headersMs: 30_000, requestMs: 30_000 });
  });

  it('MAX_BODY_BYTES over 256 MiB is a configuration error; 256 MiB itself is accepted', () => {
    expect(() => loadConfig({ MAX_BODY_BYTES: String(256 * 1024 * 1024 + 1) })).toThrow(
      'MAX_BODY_BYTES: must be at most 268435456 (256 MiB): a larger body cannot be stored',
    );
    expect(loadConfig({ MAX_BODY_BYTES: String(256 * 1024 * 1024) }).maxBodyBytes).toBe(268_435_456);
  });
});
