import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { packArchive, readArchive } from '../src/db/pgdata-archive';
import { restorePgdataTemplate, templateFileName } from '../src/db/pgdata-template';
import { freePort, waitUntilHealthy } from './helpers/process';
import { post, shopifyHeaders } from './helpers/signers';
import { ROOT, killAllStarted, startBuilt } from './helpers/started-process';

// A first start on a new DATA_DIR unpacks the initdb output `npm run build` made
// (dist/pgdata-template-<PGlite version>.tar.gz) instead of running PGlite's initdb: 5–6 s of CPU
// saved on the start a user meets first (docs/performance.md, *Start time*).
vi.setConfig({ testTimeout: 240_000 });
const dir = mkdtempSync(join(tmpdir(), 'gw-pgdata-template-'));
afterEach(killAllStarted);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const TEMPLATE = join(ROOT, 'dist', templateFileName());
const SECRET = 'pgdata-template-test-secret';

/** One file's bytes out of an archive. */
async function fileInArchive(archive: string, wanted: string): Promise<Buffer> {
  const pieces: Buffer[] = [];
  let current = '';
  await readArchive(archive, {
    entry: ({ path }) => (current = path),
    data: (p) => current === wanted && pieces.push(Buffer.from(p)),
  });
  return Buffer.concat(pieces);
}

/** initdb gives every cluster its own system identifier: the first 8 bytes of global/pg_control. */
const systemIdentifier = (pgControl: Buffer) => pgControl.subarray(0, 8).toString('hex');

describe('a new DATA_DIR starts from the built template', () => {
  it('the compiled gateway unpacks the template (same system identifier), then serves readiness and webhooks', async () => {
    expect(existsSync(TEMPLATE), `npm run build makes ${TEMPLATE}`).toBe(true);
    const templateControl = await fileInArchive(TEMPLATE, 'global/pg_control');
    const dataDir = join(dir, 'fresh');
    const port = await freePort();
    const gateway = startBuilt([], {
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      SHOPIFY_WEBHOOK_SECRET: SECRET,
      LOG_LEVEL: 'warn',
    });
    await waitUntilHealthy(`http://127.0.0.1:${port}/readyz`, 180_000);
    const body = JSON.stringify({ id: 1 });
    const answer = await post(
      `http://127.0.0.1:${port}/api/webhooks/shopify/orders/create`,
      body,
      shopifyHeaders(SECRET, body, 'pgdata-template-1'),
    );
    expect(answer.status, answer.text).toBe(200);
    expect(answer.json).toMatchObject({ status: 'accepted' });
    gateway.child.kill('SIGTERM');
    expect((await gateway.exited).code, gateway.output()).toBe(0);

    expect(systemIdentifier(readFileSync(join(dataDir, 'global', 'pg_control')))).toBe(
      systemIdentifier(templateControl),
    );
  });
});

describe('the template archive', () => {
  it('a corrupt template is not used: nothing is written, and the caller runs initdb', async () => {
    const corrupt = join(dir, 'corrupt.tar.gz');
    const archive = packArchive([{ path: 'base' }, { path: 'PG_VERSION', data: Buffer.from('17\n') }]);
    writeFileSync(corrupt, archive.subarray(0, archive.length - 20));
    const target = join(dir, 'from-corrupt');
    expect(await restorePgdataTemplate(corrupt, target)).toBe(false);
    expect(existsSync(target)).toBe(false);
  });

  it('an entry outside the directory is refused before anything is written', async () => {
    for (const path of ['../outside', '/etc/outside', 'base/../../outside']) {
      const escaping = join(dir, 'escaping.tar.gz');
      writeFileSync(
        escaping,
        packArchive([
          { path, data: Buffer.from('x') },
          { path: 'PG_VERSION', data: Buffer.from('17\n') },
        ]),
      );
      const target = join(dir, 'from-escaping');
      expect(await restorePgdataTemplate(escaping, target)).toBe(false);
      expect(existsSync(target)).toBe(false);
      expect(existsSync(join(dir, 'outside'))).toBe(false);
    }
  });

  it('directories (empty ones too) and files come back as they were packed', async () => {
    const files = [{ path: 'pg_tblspc' }, { path: 'base' }, { path: 'base/1', data: Buffer.from('page') }];
    const target = join(dir, 'round-trip');
    const template = join(dir, 'round-trip.tar.gz');
    writeFileSync(template, packArchive([...files, { path: 'PG_VERSION', data: Buffer.from('17\n') }]));
    expect(await restorePgdataTemplate(template, target)).toBe(true);
    expect(readdirSync(target).sort()).toEqual(['PG_VERSION', 'base', 'pg_tblspc']);
    expect(readdirSync(join(target, 'pg_tblspc'))).toEqual([]);
    expect(readFileSync(join(target, 'base', '1'), 'utf8')).toBe('page');
  });
});
