import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKeyring } from '../src/control/crypto';
import { databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, type TestGateway } from './helpers/gateway';

// Every state-changing action on a runtime source or destination — not only the edit — takes
// If-Match: an operator acting on what the UI showed a minute ago, after another one changed the
// item, is refused with 412 version_mismatch and nothing is written. Each case: read the ETag,
// someone else changes the item, the action is sent with the read ETag (refused, the item as the
// other left it), then with the current one (done: the refusal was the version, not the request).

const auth = (token: string) => ({ authorization: `Bearer ${token}`, 'content-type': 'application/json' });

/** An action: method, path and (for POSTs with options) body. */
type Action = [method: string, path: string, body?: unknown];

interface Answer {
  status: number;
  etag: string | null;
  json: any;
}

describe.each(databaseKinds())('a stale If-Match on each source and destination action (%s)', (kind) => {
  let gw: TestGateway;
  let operator: string;
  const call = async (
    method: string,
    path: string,
    options: { body?: unknown; ifMatch?: string; token?: string } = {},
  ): Promise<Answer> => {
    const headers = {
      ...auth(options.token ?? SECRETS.ops),
      ...(options.ifMatch ? { 'if-match': options.ifMatch } : {}),
    };
    const response = await fetch(`${gw.url}${path}`, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
    const text = await response.text();
    return { status: response.status, etag: response.headers.get('etag'), json: text ? JSON.parse(text) : undefined };
  };
  /** What an action may change, without the clock-driven fields (ages, health). */
  const sourceState = (s: any) => ({
    version: s.version,
    paused: s.paused,
    spec: s.spec,
    secrets: s.secrets.map((x: any) => [x.id, x.fingerprint, x.not_after]),
  });
  const destinationState = (d: any) => ({
    version: d.version,
    paused: d.paused,
    fingerprint: d.fingerprint,
    timeout_ms: d.timeout_ms,
  });

  beforeAll(async () => {
    gw = await startTestGateway(
      kind,
      { control: { keyring: loadKeyring({ key: randomBytes(32).toString('base64') }), refreshMs: 60_000 } },
      { role: 'web' },
    );
    const created = await call('POST', '/api/tokens', { body: { name: 'if-match-operator', role: 'operator' } });
    expect(created.status).toBe(201);
    operator = created.json.token;
  }, 120_000);
  afterAll(async () => {
    await gw?.stop();
  });

  const sourceActions: Record<string, (name: string, shown: any) => Action> = {
    'rotate-secret': (name: string) => ['POST', `/api/sources/${name}/rotate-secret`, { overlap_seconds: 60 }],
    'revoke-secret': (name: string, s: any) => ['DELETE', `/api/sources/${name}/secrets/${s.secrets[0].id}`],
    pause: (name: string) => ['POST', `/api/sources/${name}/pause`],
    resume: (name: string) => ['POST', `/api/sources/${name}/resume`],
    delete: (name: string) => ['DELETE', `/api/sources/${name}`],
  };

  it.each(Object.keys(sourceActions))('source %s: 412 version_mismatch, the source unchanged', async (action) => {
    const name = `src-${action}`;
    expect((await call('POST', '/api/sources', { body: { name, provider: 'shopify' } })).status).toBe(201);
    if (action === 'resume') expect((await call('POST', `/api/sources/${name}/pause`)).status).toBe(200);
    if (action === 'revoke-secret')
      expect(
        (await call('POST', `/api/sources/${name}/rotate-secret`, { body: { overlap_seconds: 600 } })).status,
      ).toBe(200);
    const shown = await call('GET', `/api/sources/${name}`);
    // Someone else changes the source after this read.
    expect((await call('PATCH', `/api/sources/${name}`, { body: { rate_limit: { per_second: 7 } } })).status).toBe(200);
    const before = await call('GET', `/api/sources/${name}`);

    // Pause and resume are an operator's: sent with an operator token, as the UI of one would.
    const token = action === 'pause' || action === 'resume' ? operator : SECRETS.ops;
    const [method, path, body] = sourceActions[action]!(name, shown.json);
    const stale = await call(method, path, { body, ifMatch: shown.etag!, token });
    expect([stale.status, stale.json.error.code]).toEqual([412, 'version_mismatch']);
    expect(stale.json.error.message).toContain(
      `Source "${name}" changed since the version you sent in If-Match; it is now version ${before.json.version}`,
    );
    const after = await call('GET', `/api/sources/${name}`);
    expect(sourceState(after.json)).toEqual(sourceState(before.json));

    const fresh = await call(method, path, { body, ifMatch: after.etag!, token });
    expect(fresh.status, JSON.stringify(fresh.json)).toBe(200);
  });

  const destinationActions: Record<string, (name: string) => Action> = {
    update: (name: string) => ['PATCH', `/api/destinations/${name}`, { timeout_ms: 4000 }],
    'rotate-secret': (name: string) => ['POST', `/api/destinations/${name}/rotate-secret`, {}],
    pause: (name: string) => ['POST', `/api/destinations/${name}/pause`],
    resume: (name: string) => ['POST', `/api/destinations/${name}/resume`],
    delete: (name: string) => ['DELETE', `/api/destinations/${name}`],
  };

  it.each(Object.keys(destinationActions))(
    'destination %s: 412 version_mismatch, the destination unchanged',
    async (action) => {
      const name = `dst-${action}`;
      expect(
        (await call('POST', '/api/destinations', { body: { name, url: 'https://example.test/hooks', sources: [] } }))
          .status,
      ).toBe(201);
      if (action === 'resume') expect((await call('POST', `/api/destinations/${name}/pause`)).status).toBe(200);
      const shown = await call('GET', `/api/destinations/${name}`);
      expect((await call('PATCH', `/api/destinations/${name}`, { body: { timeout_ms: 3000 } })).status).toBe(200);
      const before = await call('GET', `/api/destinations/${name}`);

      const token = action === 'pause' || action === 'resume' ? operator : SECRETS.ops;
      const [method, path, body] = destinationActions[action]!(name);
      const stale = await call(method, path, { body, ifMatch: shown.etag!, token });
      expect([stale.status, stale.json.error.code]).toEqual([412, 'version_mismatch']);
      const after = await call('GET', `/api/destinations/${name}`);
      expect(destinationState(after.json)).toEqual(destinationState(before.json));

      const fresh = await call(method, path, { body, ifMatch: after.etag!, token });
      expect(fresh.status, JSON.stringify(fresh.json)).toBe(200);
    },
  );
});
