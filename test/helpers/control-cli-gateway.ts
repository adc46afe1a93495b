import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { loadKeyring } from '../../src/control/crypto';
import { runCli } from './cli';
import { SECRETS, startTestGateway, type TestGateway } from './gateway';

type Overrides = Parameters<typeof startTestGateway>[1];

/**
 * A gateway on PGlite with the control plane on (a fresh master key), a temp directory for the
 * files a test gives `apply -f`, and `cli` running the CLI against it with an admin token; started
 * before the file's tests and stopped (directory removed) after them, even when they fail.
 */
export function useCliGateway(prefix: string, overrides: () => Overrides = () => ({})) {
  let gw: TestGateway | undefined;
  let dir = '';
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
    gw = await startTestGateway('pglite', {
      control: { keyring: loadKeyring({ key: randomBytes(32).toString('base64') }), refreshMs: 5000 },
      ...overrides(),
    });
  }, 120_000);
  afterAll(async () => {
    await gw?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    get gw(): TestGateway {
      if (!gw) throw new Error('the gateway is started in beforeAll');
      return gw;
    },
    get dir(): string {
      return dir;
    },
    cli: (args: string[], env: Record<string, string> = {}) =>
      runCli([...args, '--url', gw!.url, '--token', SECRETS.ops], env, 60_000),
  };
}
