import type { Logger } from 'pino';
import type { Database } from '../db/client';

/**
 * Says at start that the embedded database was not closed cleanly: the process before this one
 * was killed (or the machine stopped) holding DATA_DIR, and opening it replayed the write-ahead log
 * (after kill -9 under load a restart took 4–29 s to be ready, and nothing said why).
 * What it acknowledged is committed; what it had claimed is returned to the queue (src/worker/leases.ts).
 */
export function logRecovery(logger: Logger, recovered: NonNullable<Database['recovered']>): void {
  logger.warn(
    { previousPid: recovered.pid, previousStarted: recovered.started, openMs: recovered.openMs },
    `DATA_DIR was not closed cleanly: process ${recovered.pid} (started ${recovered.started}) ended without stopping; ` +
      `the embedded database recovered from its write-ahead log in ${recovered.openMs} ms`,
  );
}
