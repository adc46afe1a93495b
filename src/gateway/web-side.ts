import type { Logger } from 'pino';
import type { GatewayConfig } from '../config/env';
import type { RuntimeDestinations } from '../control/destination-wiring';
import type { Registry } from '../control/registry';
import type { ControlRoutesDeps } from '../control/routes';
import type { ControlStore } from '../control/store';
import type { Database } from '../db/client';
import type { SchemaDrift } from '../db/schema-drift';
import type { PushSource } from '../ingest/sources';
import { createEventBus } from '../ops/event-bus';
import type { Metrics } from '../ops/metrics';
import type { StreamWatchers } from '../ops/stream-watchers';
import type { OutboundPolicy } from '../outbound/policy';
import type { PollRunner } from '../poll';
import { createAuditLog } from '../store/audit';
import type { EventStore } from '../store/events';
import { createRejectedRequestStore } from '../store/rejected-requests';
import type { StatsMinutes } from '../store/stats-minute';
import type { StatsRecorder } from '../store/stats-recorder';
import type { SystemLog } from '../store/system-log';
import { createTokenStore } from '../store/tokens';
import type { Worker } from '../worker/worker';
import { createIngestSide } from './ingest-side';
import type { Role } from './options';
import { createOpsApi } from './ops-api';
import type { ProcessingLookups } from './processing';
import type { RunningParts } from './shutdown';
import { createWebApp } from './web-app';

export interface WebSideDeps {
  config: GatewayConfig;
  database: Database;
  logger: Logger;
  metrics: Metrics;
  /** What GET /metrics answers: this process's metrics, or under the supervisor the whole group's. */
  scrapeMetrics: () => Promise<string>;
  role: Role;
  /** This process's worker (undefined in a web-only process): ingest hands events off to it when configured. */
  worker: Worker | undefined;
  watchers: StreamWatchers;
  store: EventStore;
  systemLog: SystemLog;
  controlStore: ControlStore;
  registry: Registry;
  sources: PushSource[];
  processing: ProcessingLookups;
  statsMinutes: StatsMinutes;
  recorder: StatsRecorder;
  /** Wakes the local worker. */
  wake: () => void;
  /** A new alert channel URL whose host is a refused IP address is answered 400. */
  outbound: OutboundPolicy;
  /** An embedder's own record of control-plane changes, after the audit log's. */
  auditHook?: ControlRoutesDeps['audit'];
  /** Runtime destinations: their /api/destinations routes join the ops API. */
  runtime: RuntimeDestinations;
  pollRunner: PollRunner;
  isStopping: () => boolean;
  /**
   * The gateway's running parts: the ingest side is put there as soon as it exists, so a stop()
   * after the web app failed to build (a route clash under /api/webhooks/) still stops its recorder.
   */
  running: Pick<RunningParts, 'ingest'>;
  /** The process's one schema-drift check (src/db/schema-drift.ts): ingest tells it of failed stores, /readyz reads it. */
  schemaDrift: SchemaDrift;
}

/**
 * The HTTP side of a process: the ops API, the ingest side and the web app that mounts them, plus
 * the live stream's bus and the token store the listeners check.
 */
export function createWebSide(deps: WebSideDeps) {
  const { config, database, logger, metrics, registry, processing, wake } = deps;
  const bus = createEventBus(deps.watchers);
  const tokens = createTokenStore(database);
  const requests = createRejectedRequestStore(database);
  const opsApi = createOpsApi({
    config,
    database,
    logger,
    store: deps.store,
    systemLog: deps.systemLog,
    tokens,
    requests,
    controlStore: deps.controlStore,
    registry,
    sources: deps.sources,
    processing,
    statsMinutes: deps.statsMinutes,
    recorder: deps.recorder,
    wake,
    outbound: deps.outbound,
    ingest: (request) => app.fetch(request),
    audit: createAuditLog(database),
    auditHook: deps.auditHook,
    destinationRoutes: (audit) => deps.runtime.routes(registry, audit, config.trustProxy, wake),
  });
  const claimant = config.worker.handOff ? deps.worker : undefined;
  const ingest = createIngestSide({
    config,
    database,
    store: deps.store,
    registry,
    requests,
    logger,
    metrics,
    recorder: deps.recorder,
    wake,
    claimant,
    watched: deps.watchers.watched,
    servesIngest: deps.role !== 'worker',
    schemaDrift: deps.schemaDrift,
  });
  deps.running.ingest = ingest;
  const app = createWebApp({
    config,
    database,
    logger,
    metrics,
    scrapeMetrics: deps.scrapeMetrics,
    tokens,
    bus,
    sourceNamed: (name) => registry.resolve(name),
    maskFor: processing.maskFor,
    maskedSources: processing.maskedSources,
    ingestRoutes: ingest.routes,
    opsApi,
    pollRunner: deps.pollRunner,
    isStopping: deps.isStopping,
    schemaIncompatible: deps.schemaDrift.incompatible,
  });
  return { app, ingest, bus, tokens };
}
