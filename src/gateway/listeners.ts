import type { Hono } from 'hono';
import type { Logger } from 'pino';
import type { GatewayConfig } from '../config/env';
import type { Database } from '../db/client';
import type { PushSource } from '../ingest/sources';
import type { Metrics } from '../ops/metrics';
import { startupReport } from '../startup-report';
import type { TokenStore } from '../store/tokens';
import type { Worker } from '../worker/worker';
import { startHttpServer, type HttpServer } from './http-server';
import { startWorkerHttp } from './worker-http';

export interface ListenDeps {
  config: GatewayConfig;
  role: 'web' | 'worker' | 'all';
  app: Hono;
  database: Database;
  logger: Logger;
  metrics: Metrics;
  tokens: TokenStore;
  sources: readonly PushSource[];
  worker: Worker | undefined;
  isStopping: () => boolean;
  /** True once this process's statements fail on a newer release's schema (src/db/schema-drift.ts). */
  schemaIncompatible: () => boolean;
}

/**
 * Opens the listener a process of this role has, and says so: the web server; in a worker-only
 * process, its own listener on WORKER_HTTP_PORT when set (stopped like the web server); else none.
 * `port` is the web server's, undefined in a worker-only process.
 */
export async function listenForRole(deps: ListenDeps): Promise<{ http?: HttpServer; port?: number }> {
  const { config, role, app, database, logger, metrics } = deps;
  let http: HttpServer | undefined;
  if (role !== 'worker') http = await startHttpServer(app, config, metrics, logger);
  else if (config.worker.httpPort !== undefined) {
    // A worker without the web server: its own listener for probes and the scraper only.
    http = await startWorkerHttp({
      config,
      port: config.worker.httpPort,
      database,
      logger,
      metrics,
      tokens: deps.tokens,
      worker: deps.worker!,
      isStopping: deps.isStopping,
      schemaIncompatible: deps.schemaIncompatible,
    });
  }
  const port = role === 'worker' ? undefined : http?.port;
  const workerHttpPort = role === 'worker' ? http?.port : undefined;
  // One summary line (what runs, where each source is), then what looks wrong.
  const report = startupReport({
    config,
    role,
    databaseKind: database.kind,
    sources: deps.sources,
    port,
    workerHttpPort,
  });
  logger.info({ port, ...report.summary }, port === undefined ? 'gateway started (worker only)' : 'gateway listening');
  for (const warning of report.warnings) logger.warn(warning);
  return { http, port };
}
