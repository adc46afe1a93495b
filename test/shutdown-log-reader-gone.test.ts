import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, expect, it, vi } from 'vitest';
import { freePort, waitUntilHealthy } from './helpers/process';
import { killAllStarted, startBuilt } from './helpers/started-process';

// The process that reads the gateway's log (a shell pipe, a log shipper) can go away while the
// gateway runs. SIGTERM must still stop it: with pino's asynchronous stdout, the exit-time flush
// retried the failed write every 100 ms for ever, so the gateway never exited, not even through
// its own forced-exit timer. A real process, its stdout a pipe whose reading end is closed.
vi.setConfig({ testTimeout: 240_000 });
const dir = mkdtempSync(join(tmpdir(), 'gw-log-reader-'));
afterEach(killAllStarted);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('SIGTERM stops the gateway after the reader of its log has gone away', async () => {
  const port = await freePort();
  const proc = startBuilt([], {
    PORT: String(port),
    DATA_DIR: join(dir, 'data'),
    SHOPIFY_WEBHOOK_SECRET: 'log-reader-secret-1',
    OPS_API_TOKEN: 'log-reader-token',
    LOG_LEVEL: 'info',
  });
  await waitUntilHealthy(`http://127.0.0.1:${port}/healthz`, 180_000);
  await proc.waitForOutput('gateway listening');
  proc.child.stdout!.destroy(); // the reader is gone: the next log line gets EPIPE

  const signalled = Date.now();
  proc.child.kill('SIGTERM');
  const exit = await Promise.race([
    proc.exited,
    new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), 20_000)),
  ]);
  expect(exit).toEqual({ code: 0, signal: null });
  expect(Date.now() - signalled).toBeLessThan(20_000);
});
