import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config/env';
import { loadKeyring } from '../src/control/crypto';
import { databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, type TestGateway } from './helpers/gateway';
import { post, shopifyHeaders } from './helpers/signers';

// A request whose signature matches none of a source's secrets is checked against every one (an
// HMAC over the whole body each), so a source holds at most 10: in the file, on create, and after
// a rotation (the secrets it leaves valid, overlapping ones included).
const secrets = (count: number) => Array.from({ length: count }, (_, i) => `secret-number-${i}-${'x'.repeat(24)}`);

describe('a GATEWAY_CONFIG source with more than 10 secrets', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gw-secret-count-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const load = (count: number) => {
    const path = join(dir, `config-${count}.json`);
    writeFileSync(path, JSON.stringify({ sources: [{ name: 'shop', provider: 'shopify', secrets: secrets(count) }] }));
    return loadConfig({ GATEWAY_CONFIG: path });
  };

  it('stops the start naming the field and the limit; 10 are accepted', () => {
    expect(load(10).sources[0]!.secrets).toHaveLength(10);
    expect(() => load(11)).toThrow(ConfigError);
    expect(() => load(11)).toThrow(/sources\[0\]\.secrets \(source "shop"\): must list at most 10 secrets/);
  });
});

describe.each(databaseKinds())('runtime source secrets (%s)', (kind) => {
  let gw: TestGateway;
  const api = async (path: string, method = 'GET', body?: unknown) => {
    const res = await fetch(`${gw.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${SECRETS.ops}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as any };
  };
  const valid = async (name: string) => {
    const source = (await api(`/api/sources/${name}`)).body;
    const now = Date.now();
    return (source.secrets as { not_after: string | null }[]).filter(
      (s) => s.not_after === null || Date.parse(s.not_after) > now,
    ).length;
  };

  beforeAll(async () => {
    gw = await startTestGateway(kind, {
      control: { keyring: loadKeyring({ key: randomBytes(32).toString('base64') }), refreshMs: 5000 },
    });
  }, 120_000);
  afterAll(async () => {
    await gw?.stop();
  });

  it('refuses a create with 11 secrets, naming the limit, and creates nothing', async () => {
    const refused = await api('/api/sources', 'POST', { name: 'many', provider: 'shopify', secrets: secrets(11) });
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toMatch(/secrets: must list at most 10 secrets/);
    expect(JSON.stringify(refused.body)).not.toContain('secret-number');
    expect((await api('/api/sources/many')).status).toBe(404);
  });

  it('refuses the rotation that would leave 11 valid secrets, changes nothing; an overlap of 0 rotates again', async () => {
    const created = await api('/api/sources', 'POST', { name: 'rotated', provider: 'shopify', secrets: secrets(9) });
    expect(created.status).toBe(201);
    const tenth = await api('/api/sources/rotated/rotate-secret', 'POST', { overlap_seconds: 3600 });
    expect(tenth.status).toBe(200);
    expect(await valid('rotated')).toBe(10);
    const before = (await api('/api/sources/rotated')).body;

    const refused = await api('/api/sources/rotated/rotate-secret', 'POST', { overlap_seconds: 3600 });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('too_many_secrets');
    expect(refused.body.error.message).toMatch(/already has 10 valid secrets, the most it may hold is 10/);
    const after = (await api('/api/sources/rotated')).body;
    expect(after.version).toBe(before.version);
    expect(after.secrets).toEqual(before.secrets);

    // The secret of the refused rotation was never stored: the old ones still verify, it does not.
    const body = JSON.stringify({ id: 1 });
    expect((await post(`${gw.url}/api/webhooks/rotated`, body, shopifyHeaders(secrets(9)[0]!, body, 'a'))).status).toBe(
      200,
    );

    // An overlap of 0 ends the others at once: the rotation leaves one valid secret.
    const replaced = await api('/api/sources/rotated/rotate-secret', 'POST', { overlap_seconds: 0 });
    expect(replaced.status).toBe(200);
    expect(await valid('rotated')).toBe(1);
  });
});
