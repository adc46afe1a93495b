import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';

// Security review #12.13: the HTTP server's own limits, and the scraper's read-only token.

const METRICS_TOKEN = 'metrics-scraper-token';

/** A connection that made one request (so the server has accepted it) and now holds a half-sent one. */
async function holdConnection(port: number): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.once('data', () => resolve());
    socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
  });
  socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
  return socket;
}

/** What a fresh connection gets for one request: the response text, or '' when closed unanswered. */
function oneRequest(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    socket.on('data', (d) => (received += d));
    socket.on('error', () => {});
    socket.on('close', () => resolve(received));
    socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  });
}

describe('HTTP server limits', () => {
  let gw: TestGateway;
  let port: number;
  const held: net.Socket[] = [];
  beforeAll(async () => {
    gw = await startTestGateway(
      'pglite',
      { maxConnections: 5, timeouts: { headersMs: 20_000, requestMs: 30_000 }, metricsTokens: [METRICS_TOKEN] },
      { role: 'web' },
    );
    port = Number(new URL(gw.url).port);
  });
  afterAll(async () => {
    held.forEach((s) => s.destroy());
    await gw?.stop();
  });

  it('refuses connections beyond MAX_CONNECTIONS and serves again once one closes', async () => {
    for (let i = 0; i < 5; i++) held.push(await holdConnection(port));
    expect(await oneRequest(port)).toBe('');
    held.shift()!.destroy();
    const answer = await waitFor(async () => (await oneRequest(port)) || undefined, 10_000, 'a free connection slot');
    expect(answer).toMatch(/^HTTP\/1\.1 200/);
    held.forEach((s) => s.destroy());
    held.length = 0;
    const metrics = await waitFor(
      async () => {
        const res = await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${SECRETS.ops}` } }).catch(
          () => undefined,
        );
        return res?.ok ? res.text() : undefined;
      },
      10_000,
      'metrics',
    );
    expect(metrics).toMatch(/webhook_gateway_connections_dropped_total [1-9]/);
  });

  it('METRICS_TOKEN reads /metrics and nothing else; the ops token still reads /metrics', async () => {
    const as = (token: string, path: string, init: RequestInit = {}) =>
      fetch(`${gw.url}${path}`, {
        ...init,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      });
    const metrics = await as(METRICS_TOKEN, '/metrics');
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('webhook_gateway_requests_total');
    expect((await as(SECRETS.ops, '/metrics')).status).toBe(200);
    for (const [path, init] of [
      ['/api/events', {}],
      ['/api/events/1', {}],
      ['/api/events/1/replay', { method: 'POST' }],
      ['/api/events/replay', { method: 'POST', body: '{"dry_run":false}' }],
      ['/api/stats', {}],
      ['/api/stats/series', {}],
      ['/api/events/stream', {}],
      ['/api/sps/runs', {}],
    ] as const) {
      // A known token whose role (metrics) does not reach the route: 403, not 401 (docs/security.md, roles).
      const res = await as(METRICS_TOKEN, path, init);
      expect(res.status, path).toBe(403);
      expect(((await res.json()) as { error: { code: string } }).error.code, path).toBe('forbidden');
    }
    expect((await as('not-a-token', '/metrics')).status).toBe(401);
  });
});
