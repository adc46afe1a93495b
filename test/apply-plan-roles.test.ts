import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDACTED_URLS_NOTE } from '../src/control/destination-plan';
import { SPECS_WITHHELD_NOTE } from '../src/control/plan';
import { loadKeyring } from '../src/control/crypto';
import { runCli } from './helpers/cli';
import { databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, type TestGateway } from './helpers/gateway';

// `apply -f --dry-run` with a token below admin: the gateway shows it destination URLs with their
// query values redacted and sources without their spec, and the plan compared the file's whole
// values with those, reporting a change for every URL with a query string and every source
// setting. It now compares like with like and says so.

const QUERY_TOKEN = 'qtok-7d2f9a61c0b4e8';

describe.each(databaseKinds())('apply --dry-run by role on %s', (kind) => {
  let gw: TestGateway;
  let dir: string;
  let file: string;
  const tokens: Record<string, string> = {};
  const whsec = `whsec_${randomBytes(24).toString('base64')}`;
  const write = (path: string) =>
    writeFileSync(
      file,
      [
        'sources:',
        '  - name: planned-src',
        '    provider: shopify',
        '    secrets: [planned-source-secret-0123456789]',
        '    mask: [customer.email]',
        'destinations:',
        '  - name: planned-erp',
        `    url: http://127.0.0.1:9/${path}?token=${QUERY_TOKEN}&region=eu`,
        '    secret: env:ERP_SECRET',
        '    sources: [planned-src]',
      ].join('\n') + '\n',
    );
  const plan = async (role: string) => {
    const run = await runCli(
      ['apply', '-f', file, '--dry-run', '--url', gw.url, '--token', tokens[role]!],
      { ERP_SECRET: whsec },
      60_000,
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout + run.stderr).not.toContain(whsec);
    return run.stdout;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'apply-plan-roles-'));
    file = join(dir, 'gateway.yaml');
    gw = await startTestGateway(kind, {
      control: { keyring: loadKeyring({ key: randomBytes(32).toString('base64') }), refreshMs: 5000 },
    });
    tokens.admin = SECRETS.ops;
    for (const role of ['viewer', 'operator']) {
      const res = await fetch(`${gw.url}/api/tokens`, {
        method: 'POST',
        headers: { authorization: `Bearer ${SECRETS.ops}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: `planner-${role}`, role }),
      });
      expect(res.status).toBe(201);
      tokens[role] = ((await res.json()) as { token: string }).token;
    }
    write('hooks');
    const applied = await runCli(
      ['apply', '-f', file, '--url', gw.url, '--token', SECRETS.ops],
      { ERP_SECRET: whsec },
      60_000,
    );
    expect(applied.code, applied.stderr).toBe(0);
  }, 180_000);

  afterAll(async () => {
    await gw?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports no change to a viewer or an operator when nothing changed, and says what it compared', async () => {
    for (const role of ['viewer', 'operator']) {
      const out = await plan(role);
      expect(out, role).toContain('No changes: the sources match the file.');
      expect(out, role).toContain('No changes: the destinations match the file.');
      expect(out, role).toContain(REDACTED_URLS_NOTE);
      expect(out, role).toContain(SPECS_WITHHELD_NOTE);
      expect(out, role).not.toContain('~ update');
    }
  }, 120_000);

  it('still reports a change outside the redacted parts of the URL', async () => {
    write('moved');
    try {
      const out = await plan('viewer');
      expect(out).toContain('~ update destination planned-erp: url');
      expect(out).toContain('Destinations: 0 to create, 1 to change, 0 to delete.');
      expect(out).not.toContain(QUERY_TOKEN);
    } finally {
      write('hooks');
    }
  }, 120_000);

  it('compares whole URLs and settings for an admin, without the notes', async () => {
    const out = await plan('admin');
    expect(out).toContain('No changes: the destinations match the file.');
    expect(out).not.toContain(REDACTED_URLS_NOTE);
    expect(out).not.toContain(SPECS_WITHHELD_NOTE);
  }, 120_000);
});
