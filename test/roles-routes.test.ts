import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenStore } from '../src/store/tokens';
import { databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, type TestGateway } from './helpers/gateway';

/**
 * Every registered route × every kind of caller. The role each ops route needs is written here;
 * a route the app registers that is neither here nor public fails the test, so a new route cannot
 * ship without a role.
 */
const REQUIRED: Record<string, 'metrics' | 'viewer' | 'operator' | 'admin'> = {
  'GET /metrics': 'metrics',
  'GET /api/events': 'viewer',
  'GET /api/events/:id': 'viewer',
  'GET /api/conflicts': 'viewer',
  'GET /api/conflicts/:id': 'viewer',
  'GET /api/events/stream': 'viewer',
  'GET /api/v1/webhooks/stream': 'viewer',
  'GET /api/events/export': 'viewer',
  'GET /api/stats': 'viewer',
  'GET /api/stats/series': 'viewer',
  'GET /api/system-log': 'viewer',
  'GET /api/system-log/export': 'viewer',
  'GET /api/sps/runs': 'viewer',
  'GET /api/sps/runs/:id': 'viewer',
  'GET /api/sps/sources': 'viewer',
  'POST /api/events/:id/replay': 'operator',
  'POST /api/events/replay': 'operator',
  'POST /api/events/:id/skip': 'operator',
  'POST /api/sps/poll': 'operator',
  'GET /api/whoami': 'metrics',
  'GET /api/tokens': 'admin',
  'POST /api/tokens': 'admin',
  'DELETE /api/tokens/:name': 'admin',
  'GET /api/audit': 'admin',
  'GET /api/audit/export': 'admin',
  'GET /api/sources': 'viewer',
  'POST /api/sources': 'admin',
  'GET /api/sources/:name': 'viewer',
  'PATCH /api/sources/:name': 'admin',
  'DELETE /api/sources/:name': 'admin',
  'POST /api/sources/:name/rotate-secret': 'admin',
  'DELETE /api/sources/:name/secrets/:id': 'admin',
  'POST /api/sources/:name/pause': 'operator',
  'POST /api/sources/:name/resume': 'operator',
  'POST /api/sources/:name/test-event': 'admin',
  'GET /api/destinations': 'viewer',
  'POST /api/destinations': 'admin',
  'GET /api/destinations/:name': 'viewer',
  'PATCH /api/destinations/:name': 'admin',
  'DELETE /api/destinations/:name': 'admin',
  'POST /api/destinations/:name/rotate-secret': 'admin',
  'POST /api/destinations/:name/pause': 'operator',
  'POST /api/destinations/:name/resume': 'operator',
  'POST /api/destinations/:name/preview': 'operator',
  'GET /api/requests': 'viewer',
  'GET /api/requests/last': 'viewer',
  'GET /api/alerts': 'viewer',
  'GET /api/alerts/rules': 'viewer',
  'GET /api/alerts/rules/:id': 'viewer',
  'GET /api/alerts/channels': 'viewer',
  'GET /api/alerts/channels/:id': 'viewer',
  'POST /api/alerts/rules': 'admin',
  'PUT /api/alerts/rules/:id': 'admin',
  'DELETE /api/alerts/rules/:id': 'admin',
  'POST /api/alerts/channels': 'admin',
  'PUT /api/alerts/channels/:id': 'admin',
  'DELETE /api/alerts/channels/:id': 'admin',
};

/** Open by design: health, the UI shell and API reference (no data), and ingest (signed by providers). */
const PUBLIC = [
  /^\/healthz$/,
  /^\/readyz$/,
  /^\/ui(\/|$)/,
  /^\/api\/docs(\/|$)/,
  /^\/api\/openapi\.json$/,
  /^\/api\/webhooks\//,
  /^\/api\/keycloak\/events$/,
];

const RANK = { metrics: 0, viewer: 1, operator: 2, admin: 3 } as const;
type Caller = {
  name: string;
  token?: string;
  role?: keyof typeof RANK;
  refused?: 'missing_token' | 'invalid_token' | 'token_expired';
};

