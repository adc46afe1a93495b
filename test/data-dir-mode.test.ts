import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { killAllStarted, startBuilt } from './helpers/started-process';

const modeOf = (path: string) => statSync(path).mode & 0o777;

// PGlite writes its files as 0666 whatever the umask: only the directory keeps other local users
// from rewriting stored events, so it must be the owner's alone (as PostgreSQL's data directory is).
describe('DATA_DIR is private to its owner', { timeout: 180_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'gw-data-dir-mode-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(killAllStarted);

  it('a DATA_DIR the gateway creates is 0700', async () => {
    const dataDir = join(dir, 'new', 'data');
    const migrate = startBuilt(['migrate'], { DATA_DIR: dataDir });
    expect((await migrate.exited).code, migrate.output()).toBe(0);
    expect(modeOf(dataDir)).toBe(0o700);
  });

  it('an empty or already used DATA_DIR open to others is closed to them', async () => {
    const dataDir = join(dir, 'open');
    mkdirSync(dataDir, { mode: 0o777 });
    const first = startBuilt(['migrate'], { DATA_DIR: dataDir });
    expect((await first.exited).code, first.output()).toBe(0);
    expect(modeOf(dataDir)).toBe(0o700);

    // A data directory made by an earlier version (0755): its owner keeps every right.
    chmodSync(dataDir, 0o755);
    const again = startBuilt(['migrate'], { DATA_DIR: dataDir });
    expect((await again.exited).code, again.output()).toBe(0);
    expect(modeOf(dataDir)).toBe(0o700);
  });

  it('a DATA_DIR open to others that holds other files is refused, and left as it was', async () => {
    const dataDir = join(dir, 'home-like');
    mkdirSync(dataDir, { mode: 0o755 });
    writeFileSync(join(dataDir, 'notes.txt'), 'mine');
    const migrate = startBuilt(['migrate'], { DATA_DIR: dataDir });
    expect((await migrate.exited).code).toBe(2);
    expect(migrate.output()).toContain(
      `DATA_DIR ${dataDir} can be entered by other users (mode 0755) and holds other files`,
    );
    expect(modeOf(dataDir)).toBe(0o755);
  });
});
