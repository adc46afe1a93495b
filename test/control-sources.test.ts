import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKeyring } from '../src/control/crypto';
import { rekeySecrets } from '../src/control/rekey';
import type { Change } from '../src/control/service';
import { databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { post, shopifyHeaders } from './helpers/signers';

const MASTER_KEY = randomBytes(32).toString('base64');
/** The answer, with its JSON body typed loosely (the test reads what it asserts). */
const answer = async (pending: Promise<Response>) =>
  (await pending) as Omit<Response, 'json'> & { json(): Promise<any> };
const auth = { authorization: `Bearer ${SECRETS.ops}`, 'content-type': 'application/json' };

describe.each(databaseKinds())('runtime sources (%s)', (kind) => {
  let gw: TestGateway;
  const api = (path: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}) =>
    answer(
      fetch(`${gw.url}${path}`, {
        method: init.method ?? 'GET',
        headers: { ...auth, ...init.headers },
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
      }),
    );
  let n = 0;
  const send = (name: string, secret: string) => {
    const body = JSON.stringify({ id: ++n });
    return post(`${gw.url}/api/webhooks/${name}`, body, shopifyHeaders(secret, body, `evt-${n}`));
  };

  const audited: Change[] = [];
  beforeAll(async () => {
    gw = await startTestGateway(
      kind,
      { control: { keyring: loadKeyring({ key: MASTER_KEY }), refreshMs: 5000 } },
      { audit: async (entry) => void audited.push(entry) },
    );
  }, 120_000);
  afterAll(async () => {
    await gw?.stop();
  });

  it('creates a source, generates its secret once, and ingest verifies with it at once', async () => {
    const created = await api('/api/sources', { method: 'POST', body: { name: 'acme', provider: 'shopify' } });
    expect(created.status).toBe(201);
    const source = await created.json();
    expect(source.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(source).toMatchObject({
      name: 'acme',
      managed_by: 'database',
      paused: false,
      version: 1,
      path: '/api/webhooks/acme',
    });
    expect(created.headers.get('etag')).toBe('"1"');
    expect((await send('acme', source.secret)).status).toBe(200);
    expect((await send('acme', 'not-the-secret-at-all-000000')).status).toBe(401);

    const read = await (await api('/api/sources/acme')).json();
    expect(read.secret).toBeUndefined();
    expect(read.secrets).toHaveLength(1);
    expect(read.secrets[0].fingerprint).toMatch(/^[0-9a-f]{12}$/);
    // Stored encrypted: neither the secret nor its base64 appears in the row.
    const [row] = await gw.query<Record<string, unknown>>(
      "select encode(ciphertext, 'escape') as c, key_id from source_secrets",
    );
    expect(String(row!.c)).not.toContain(source.secret);
    expect(gw.logs.join('')).not.toContain(source.secret);
    // The audit hook hears the change, with fingerprints only.
    expect(audited.at(-1)).toMatchObject({
      action: 'source.create',
      source: 'acme',
      before: null,
      after: { name: 'acme' },
    });
    expect(JSON.stringify(audited)).not.toContain(source.secret);
  });

  it('documents the routes in the OpenAPI document', async () => {
    const doc = await (await api('/api/openapi.json')).json();
    for (const path of [
      '/api/sources',
      '/api/sources/{name}',
      '/api/sources/{name}/rotate-secret',
      '/api/sources/{name}/secrets/{id}',
      '/api/sources/{name}/pause',
    ]) {
      expect(Object.keys(doc.paths)).toContain(path);
    }
  });

  it('refuses bad input naming the field, and name clashes', async () => {
    const bad = await api('/api/sources', { method: 'POST', body: { name: 'x1', provider: 'nope' } });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.message).toMatch(/provider/);
    const badOption = await api('/api/sources', {
      method: 'POST',
      body: { name: 'x2', provider: 'shopify', rate_limit: { per_second: -1 } },
    });
    expect(badOption.status).toBe(400);
    expect((await badOption.json()).error.message).toMatch(/rate_limit/);
    expect((await api('/api/sources', { method: 'POST', body: { name: 'acme', provider: 'shopify' } })).status).toBe(
      409,
    );
    const file = await api('/api/sources', { method: 'POST', body: { name: 'shopify', provider: 'shopify' } });
    expect(file.status).toBe(409);
    const fileDelete = await api('/api/sources/shopify', { method: 'DELETE' });
    expect(fileDelete.status).toBe(409);
    // Says what works: `apply` refuses a file source's name too, so it is no way to change one.
    expect((await fileDelete.json()).error).toMatchObject({
      code: 'managed_by_file',
      message: expect.stringContaining('change it there and restart the gateway'),
    });
    expect((await api('/api/sources/x1')).status).toBe(404);
  });

  it('needs a matching If-Match version to change a source', async () => {
    const stale = await api('/api/sources/acme', {
      method: 'PATCH',
      body: { rate_limit: { per_second: 100 } },
      headers: { 'if-match': '"7"' },
    });
    expect(stale.status).toBe(412);
    const ok = await api('/api/sources/acme', {
      method: 'PATCH',
      body: { rate_limit: { per_second: 100 } },
      headers: { 'if-match': '"1"' },
    });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('etag')).toBe('"2"');
    expect((await ok.json()).spec).toEqual({ rate_limit: { per_second: 100 } });
  });

  it('accepts old and new secrets during the overlap, only the new one after, and revokes at once', async () => {
    const old = 'old-secret-for-acme-0123456789';
    await api('/api/sources', { method: 'POST', body: { name: 'rot', provider: 'shopify', secrets: [old] } });
    const rotated = await (
      await api('/api/sources/rot/rotate-secret', { method: 'POST', body: { overlap_seconds: 2 } })
    ).json();
    expect(rotated.secret).toBeTruthy();
    expect((await send('rot', old)).status).toBe(200);
    expect((await send('rot', rotated.secret)).status).toBe(200);
    await waitFor(async () => (await send('rot', old)).status === 401, 5000, 'old secret to expire');
    expect((await send('rot', rotated.secret)).status).toBe(200);
    const revoked = await api(`/api/sources/rot/secrets/${rotated.secret_id}`, { method: 'DELETE' });
    expect(revoked.status).toBe(200);
    expect((await send('rot', rotated.secret)).status).toBe(401);
  });

  it('keeps the not_after of a secret given at creation: past its end it no longer verifies', async () => {
    const ended = 'ended-secret-for-exp-0123456789';
    const current = 'current-secret-for-exp-0123456789';
    const created = await api('/api/sources', {
      method: 'POST',
      body: {
        name: 'exp',
        provider: 'shopify',
        secrets: [{ value: ended, not_after: '2020-01-01T00:00:00Z' }, current],
      },
    });
    expect(created.status).toBe(201);
    expect(
      (await created.json()).secrets.map((s: { not_after: string | null; expired: boolean }) => [
        s.not_after,
        s.expired,
      ]),
    ).toEqual([
      ['2020-01-01T00:00:00.000Z', true],
      [null, false],
    ]);
    expect((await send('exp', ended)).status).toBe(401);
    expect((await send('exp', current)).status).toBe(200);
  });

  it('refuses to revoke a secret with a stale If-Match, as every changing route does', async () => {
    const source = await (await api('/api/sources/exp')).json();
    const id = source.secrets[1].id;
    const stale = await api(`/api/sources/exp/secrets/${id}`, {
      method: 'DELETE',
      headers: { 'if-match': `"${source.version + 5}"` },
    });
    expect(stale.status).toBe(412);
    expect((await stale.json()).error.code).toBe('version_mismatch');
    expect((await send('exp', 'current-secret-for-exp-0123456789')).status).toBe(200);
    const ok = await api(`/api/sources/exp/secrets/${id}`, {
      method: 'DELETE',
      headers: { 'if-match': `"${source.version}"` },
    });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('etag')).toBe(`"${source.version + 1}"`);
    expect((await api(`/api/sources/exp/secrets/${id}`, { method: 'DELETE' })).status).toBe(404);
  });

  it("holds a paused source's events until it is resumed", async () => {
    const secret = 'pause-secret-0123456789abcdef';
    await api('/api/sources', { method: 'POST', body: { name: 'held', provider: 'shopify', secrets: [secret] } });
    expect((await api('/api/sources/held/pause', { method: 'POST' })).status).toBe(200);
    const accepted = (await send('held', secret)).json;
    expect(accepted.status).toBe('accepted');
    gw.gateway.worker.wake();
    await gw.gateway.worker.idle();
    const status = async () =>
      (await gw.query<{ status: string }>('select status from webhook_events where id = $1', [accepted.id]))[0]!.status;
    expect(await status()).toBe('received');
    expect((await (await api('/api/sources/held')).json()).on_hold).toBe(1);
    expect((await api('/api/sources/held/resume', { method: 'POST' })).status).toBe(200);
    await waitFor(async () => (await status()) === 'completed', 10_000, 'held event to be processed');
  });

  it('deletes a source: its URL is gone, its events stay', async () => {
    expect((await api('/api/sources/acme', { method: 'DELETE' })).status).toBe(200);
    expect((await send('acme', 'anything-0123456789abcdef')).status).toBe(404);
    const [row] = await gw.query<{ count: string | number }>(
      "select count(*) as count from webhook_events where source = 'acme'",
    );
    expect(Number(row!.count)).toBe(1);
  });

  // Last: the server answers before reading the body and closes that connection.
  it('bounds the body it reads', async () => {
    const huge = await api('/api/sources', {
      method: 'POST',
      body: { name: 'big', provider: 'shopify', pad: 'x'.repeat(300 * 1024) },
    });
    expect(huge.status).toBe(413);
  });
});

