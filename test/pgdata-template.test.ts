import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { create, list } from 'tar';
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
  await list({
    file: archive,
    onReadEntry: (entry) => {
      if (entry.path === wanted) entry.on('data', (piece: Buffer) => pieces.push(piece));
    },
  });
  return Buffer.concat(pieces);
}

/**
 * A gzipped tar of `files` (path → bytes; undefined: a directory), in the given order, packed by
 * node-tar as an independent writer; `preservePaths` lets a test pack a path that escapes.
 */
async function archiveOf(name: string, files: [string, string | undefined][]): Promise<string> {
  const root = join(dir, `${name}-tree`, 'a', 'b');
  for (const [path, data] of files) {
    mkdirSync(join(root, data === undefined ? path : join(path, '..')), { recursive: true });
    if (data !== undefined) writeFileSync(join(root, path), data);
  }
  const file = join(dir, `${name}.tar.gz`);
  await create(
    { file, cwd: root, gzip: true, portable: true, preservePaths: true },
    files.map(([path]) => path),
  );
  return file;
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
    const whole = readFileSync(
      await archiveOf('corrupt', [
        ['base', undefined],
        ['PG_VERSION', '17\n'],
      ]),
    );
    const corrupt = join(dir, 'corrupt-cut.tar.gz');
    writeFileSync(corrupt, whole.subarray(0, whole.length - 20));
    const target = join(dir, 'from-corrupt');
    expect(await restorePgdataTemplate(corrupt, target)).toBe(false);
    expect(existsSync(target)).toBe(false);
  });

  it('an entry outside the directory, or a marker not last, is refused before anything is written', async () => {
    const refused = [
      await archiveOf('escaping-up', [
        ['../outside', 'x'],
        ['PG_VERSION', '17\n'],
      ]),
      await archiveOf('escaping-deep', [
        ['base/../../outside', 'x'],
        ['PG_VERSION', '17\n'],
      ]),
      await archiveOf('marker-first', [
        ['PG_VERSION', '17\n'],
        ['base', undefined],
      ]),
    ];
    for (const template of refused) {
      const target = join(dir, 'from-refused');
      expect(await restorePgdataTemplate(template, target), template).toBe(false);
      expect(existsSync(target)).toBe(false);
      expect(existsSync(join(dir, 'outside'))).toBe(false);
    }
  });

  it('directories (empty ones too) and files come back as they were packed', async () => {
    const template = await archiveOf('round-trip', [
      ['pg_tblspc', undefined],
      ['base/1', 'page'],
      ['PG_VERSION', '17\n'],
    ]);
    const target = join(dir, 'round-trip');
    expect(await restorePgdataTemplate(template, target)).toBe(true);
    expect(readdirSync(target).sort()).toEqual(['PG_VERSION', 'base', 'pg_tblspc']);
    expect(readdirSync(join(target, 'pg_tblspc'))).toEqual([]);
    expect(readFileSync(join(target, 'base', '1'), 'utf8')).toBe('page');
  });
});
