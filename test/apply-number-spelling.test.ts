import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKeyring } from '../src/control/crypto';
import { numberValueKey } from '../src/json/exact-values';
import { COMPILED_CLI, runCli } from './helpers/cli';
import { SECRETS, startTestGateway, type TestGateway } from './helpers/gateway';

// PostgreSQL's jsonb keeps a filter's numbers as numeric and writes them back in its own spelling
// (8.20982911946154508e17 comes back as 820982911946154508): `apply -f` compares numbers by value,
// so a file that spells them otherwise is not planned as a change on every run.

const DEST_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

describe('apply: a filter number compared by value, whatever its spelling', () => {
  let gw: TestGateway;
  let dir: string;
  const cli = (args: string[]) =>
    runCli(
      [...args, '--url', gw.url, '--token', SECRETS.ops],
      { SHOP_SECRET: 'shop-secret-0123456789' },
      60_000,
      COMPILED_CLI,
    );

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'apply-number-spelling-'));
    gw = await startTestGateway('pglite', {
      control: { keyring: loadKeyring({ key: randomBytes(32).toString('base64') }), refreshMs: 60_000 },
    });
  }, 120_000);
  afterAll(async () => {
    await gw?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const fileWith = (name: string, ext: 'json' | 'yaml', filter: string) => {
    const path = join(dir, `${name}.${ext}`);
    const text =
      ext === 'json'
        ? `{"sources": [{"name": "shop-${name}", "provider": "shopify", "secrets": ["env:SHOP_SECRET"]}],
            "destinations": [{"name": "erp-${name}", "url": "https://erp.example.test/hooks", "secret": "${DEST_SECRET}",
              "sources": ["shop-${name}"], "filter": ${filter}}]}`
        : `sources:\n  - { name: shop-${name}, provider: shopify, secrets: [env:SHOP_SECRET] }\ndestinations:\n  - { name: erp-${name}, url: "https://erp.example.test/hooks", secret: "${DEST_SECRET}", sources: [shop-${name}], filter: ${filter} }\n`;
    writeFileSync(path, text);
    return path;
  };

  it.each([
    ['json-exp', 'json', '{"body": {"id": 8.20982911946154508e17}}'],
    ['json-exp-upper', 'json', '{"body": {"id": {"$in": [82098291194615450.8E1, 1e21, 1.10]}}}'],
    ['json-trailing-zero', 'json', '{"body": {"id": 820982911946154508.0}}'],
    ['yaml', 'yaml', '{ body: { id: { $in: [820982911946154508, 1e21, 1.10] } } }'],
  ] as const)(
    '%s: the second apply plans no change',
    async (name, ext, filter) => {
      const file = fileWith(name, ext, filter);
      const first = await cli(['apply', '-f', file]);
      expect(first.code, first.stderr).toBe(0);
      expect(first.stdout).toContain(`+ create destination erp-${name}`);
      const second = await cli(['apply', '-f', file]);
      expect(second.code, second.stderr).toBe(0);
      expect(second.stdout).toContain('No changes: the destinations match the file.');
    },
    120_000,
  );

  it('a changed digit is still a change, applied with its digits', async () => {
    const first = await cli(['apply', '-f', fileWith('digit', 'json', '{"body": {"id": 8.20982911946154508e17}}')]);
    expect(first.stdout).toContain('+ create destination erp-digit');
    // 820982911946154508 and ...509 are the same double: only their digits tell them apart.
    const changed = await cli(['apply', '-f', fileWith('digit', 'json', '{"body": {"id": 8.20982911946154509e17}}')]);
    expect(changed.stdout).toContain('~ update destination erp-digit: filter');
    // Read as text: JSON.parse would print both as 820982911946154500.
    const stored = await fetch(`${gw.url}/api/destinations/erp-digit`, {
      headers: { authorization: `Bearer ${SECRETS.ops}` },
    });
    expect(await stored.text()).toContain('{"body":{"id":820982911946154509}}');
    expect(
      (await cli(['apply', '-f', fileWith('digit', 'json', '{"body": {"id": 820982911946154509}}')])).stdout,
    ).toContain('No changes: the destinations match the file.');
  }, 120_000);
});

describe('numberValueKey', () => {
  it.each([
    ['1e21', '1000000000000000000000', true],
    ['10E20', '1e+21', true],
    ['1.10', '1.1', true],
    ['8.20982911946154508e17', '820982911946154508.0', true],
    ['-0.0015', '-1.5e-3', true],
    ['-0', '0.000', true],
    ['820982911946154508', '820982911946154509', false],
    ['1e21', '1.0000000000000000000001e21', false],
    ['-1', '1', false],
  ])('%s and %s are the same value: %s', (a, b, same) => {
    expect(numberValueKey(a) === numberValueKey(b)).toBe(same);
  });
});
