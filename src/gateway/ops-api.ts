import type { OpenAPIHono } from '@hono/zod-openapi';
import { createAlertStore } from '../alerts';
import type { GatewayConfig } from '../config/env';
import type { Registry } from '../control/registry';
import { createControlRoutes, type ControlRoutesDeps } from '../control/routes';
import { createSourceService } from '../control/service';
import type { ControlStore } from '../control/store';
import type { Database } from '../db/client';
import type { PushSource } from '../ingest/sources';
import { addAccessRoutes } from '../ops/access-routes';
import { createAlertRoutes } from '../ops/alert-routes';
import { auditContext } from '../ops/audit-context';
import { createConflictRoutes } from '../ops/conflict-routes';
import { addExportRoutes } from '../ops/export-routes';
import { describeOpenApi } from '../ops/openapi';
import { createRequestRoutes } from '../ops/request-routes';
import { addSkipRoute } from '../ops/skip-route';
import { addSystemLogRoutes } from '../ops/system-log-routes';
import { createOpsApp } from '../ops/ops-app';
import { createOpsRoutes } from '../ops/routes';
import type { AuditLog } from '../store/audit';
import { createConflictQueries } from '../store/conflicts';
import { createDeliveryLog } from '../store/deliveries';
import type { EventStore } from '../store/events';
import type { RejectedRequestStore } from '../store/rejected-requests';
import { createStatsQueries } from '../store/stats';
import type { StatsMinutes } from '../store/stats-minute';
import type { StatsRecorder } from '../store/stats-recorder';
import { statsSeries } from '../store/stats-series';
import type { SystemLog } from '../store/system-log';
import type { TokenStore } from '../store/tokens';
import type { Logger } from 'pino';
import type { OutboundPolicy } from '../outbound/policy';
import type { ProcessingLookups } from './processing';

export interface OpsApiDeps {
  config: GatewayConfig;
  database: Database;
  logger: Logger;
  store: EventStore;
  systemLog: SystemLog;
  audit: AuditLog;
  tokens: TokenStore;
  requests: RejectedRequestStore;
  controlStore: ControlStore;
  registry: Registry;
  sources: PushSource[];
  processing: ProcessingLookups;
  statsMinutes: StatsMinutes;
  recorder: StatsRecorder;
  /** An embedder's own record of control-plane changes, after the audit log's. */
  auditHook?: ControlRoutesDeps['audit'];
  /** Wakes the local worker (replays, resumed sources). */
  wake: () => void;
  /** A new alert channel URL whose host is a refused IP address is answered 400. */
  outbound?: OutboundPolicy;
  /** The gateway's own HTTP app, for test events sent through the real ingest path. */
  ingest: (request: Request) => Response | Promise<Response>;
  /** `/api/destinations…` (src/control/destination-wiring.ts), audited into the same log. */
  destinationRoutes?: (audit: AuditLog) => OpenAPIHono;
}

/**
 * One OpenAPI app for the whole ops API (its document covers every route): events, exports,
 * tokens, conflicts, rejected requests, alerts and the control plane.
 */
export function createOpsApi(deps: OpsApiDeps): OpenAPIHono {
  const { config, database, store, audit, sources, processing, recorder } = deps;
  const conflicts = createConflictQueries(database);
  // Exports first: /api/events/export must not be read as /api/events/{id}.
  const opsRoutes = createOpsApp();
  addExportRoutes(opsRoutes, {
    store,
    systemLog: deps.systemLog,
    audit,
    logger: deps.logger,
    maskFor: processing.maskFor,
    maskedSources: processing.maskedSources,
    documentOf: processing.documentOf,
  });
  addSystemLogRoutes(opsRoutes, { systemLog: deps.systemLog });
  addAccessRoutes(opsRoutes, { tokens: deps.tokens, audit, trustedProxies: config.trustProxy });
  addSkipRoute(opsRoutes, { database, store, audit, trustedProxies: config.trustProxy, maskFor: processing.maskFor });
  opsRoutes.route(
    '/',
    createOpsRoutes({
      store,
      deliveries: createDeliveryLog(database),
      conflicts,
      stats: createStatsQueries(database),
      audit,
      trustedProxies: config.trustProxy,
      maxAttempts: config.worker.maxAttempts,
      maxAttemptsBySource: Object.fromEntries(
        sources.flatMap((s) => (s.maxAttempts === undefined ? [] : [[s.name, s.maxAttempts]])),
      ),
      maskFor: processing.maskFor,
      maskedSources: processing.maskedSources,
      documentOf: processing.documentOf,
      onReplayed: deps.wake,
      // Flushing this process's counts first: a chart read right after an action shows it.
      series: async (window, source) => {
        await recorder.flush();
        return statsSeries(deps.statsMinutes, window, source);
      },
    }),
  );
  // Mounted into the ops routes so their OpenAPI document describes the conflicts too.
  opsRoutes.route(
    '/',
    createConflictRoutes({ conflicts, maskFor: processing.maskFor, documentOf: processing.documentOf }),
  );
  opsRoutes.route(
    '/',
    createRequestRoutes({ requests: deps.requests, sources: () => deps.registry.all().map((s) => s.name) }),
  );
  opsRoutes.route(
    '/',
    createAlertRoutes({
      alerts: createAlertStore(database),
      outbound: deps.outbound,
      // Rule and channel changes go to the operator audit log (views hold fingerprints, never secrets).
      audit: (c, change) => audit.record({ ...auditContext(c, config.trustProxy), ...change }),
    }),
  );
  opsRoutes.route(
    '/',
    createControlRoutes({
      sources: createSourceService({
        store: deps.controlStore,
        registry: deps.registry,
        keyring: config.control.keyring,
        retryDefaults: { baseMs: config.worker.retryBaseMs, maxMs: config.worker.retryMaxMs },
        ingestBodyBudgetBytes: config.ingestBodyBudgetBytes,
      }),
      // Every source change goes to the operator audit log (views hold fingerprints, never secrets).
      audit: async (change, c) => {
        await audit.record({
          ...auditContext(c, config.trustProxy),
          action: change.action,
          target: change.source,
          before: change.before,
          after: change.after,
        });
        await deps.auditHook?.(change, c);
      },
      onResumed: deps.wake,
      ingest: deps.ingest,
    }),
  );
  if (deps.destinationRoutes) opsRoutes.route('/', deps.destinationRoutes(audit));
  describeOpenApi(opsRoutes);
  return opsRoutes;
}
