import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { waitFor } from './helpers/gateway';
import { freePort, waitUntilHealthy } from './helpers/process';
import { ROOT, answers, killAllStarted, startProcess } from './helpers/started-process';

// A newcomer's first ten minutes, with real processes: `npm start` runs the compiled build and stops
// on a signal sent to npm's own PID; the README's quick start works when pasted as it is.
describe('npm start', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'gw-npm-start-'));
  afterEach(killAllStarted);
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  // Before the fix, `npm start` ran `sh -c "node …"`: npm forwards SIGTERM and SIGINT to that shell
  // only. SIGTERM killed the shell and orphaned the gateway, which kept serving; SIGINT did nothing.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal} to npm's PID stops the gateway gracefully`, async () => {
      const port = await freePort();
      const npm = startProcess('npm', ['start'], {
        PORT: String(port),
        DATA_DIR: join(dataDir, signal),
        LOG_LEVEL: 'info',
      });
      await waitUntilHealthy(`http://127.0.0.1:${port}/healthz`, 180_000);
      process.kill(npm.pid, signal);
      await npm.waitForOutput(/"msg":"stopped/, 60_000);
      await npm.exited;
      await waitFor(async () => !(await answers(`http://127.0.0.1:${port}/healthz`)), 10_000, 'the port to close');
      expect(npm.output()).toContain(`"signal":"${signal}"`);
    }, 300_000);
  }

  it('the README quick start works when pasted literally', async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(
      readme.indexOf('## Quick start'),
      readme.indexOf('\n## ', readme.indexOf('## Quick start') + 5),
    );
    const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
    const [startBlock, ...sendBlocks] = blocks;
    expect(startBlock).toContain('npm start');
    // Only the port changes (a free one instead of 3000); `npm install` has been done by the test run.
    const port = await freePort();
    const startLine = startBlock!.replace(/^npm install\n/, '');
    const gateway = startProcess('bash', ['-c', `${startLine.replace(/\\\n\s*/g, '')}`], {
      PORT: String(port),
      DATA_DIR: join(dataDir, 'quick-start'),
    });
    await waitUntilHealthy(`http://127.0.0.1:${port}/healthz`, 180_000);
    const run = (script: string) =>
      execFileSync('bash', ['-euo', 'pipefail', '-c', script.replaceAll('localhost:3000', `localhost:${port}`)], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH ?? '' },
      });
    const shopify = run(sendBlocks[0]!);
    expect(shopify).toContain('{"status":"accepted","id":1}');
    expect(shopify).toContain('"topic":"orders/create"');
    const others = run(sendBlocks[1]!);
    expect(others).toContain('{"status":"accepted","id":2}');
    expect(others).toContain('{"status":"accepted","id":3}');
    // Every source configured, ops token set: the one warning is the one the README announces, that
    // the quick start's `ops-token` is guessable (src/config/weak-tokens.ts).
    const warnings = gateway
      .output()
      .split('\n')
      .filter((line) => /"level":(40|50)/.test(line));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('OPS_API_TOKEN is 9 characters');
    process.kill(gateway.pid, 'SIGTERM');
    await gateway.exited;
  }, 300_000);
});
