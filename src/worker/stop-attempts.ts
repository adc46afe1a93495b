import type { Logger } from 'pino';
import type { ClaimedEvent } from './queue-sql';

/**
 * The worker's shutdown wait: waits up to `timeoutMs` for the running attempts, then aborts them
 * and hands back (`handBack`, src/worker/leases.ts releaseUnfinished) the claims `held()` still lists.
 */
export async function stopRunningAttempts(
  handBack: (unfinished: ClaimedEvent[]) => Promise<void>,
  logger: Logger,
  running: Promise<unknown>,
  timeoutMs: number,
  attemptAborts: Iterable<AbortController>,
  held: () => ClaimedEvent[],
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  const result = await Promise.race([running.then(() => 'done' as const), timedOut]);
  clearTimeout(timer);
  if (result === 'timeout') {
    logger.warn({ running: held().length }, 'shutdown timeout: aborting running handlers');
    const reason = new Error('worker shutting down');
    for (const abort of attemptAborts) abort.abort(reason);
    // Handlers that honour the signal record their own outcome; give them a moment, then hand
    // back whatever is still running so another worker picks it up without waiting for the lease.
    await Promise.race([running, new Promise((r) => setTimeout(r, 1000).unref())]);
    await handBack(held());
  }
}
