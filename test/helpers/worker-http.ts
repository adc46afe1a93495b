import { expect } from 'vitest';
import { waitFor } from './gateway';

// What the WORKER_HTTP_PORT tests (worker-http*.test.ts) send and check on a worker's own listener.

export const METRICS_TOKEN = 'worker-http-metrics-token';
export const OPS_TOKEN = 'worker-http-ops-token-0123456789';
export const SECRET = 'worker-http-shopify-secret';

export const get = (url: string, token?: string) =>
  fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: AbortSignal.timeout(10_000) });

/** The worker's count of completed attempts for `source`, read from its /metrics (0 before the first). */
export async function completedAttempts(origin: string, source: string): Promise<number> {
  const text = await (await get(`${origin}/metrics`, METRICS_TOKEN)).text();
  const line = new RegExp(
    `^webhook_gateway_processing_attempts_total\\{source="${source}",outcome="completed"\\} (\\d+)$`,
    'm',
  );
  return Number(line.exec(text)?.[1] ?? 0);
}

/** Waits until the worker's /metrics counts the one attempt it ran for shopify. */
export const waitForOneAttempt = (origin: string) =>
  waitFor(async () => (await completedAttempts(origin, 'shopify')) === 1, 30_000, 'the attempt in /metrics');

/** Checks the probe routes and the token rule of /metrics, as on the web process. */
export async function expectProbeRoutes(origin: string) {
  const health = await get(`${origin}/healthz`);
  expect(health.status).toBe(200);
  expect(await health.json()).toEqual({ status: 'ok' });
  const ready = await get(`${origin}/readyz`);
  expect(await ready.json()).toEqual({ status: 'ready', checks: { database: 'ok', migrations: 'ok', worker: 'ok' } });
  expect(ready.status).toBe(200);

  const anonymous = await get(`${origin}/metrics`);
  expect(anonymous.status).toBe(401);
  expect(((await anonymous.json()) as { error: { code: string } }).error.code).toBe('missing_token');
  const wrong = await get(`${origin}/metrics`, 'not-a-token');
  expect(wrong.status).toBe(401);
  expect(((await wrong.json()) as { error: { code: string } }).error.code).toBe('invalid_token');
  for (const token of [METRICS_TOKEN, OPS_TOKEN]) {
    const metrics = await get(`${origin}/metrics`, token);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await metrics.text()).toContain('webhook_gateway_processing_attempts_total');
  }
}

/** Anything but the three routes is a JSON 404, whatever the token. */
export async function expectNothingElse(origin: string) {
  for (const [path, init] of [
    ['/api/events', { headers: { authorization: `Bearer ${OPS_TOKEN}` } }],
    ['/ui', {}],
    ['/api/docs', {}],
    ['/api/webhooks/shopify/orders/create', { method: 'POST', body: '{}' }],
  ] as const) {
    const res = await fetch(`${origin}${path}`, init);
    expect(res.status, path).toBe(404);
    expect(await res.json(), path).toEqual({ error: { code: 'not_found', message: expect.stringContaining(path) } });
  }
}