describe.each(databaseKinds())('every ops route checks its role on %s', (kind) => {
  let gw: TestGateway;
  const callers: Caller[] = [];

  const call = (method: string, path: string, token?: string) =>
    fetch(`${gw.url}${path}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' },
      body: method === 'GET' ? undefined : '{}',
    });

  beforeAll(async () => {
    gw = await startTestGateway(kind, { metricsTokens: ['metrics-token-for-tests'] });
    const create = async (name: string, role: string) => {
      const created = await fetch(`${gw.url}/api/tokens`, {
        method: 'POST',
        headers: { authorization: `Bearer ${SECRETS.ops}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name, role }),
      });
      expect(created.status).toBe(201);
      return ((await created.json()) as { token: string }).token;
    };
    for (const role of ['viewer', 'operator', 'admin', 'metrics'] as const)
      callers.push({ name: `${role} token`, token: await create(`walk-${role}`, role), role });
    callers.push({ name: 'OPS_API_TOKEN (bootstrap)', token: SECRETS.ops, role: 'admin' });
    callers.push({ name: 'METRICS_TOKEN', token: 'metrics-token-for-tests', role: 'metrics' });
    callers.push({ name: 'no token', refused: 'missing_token' });
    callers.push({ name: 'junk token', token: 'nope', refused: 'invalid_token' });
    callers.push({
      name: 'unknown well-formed token',
      token: `gwt_${randomBytes(32).toString('base64url')}`,
      refused: 'invalid_token',
    });
    const revoked = await create('walk-revoked', 'admin');
    expect((await call('DELETE', '/api/tokens/walk-revoked', SECRETS.ops)).status).toBe(200);
    callers.push({ name: 'revoked admin token', token: revoked, refused: 'invalid_token' });
    const expired = await createTokenStore(gw.gateway.database).create({
      name: 'walk-expired',
      role: 'admin',
      expiresAt: new Date(Date.now() - 1000),
    });
    if (expired.status !== 'created') throw new Error('expired token not created');
    callers.push({ name: 'expired admin token', token: expired.token, refused: 'token_expired' });
  }, 300_000);

  afterAll(async () => {
    await gw?.stop();
  });

  it('has a role for every registered route that is not public', () => {
    const routes = new Set(gw.gateway.app.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method} ${r.path}`));
    const gated = [...routes].filter((key) => !PUBLIC.some((open) => open.test(key.split(' ')[1]!)));
    expect(gated.sort()).toEqual(Object.keys(REQUIRED).sort());
  });

  it('describes the token, audit, system-log and export endpoints in the OpenAPI document', async () => {
    const doc = (await (await fetch(`${gw.url}/api/openapi.json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    for (const path of [
      '/api/tokens',
      '/api/tokens/{name}',
      '/api/audit',
      '/api/audit/export',
      '/api/events/export',
      '/api/system-log',
      '/api/system-log/export',
    ]) {
      expect(doc.paths[path], path).toBeDefined();
    }
    expect(Object.keys(doc.paths['/api/tokens']!).sort()).toEqual(['get', 'post']);
    expect(doc.paths['/api/tokens/{name}']).toHaveProperty('delete');
  });

  it('answers 401, 403 or lets through as each role allows', async () => {
    // The revocation must have reached this instance's token cache (≤ 1 s).
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const failures: string[] = [];
    for (const [key, required] of Object.entries(REQUIRED)) {
      const [method, pattern] = key.split(' ') as [string, string];
      const path = pattern.replace(':id', '999999').replace(':name', 'nobody');
      for (const caller of callers) {
        const res = await call(method, path, caller.token);
        const text = res.headers.get('content-type')?.includes('event-stream')
          ? (await res.body?.cancel(), '')
          : await res.text();
        const expected = caller.refused
          ? 401
          : RANK[caller.role!] >= RANK[required] && !(required !== 'metrics' && caller.role === 'metrics')
            ? 'allowed'
            : 403;
        const ok =
          expected === 'allowed'
            ? res.status !== 401 && res.status !== 403 && res.status < 500
            : res.status === expected;
        if (!ok)
          failures.push(`${key} as ${caller.name}: expected ${expected}, got ${res.status} ${text.slice(0, 120)}`);
        if (caller.refused && res.status === 401) expect(JSON.parse(text).error.code).toBe(caller.refused);
      }
    }
    expect(failures).toEqual([]);
  }, 300_000);
});