describe('without a master key', () => {
  it('refuses to store a secret and says how to make a key', async () => {
    const gw = await startTestGateway('pglite');
    try {
      const res = await answer(
        fetch(`${gw.url}/api/sources`, {
          method: 'POST',
          headers: auth,
          body: JSON.stringify({ name: 'nokey', provider: 'shopify' }),
        }),
      );
      expect(res.status).toBe(409);
      expect((await res.json()).error.message).toContain('openssl rand -base64 32');
    } finally {
      await gw.stop();
    }
  }, 120_000);
});

describe.each(databaseKinds())('master key rotation (%s)', (kind) => {
  it('re-encrypts every secret under the new key while the gateway keeps verifying', async () => {
    const oldKey = randomBytes(32).toString('base64');
    const newKey = randomBytes(32).toString('base64');
    const first = await startTestGateway(kind, { control: { keyring: loadKeyring({ key: oldKey }), refreshMs: 5000 } });
    const secret = 'rekey-secret-0123456789abcdef';
    const body = JSON.stringify({ rekey: true });
    const sendSigned = (url: string, id: string) =>
      post(`${url}/api/webhooks/rekeyed`, body, shopifyHeaders(secret, body, id));
    // Same database, the next deployment: new key current, old key previous.
    const second = await startTestGateway(
      kind,
      { control: { keyring: loadKeyring({ key: newKey, previous: oldKey }), refreshMs: 5000 } },
      { testDb: first.testDb },
    );
    try {
      const created = await fetch(`${first.url}/api/sources`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ name: 'rekeyed', provider: 'shopify', secrets: [secret] }),
      });
      expect(created.status).toBe(201);
      await waitFor(async () => (await sendSigned(second.url, 'k1')).status === 200, 5000, 'second instance to verify');
      // A destination's secret and headers are sealed too, and re-sealed with the sources' secrets.
      const destination = await fetch(`${first.url}/api/destinations`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({
          name: 'rekeyed-out',
          url: 'http://127.0.0.1:9/x',
          headers: { 'x-token': 'header-secret-value' },
        }),
      });
      expect(destination.status).toBe(201);
      const keyring = loadKeyring({ key: newKey, previous: oldKey })!;
      const result = await rekeySecrets(second.gateway.database, keyring);
      expect(result).toEqual({
        resealed: 1,
        current: 0,
        unreadable: [],
        destinations: { resealed: 1, current: 0, unreadable: [] },
      });
      const sealed = await second.query<{ key_id: string }>('select key_id from destinations');
      expect(sealed.map((r) => r.key_id)).toEqual([keyring.current.id]);
      const rows = await second.query<{ key_id: string }>('select key_id from source_secrets');
      expect(rows.map((r) => r.key_id)).toEqual([keyring.current.id]);
      expect((await sendSigned(second.url, 'k2')).status).toBe(200);
      expect(await rekeySecrets(second.gateway.database, keyring)).toEqual({
        resealed: 0,
        current: 1,
        unreadable: [],
        destinations: { resealed: 0, current: 1, unreadable: [] },
      });
      await waitFor(
        async () =>
          (
            (await (await fetch(`${second.url}/api/destinations/rekeyed-out`, { headers: auth })).json()) as {
              problem: unknown;
            }
          ).problem === null,
        5000,
        'the re-sealed destination to open',
      );
    } finally {
      await second.stop();
      await first.stop();
    }
  }, 120_000);
});
