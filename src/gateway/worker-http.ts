import type { Logger } from 'pino';
import { createApp } from '../app';
import type { GatewayConfig } from '../config/env';
import { StartupError } from '../config/errors';
import type { Database } from '../db/client';
import type { Metrics } from '../ops/metrics';
import { createProbeRoutes, type WorkerLoopCheck } from '../ops/probe-routes';
import type { TokenStore } from '../store/tokens';
import type { Worker } from '../worker/worker';
import { createGatewayAuthenticator } from './authenticator';
import { startHttpServer, type HttpServer } from './http-server';

/** What a worker process's own listener serves: nothing else (a JSON 404). */
export const WORKER_HTTP_PATHS = ['/healthz', '/readyz', '/metrics'] as const;

/**
 * The worker loop for /readyz. A cron tick is a lease recovery (when due) and a few claims, each
 * one short statement; a tick still running after a whole lease (WORKER_LEASE_SECONDS) waits on
 * something that does not answer (a lock, a connection that never comes), and no cron tick starts
 * meanwhile: the time the gateway already gives a silent worker before others take its claims.
 */
export function workerLoopCheck(worker: Pick<Worker, 'loop' | 'leaseSeconds'>): WorkerLoopCheck {
  const { running, tickRunningMs } = worker.loop();
  if (!running) return 'not_running';
  return tickRunningMs > worker.leaseSeconds * 1000 ? 'stalled' : 'ok';
}

export interface WorkerHttpDeps {
  config: GatewayConfig;
  /** WORKER_HTTP_PORT. */
  port: number;
  database: Database;
  logger: Logger;
  metrics: Metrics;
  tokens: TokenStore;
  worker: Worker;
  isStopping: () => boolean;
  /** True once this process's statements fail on a newer release's schema (src/db/schema-drift.ts). */
  schemaIncompatible: () => boolean;
}

/**
 * A process that runs the worker without the web server (`--role worker`, the worker of
 * `--web-processes`) listens on WORKER_HTTP_PORT for its prober and its scraper: /healthz, /readyz
 * (with its worker loop) and /metrics (its own metrics, behind the same token rule as the web
 * process's), through the web process's server and app shell: the same limits, JSON errors and
 * JSON 404. Without it such a process served no HTTP, and its attempt counters were never scraped.
 */
export async function startWorkerHttp(deps: WorkerHttpDeps): Promise<HttpServer> {
  const { config, logger, metrics, worker } = deps;
  const app = createApp({
    logger,
    isStopping: deps.isStopping,
    authenticator: createGatewayAuthenticator({ config, tokens: deps.tokens, logger }),
    routes: [
      createProbeRoutes({
        database: () => deps.database,
        // Its own metrics, also under the supervisor: the group's are on PORT.
        scrapeMetrics: metrics.scrapeProcess,
        workerLoop: () => workerLoopCheck(worker),
        isStopping: deps.isStopping,
        schemaIncompatible: deps.schemaIncompatible,
      }),
    ],
  });
  try {
    return await startHttpServer(app, config, metrics, logger, deps.port);
  } catch (err) {
    // Named here: the CLI's own message for a taken port names PORT (src/cli/startup-failure.ts).
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE')
      throw new StartupError(
        `WORKER_HTTP_PORT ${deps.port} is already in use (${config.host}:${deps.port}): stop the process using it, or set WORKER_HTTP_PORT to a free port.`,
      );
    if (code === 'EACCES')
      throw new StartupError(
        `not allowed to listen on ${config.host}:${deps.port}: ports below 1024 need privileges; set WORKER_HTTP_PORT to 1024 or above.`,
      );
    throw err;
  }
}
