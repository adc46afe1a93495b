import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config/env';
import { killAllStarted, startBuilt } from './helpers/started-process';

// GATEWAY_MASTER_KEY_FILE is read with a bound (src/control/crypto.ts): a wrong path to a big file,
// /dev/zero or a FIFO stops start-up with a line naming the variable, the file and what to do,
// instead of filling memory or waiting for ever. Nothing of the file is ever quoted.
describe('GATEWAY_MASTER_KEY_FILE', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gw-master-key-file-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(killAllStarted);
  const key = randomBytes(32).toString('base64');

  const problem = (keyFile: string) => {
    try {
      loadConfig({ GATEWAY_MASTER_KEY_FILE: keyFile });
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as Error).message;
    }
    throw new Error('configuration was accepted');
  };

  /** Starts the real gateway with the key file; it must stop at once with exit 2. */
  async function refusedAtStart(keyFile: string): Promise<string> {
    const proc = startBuilt([], { GATEWAY_MASTER_KEY_FILE: keyFile, DATA_DIR: join(dir, 'data') });
    expect((await proc.exited).code).toBe(2);
    return proc.output();
  }

  it('a key file holding the key and a newline is read', () => {
    const path = join(dir, 'master.key');
    writeFileSync(path, `${key}\n`);
    expect(loadConfig({ GATEWAY_MASTER_KEY_FILE: path }).control.keyring?.current.key).toEqual(
      Buffer.from(key, 'base64'),
    );
  });

  it('the key and the key file both set are refused, instead of the file being ignored', () => {
    const path = join(dir, 'other.key');
    writeFileSync(path, randomBytes(32).toString('base64'));
    expect(() => loadConfig({ GATEWAY_MASTER_KEY: key, GATEWAY_MASTER_KEY_FILE: path })).toThrow(
      'Invalid configuration: GATEWAY_MASTER_KEY and GATEWAY_MASTER_KEY_FILE are both set: set one of them',
    );
  });

  it('a file over 64 KiB is refused, naming the variable, the file and the limit, quoting nothing', () => {
    const path = join(dir, 'dump.sql');
    writeFileSync(path, `${key}\n${'leaked-line\n'.repeat(6000)}`);
    const message = problem(path);
    expect(message).toBe(
      `Invalid configuration: GATEWAY_MASTER_KEY_FILE (${path}) is larger than 65536 bytes, not a key file (it holds 44 characters of base64): check the path`,
    );
  });

  it('/dev/zero is refused at once instead of read until memory runs out (exit 2)', async () => {
    const zero = join(dir, 'zero.key');
    symlinkSync('/dev/zero', zero);
    expect(await refusedAtStart(zero)).toContain(
      `GATEWAY_MASTER_KEY_FILE (${zero}) is a character device, not a regular file: point it at the file holding the key`,
    );
  });

  it('a FIFO is refused at once instead of waiting for a writer (exit 2)', async () => {
    const fifo = join(dir, 'fifo.key');
    execFileSync('mkfifo', [fifo]);
    expect(await refusedAtStart(fifo)).toContain(
      `GATEWAY_MASTER_KEY_FILE (${fifo}) is a FIFO (named pipe), not a regular file`,
    );
  });
});
