import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKeyring } from '../src/control/crypto';
import { runCli } from './helpers/cli';
import { A_SECRET, CASES, ZOD_DEFAULTS } from './helpers/control-error-cases';
import { databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, type TestGateway } from './helpers/gateway';

// Every control-plane write refuses bad input with 400, its code, and a message that names the
// field, says what is wrong with the limit or the allowed values, and leaves nothing written.
// Zod's own defaults ("Too big: expected array to have <=100 items", "Invalid input: expected
// string, received undefined", "Unrecognized key: \"x\"") answered these before.

describe.each(databaseKinds())('control-plane errors (%s)', (kind) => {
  let gw: TestGateway;
  let dir = '';
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${gw.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${SECRETS.ops}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return {
      status: res.status,
      json: (await res.json()) as { error?: { code: string; message: string } } & Record<string, unknown>,
    };
  };
  const names = async (path: string, key: string) =>
    ((await api('GET', path)).json[key] as { name: string }[]).map((item) => item.name).sort();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'control-errors-'));
    gw = await startTestGateway(kind, {
      control: { keyring: loadKeyring({ key: randomBytes(32).toString('base64') }), refreshMs: 5000 },
    });
    expect((await api('POST', '/api/sources', { name: 'acme', provider: 'shopify' })).status).toBe(201);
  }, 120_000);
  afterAll(async () => {
    await gw?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('every bad write is a 400 that names the field, the limit or the allowed values, and writes nothing', async () => {
    const before = {
      sources: await names('/api/sources', 'sources'),
      destinations: await names('/api/destinations', 'destinations'),
      tokens: await names('/api/tokens', 'tokens'),
      rules: await names('/api/alerts/rules', 'rules'),
      channels: await names('/api/alerts/channels', 'channels'),
      acme: (await api('GET', '/api/sources/acme')).json.version,
    };
    const wrong: string[] = [];
    for (const [method, path, body, status, code, message] of CASES) {
      const answer = await api(method, path, body);
      const error = answer.json.error;
      const expected = typeof message === 'string' ? error?.message === message : message.test(error?.message ?? '');
      if (answer.status !== status || error?.code !== code || !expected || ZOD_DEFAULTS.test(error.message))
        wrong.push(
          `${method} ${path} ${JSON.stringify(body).slice(0, 80)} -> ${answer.status} ${JSON.stringify(error)}`,
        );
      expect(JSON.stringify(answer.json)).not.toContain(A_SECRET);
    }
    expect(wrong).toEqual([]);
    expect({
      sources: await names('/api/sources', 'sources'),
      destinations: await names('/api/destinations', 'destinations'),
      tokens: await names('/api/tokens', 'tokens'),
      rules: await names('/api/alerts/rules', 'rules'),
      channels: await names('/api/alerts/channels', 'channels'),
      acme: (await api('GET', '/api/sources/acme')).json.version,
    }).toEqual(before);
  }, 60_000);

  it('apply -f with a bad file names the entry and the limit, exits 2, and changes nothing', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      [
        'sources:',
        '  - { name: good, provider: shopify, secrets: [env:GOOD_SECRET] }',
        '  - { name: billing, provider: shopify, secrets: [env:GOOD_SECRET], retry: { max_attempts: 0 }, tolerence: 5 }',
      ].join('\n') + '\n',
    );
    const run = await runCli(
      ['apply', '-f', file, '--url', gw.url, '--token', SECRETS.ops],
      { GOOD_SECRET: A_SECRET },
      60_000,
    );
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toContain('sources[1].retry.max_attempts (source "billing"): must be at least 1');
    expect(run.stderr).toMatch(
      /sources\[1\] \(source "billing"\): unknown key "tolerence"; the keys allowed here are /,
    );
    expect(run.stderr).not.toMatch(ZOD_DEFAULTS);
    expect(run.stderr + run.stdout).not.toContain(A_SECRET);
    expect(await names('/api/sources', 'sources')).not.toContain('good');
  }, 90_000);
});
