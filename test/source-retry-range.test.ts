// A source's own retry.base_ms above its retry.max_ms (the max caps every delay, so the base was
// never used): refused in GATEWAY_CONFIG and through the API, naming both values; a source stored
// before that check still loads, with a warning, so an upgraded installation starts.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config/env';
import { loadKeyring } from '../src/control/crypto';
import { runMigrations } from '../src/db/migrate';
import { createTestDatabase, databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';

describe('a GATEWAY_CONFIG source whose retry.base_ms exceeds its retry.max_ms', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gw-retry-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let files = 0;
  const refusal = (retry: object, env: Record<string, string> = {}) => {
    const path = join(dir, `config-${(files += 1)}.json`);
    const source = { name: 'shop', provider: 'shopify', secrets: ['shpss_file_secret'], retry };
    writeFileSync(path, JSON.stringify({ sources: [source] }));
    try {
      loadConfig({ GATEWAY_CONFIG: path, ...env });
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as Error).message;
    }
    return undefined;
  };

  it('is refused at start-up, naming both values', () => {
    expect(refusal({ base_ms: 60_000, max_ms: 30_000 })).toBe(
      'Invalid GATEWAY_CONFIG: source "shop": retry.base_ms (60000) must not exceed retry.max_ms (30000): ' +
        'the first retry waits about base_ms and later ones grow up to max_ms; raise retry.max_ms or lower retry.base_ms',
    );
  });

  it('base_ms alone is compared with RETRY_MAX_MS, which the message names', () => {
    expect(refusal({ base_ms: 7_200_000 })).toBe(
      'Invalid GATEWAY_CONFIG: source "shop": retry.base_ms (7200000) must not exceed retry.max_ms ' +
        "(3600000, the gateway's RETRY_MAX_MS, as it is not set): the first retry waits about base_ms and " +
        'later ones grow up to max_ms; set retry.max_ms or lower retry.base_ms',
    );
    expect(refusal({ max_ms: 1000 }, { RETRY_BASE_MS: '500', RETRY_MAX_MS: '600' })).toBeUndefined();
    expect(refusal({ max_ms: 400 }, { RETRY_BASE_MS: '500', RETRY_MAX_MS: '600' })).toMatch(
      /retry\.base_ms \(500, the gateway's RETRY_BASE_MS, as it is not set\) must not exceed retry\.max_ms \(400\).*set a lower retry\.base_ms$/,
    );
  });

  it('equal values, or base_ms alone within RETRY_MAX_MS, are accepted', () => {
    expect(refusal({ base_ms: 30_000, max_ms: 30_000 })).toBeUndefined();
    expect(refusal({ base_ms: 60_000 })).toBeUndefined();
  });
});

describe.each(databaseKinds())('a runtime source whose retry.base_ms exceeds its retry.max_ms (%s)', (kind) => {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });
  const api = async (path: string, method: string, body: unknown) => {
    const res = await fetch(`${gw!.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${SECRETS.ops}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as { error: { code: string; message: string } } };
  };

  it('is refused when created or updated through the API, naming both values', async () => {
    // The test gateway's RETRY_BASE_MS is 10 and RETRY_MAX_MS 100.
    gw = await startTestGateway(kind, {
      control: { keyring: loadKeyring({ key: randomBytes(32).toString('base64') }), refreshMs: 5000 },
    });
    const created = await api('/api/sources', 'POST', {
      name: 'acme',
      provider: 'shopify',
      retry: { base_ms: 5000, max_ms: 1000 },
    });
    expect(created).toEqual({
      status: 400,
      body: {
        error: expect.objectContaining({
          code: 'invalid_source',
          message: expect.stringMatching(/^retry\.base_ms \(5000\) must not exceed retry\.max_ms \(1000\): /),
        }),
      },
    });
    const onlyBase = await api('/api/sources', 'POST', { name: 'acme', provider: 'shopify', retry: { base_ms: 500 } });
    expect(onlyBase.body.error.message).toMatch(
      /^retry\.base_ms \(500\) must not exceed retry\.max_ms \(100, the gateway's RETRY_MAX_MS, as it is not set\)/,
    );
    expect((await api('/api/sources', 'POST', { name: 'acme', provider: 'shopify' })).status).toBe(201);
    const patched = await api('/api/sources/acme', 'PATCH', { retry: { base_ms: 50, max_ms: 20 } });
    expect(patched.status).toBe(400);
    expect(patched.body.error.message).toMatch(/^retry\.base_ms \(50\) must not exceed retry\.max_ms \(20\): /);
    expect((await api('/api/sources/acme', 'PATCH', { retry: { base_ms: 20, max_ms: 50 } })).status).toBe(200);
  }, 120_000);

  it('one stored before the check still loads at start-up, with a warning', async () => {
    const testDb = await createTestDatabase(kind);
    const database = await testDb.open();
    await runMigrations(database, testDb.url);
    await database.rows(
      sql.raw(
        `insert into sources (name, provider, spec, version) values ('legacy', 'shopify', '{"retry":{"base_ms":5000,"max_ms":1000}}', 1)`,
      ),
    );
    try {
      gw = await startTestGateway(kind, {}, { testDb });
      const res = await fetch(`${gw.url}/api/sources/legacy`, { headers: { authorization: `Bearer ${SECRETS.ops}` } });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ name: 'legacy', managed_by: 'database' });
      const warning = await waitFor(() =>
        gw!.logs.map((line) => JSON.parse(line)).find((entry) => entry.source === 'legacy' && entry.level === 40),
      );
      expect(warning.problem).toMatch(/^retry\.base_ms \(5000\) must not exceed retry\.max_ms \(1000\)/);
      expect(gw.logs.join('')).not.toContain('is not served');
    } finally {
      await gw?.stop();
      gw = undefined;
      await testDb.drop();
    }
  }, 120_000);
});
