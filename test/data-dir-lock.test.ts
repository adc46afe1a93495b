import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { lockDataDir } from '../src/db/data-dir-lock';
import { killAllStarted, startBuilt } from './helpers/started-process';

// The refusal message reads gateway.pid from the DATA_DIR to name the holder. The directory is the
// operator's: whatever stands there under that name is read with a bound and never waited on.
describe('DATA_DIR lock', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gw-data-dir-lock-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(killAllStarted);

  it('a second process is refused naming the holder from gateway.pid', async () => {
    const dataDir = join(dir, 'data-regular');
    mkdirSync(dataDir);
    const lock = await lockDataDir(dataDir);
    try {
      const second = startBuilt(['migrate'], { DATA_DIR: dataDir });
      expect((await second.exited).code).toBe(2);
      expect(second.output()).toContain(`DATA_DIR ${dataDir} is in use by process ${process.pid} (started `);
    } finally {
      await lock.release();
    }
  });

  it('a gateway.pid that is a FIFO does not hang the refusal of a second process', async () => {
    const dataDir = join(dir, 'data');
    mkdirSync(dataDir);
    const lock = await lockDataDir(dataDir);
    rmSync(join(dataDir, 'gateway.pid'));
    execFileSync('mkfifo', [join(dataDir, 'gateway.pid')]);
    try {
      const second = startBuilt(['migrate'], { DATA_DIR: dataDir });
      expect((await second.exited).code).toBe(2);
      expect(second.output()).toContain(`DATA_DIR ${dataDir} is in use by another process`);
    } finally {
      await lock.release();
    }
  });

  it('a gateway.pid left by a holder that never released is reported as an unclean stop, once', async () => {
    const dataDir = join(dir, 'data-unclean');
    mkdirSync(dataDir);
    // What a gateway killed with -9 leaves: its pid file (the lock itself dies with the process).
    const started = '2026-12-06T13:32:00.000Z';
    writeFileSync(join(dataDir, 'gateway.pid'), `${JSON.stringify({ pid: 11272, host: 'vm', started })}\n`);
    const afterKill = await lockDataDir(dataDir);
    expect(afterKill.uncleanStop).toEqual({ pid: 11272, started });
    await afterKill.release();
    const afterRelease = await lockDataDir(dataDir);
    try {
      expect(afterRelease.uncleanStop).toBeUndefined();
    } finally {
      await afterRelease.release();
    }
  });
});
