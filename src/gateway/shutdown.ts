import type { Logger } from 'pino';
import type { Database } from '../db/client';
import type { StatsRecorder } from '../store/stats-recorder';
import type { StreamWatchers } from '../ops/stream-watchers';
import type { Registry } from '../control/registry';
import type { TracingHandle } from '../tracing/setup';
import type { Worker } from '../worker/worker';
import type { createBackgroundTasks } from './background';
import type { HttpServer } from './http-server';
import type { createIngestSide } from './ingest-side';

/** What a gateway has started so far; any part may be missing (a stop before or during start). */
export interface RunningParts {
  /** The web server; in a worker-only process, its own listener on WORKER_HTTP_PORT (closed by stop() alike). */
  http?: HttpServer;
  background?: ReturnType<typeof createBackgroundTasks>;
  worker?: Worker;
  ingest?: ReturnType<typeof createIngestSide>;
  chartCounts?: StatsRecorder;
  unlisten?: () => Promise<void>;
  watchers?: StreamWatchers;
  registry?: Registry;
  /** Only when the gateway opened it: a database handed in is closed by its owner. */
  ownedDatabase?: Database;
  tracing?: TracingHandle;
}

/**
 * The graceful stop, in order: first `drainMs` of serving as before while /readyz answers 503 (the
 * caller has set the stopping flag it reads), so a load balancer takes the process out before any
 * connection is refused; then no new requests or claims, running handlers get `timeoutMs`, then
 * what the parts still hold is written and each part closed. `parts()` is read afresh at each step,
 * so a part that start() builds while an earlier step waits is stopped too; `started()` says whether
 * start() finished (only then are the first and last lines logged).
 */
export async function stopInOrder(
  parts: () => RunningParts,
  options: { logger: Logger; timeoutMs: number; drainMs: number; started: () => boolean },
): Promise<void> {
  const { logger, timeoutMs, drainMs, started } = options;
  if (started() && drainMs > 0 && parts().http) {
    logger.info(
      { drainMs },
      `draining: /readyz answers 503; requests are still accepted for ${drainMs} ms (SHUTDOWN_DRAIN_MS)`,
    );
    await new Promise((resolve) => setTimeout(resolve, drainMs));
  }
  const connections = (await parts().http?.openConnections()) ?? 0;
  if (started()) {
    const running = parts().worker?.inFlight ?? 0;
    logger.info(
      { openConnections: connections, runningHandlers: running, timeoutMs },
      `stopping: no new requests or claims; waiting up to ${timeoutMs} ms for ${connections} open connections and ${running} running handlers`,
    );
  }
  const closing = parts().http?.close(timeoutMs);
  await parts().background?.stop();
  await parts().worker?.stop(timeoutMs);
  await closing?.finished();
  parts().ingest?.rejections.flush();
  await parts()
    .chartCounts?.stop()
    .catch((err: unknown) => logger.warn({ err }, 'last chart counts not written'));
  await parts().ingest?.rejectedRequests.stop();
  await parts()
    .unlisten?.()
    .catch(() => {});
  await parts().watchers?.stop();
  await parts().registry?.stop();
  const database = parts().ownedDatabase;
  await database?.close();
  await parts()
    .tracing?.shutdown()
    .catch((err: unknown) => logger.warn({ err }, 'last spans not exported'));
  if (started())
    logger.info(database ? 'stopped: requests answered, handlers finished or handed back, database closed' : 'stopped');
}
