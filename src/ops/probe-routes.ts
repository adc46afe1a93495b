import { Hono } from 'hono';
import type { Database } from '../db/client';
import { checkReadiness } from '../db/health';
import { requireRole } from './auth';
import { METRICS_CONTENT_TYPE } from './metrics';

/** The worker loop as a readiness check sees it (src/gateway/worker-http.ts). */
export type WorkerLoopCheck = 'ok' | 'stalled' | 'not_running';

/**
 * What a prober and a scraper read: liveness, readiness and Prometheus metrics. Served by the web
 * app (with the rest of the system routes) and, alone, by a worker process's own listener
 * (WORKER_HTTP_PORT), whose readiness also includes its worker loop.
 */
export function createProbeRoutes(deps: {
  database: () => Database;
  /** The metrics in the Prometheus text format (this process's, or a `--web-processes` group's). */
  scrapeMetrics: () => Promise<string>;
  /** The worker loop's state; only on a worker process's listener. */
  workerLoop?: () => WorkerLoopCheck;
  /** True from SIGTERM/SIGINT on: the process is about to stop accepting requests. */
  isStopping?: () => boolean;
  /** True once this process's stores fail on a schema a newer release migrated (src/db/schema-drift.ts). */
  schemaIncompatible?: () => boolean;
}): Hono {
  const app = new Hono();

  app.get('/healthz', (c) => c.json({ status: 'ok' }));

  app.get('/readyz', async (c) => {
    // Unready from the signal on, while the server still accepts (SHUTDOWN_DRAIN_MS): a load
    // balancer stops sending here before connections are refused.
    if (deps.isStopping?.()) return c.json({ status: 'unavailable', checks: { shutdown: 'stopping' } }, 503);
    const readiness = await checkReadiness(deps.database());
    const worker = deps.workerLoop?.();
    const incompatible = deps.schemaIncompatible?.() ?? false;
    const ready = readiness.ready && !incompatible && (worker === undefined || worker === 'ok');
    const checks: Record<string, string> = { ...readiness.checks };
    if (worker !== undefined) checks.worker = worker;
    // A newer release's schema this process cannot store on: take it out of the balancer.
    if (incompatible) checks.schema = 'incompatible';
    return c.json({ status: ready ? 'ready' : 'unavailable', checks }, ready ? 200 : 503);
  });

  app.get('/metrics', requireRole('metrics'), async (c) => {
    const body = await deps.scrapeMetrics();
    return c.body(body, 200, { 'content-type': METRICS_CONTENT_TYPE });
  });

  return app;
}
