import type { Hono } from 'hono';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { ConfigError, type GatewayConfig } from './config/env';
import { bodyBudgetProblem } from './config/env/web';
import { createControlStore } from './control/store';
import type { Registry } from './control/registry';
import type { ControlRoutesDeps } from './control/routes';
import { openDatabase, type Database } from './db/client';
import { runMigrations } from './db/migrate';
import { forwardToDestinations, type ForwardingOptions } from './deliver/destinations';
import { createBackgroundTasks } from './gateway/background';
import type { HttpServer } from './gateway/http-server';
import { createIngestSide } from './gateway/ingest-side';
import { createOpsApi } from './gateway/ops-api';
import { applyProcessingConfig, lazyDeliveryLog, registerKeycloakAudit } from './gateway/processing';
import { createSourceRegistry } from './gateway/registry';
import { wireDestinations } from './control/destination-wiring';
import { checkFileTransforms } from './transform';
import { createProtectionStore } from './deliver/protection-sql';
import { createWebApp } from './gateway/web-app';
import { createGatewayWorker } from './gateway/worker-side';
import { listenForRole } from './gateway/listeners';
import { stopInOrder } from './gateway/shutdown';
import { sourcesFromConfig } from './ingest/sources';
import { createLogger } from './logger';
import { createOutbound } from './outbound/guarded-fetch';
import { createEventBus } from './ops/event-bus';
import { createStreamWatchers, type StreamWatchers } from './ops/stream-watchers';
import { createMetrics } from './ops/metrics';
import { joinMetricsCluster } from './ops/metrics-cluster';
import { createAuditLog } from './store/audit';
import { createEventStore } from './store/events';
import { createRejectedRequestStore } from './store/rejected-requests';
import { createStatsQueries } from './store/stats';
import { createStatsMinutes } from './store/stats-minute';
import { createStatsRecorder, type StatsRecorder } from './store/stats-recorder';
import { createSystemLog } from './store/system-log';
import { createTokenStore } from './store/tokens';
import { startTracing, type TracingHandle } from './tracing/setup';
import { listenForEvents } from './worker/notifications';
import { HandlerRegistry, type EventHandler } from './worker/handlers';
import { SchemaRegistry } from './worker/validation';
import type { Worker } from './worker/worker';

export type Role = 'web' | 'worker' | 'all';

export interface GatewayOptions {
  logger?: Logger;
  /** Use an already open database (tests, embedding); otherwise one is opened from config. */
  database?: Database;
  /** Which parts run in this process. Default: all. */
  role?: Role;
  /** Records every control-plane change (sources, secrets, pause) with before/after, secrets redacted. */
  audit?: ControlRoutesDeps['audit'];
  /**
   * This process's name in a `start --web-processes` group (web-0…, worker), given by the
   * supervisor only: /metrics on PORT then answers for every process of the group.
   */
  clusterProcess?: string;
}

/**
 * The composition root. Builds the whole gateway from config: database, ingest and ops routes,
 * worker and handler registry, background tasks; each part is assembled in src/gateway/. Nothing
 * listens or connects until `start()`.
 */
export function createGateway(config: GatewayConfig, options: GatewayOptions = {}) {
  // loadConfig checks this too; a config built in code (defineConfig, embedding) is checked here.
  const budgetProblem = bodyBudgetProblem(config);
  if (budgetProblem) throw new ConfigError(`Invalid configuration: ${budgetProblem}`);
  const logger = options.logger ?? createLogger(config.logLevel);
  const role = options.role ?? 'all';
  const handlers = new HandlerRegistry();
  const schemas = new SchemaRegistry();
  let database = options.database;
  /** The web server; in a worker-only process, its own listener on WORKER_HTTP_PORT (closed by stop() alike). */
  let http: HttpServer | undefined;
  let worker: Worker | undefined;
  let app: Hono | undefined;
  let ownsDatabase = false;
  let unlisten: (() => Promise<void>) | undefined;
  let background: ReturnType<typeof createBackgroundTasks> | undefined;
  let stopping = false;
  let started = false;
  let ingest: ReturnType<typeof createIngestSide> | undefined;
  let chartCounts: StatsRecorder | undefined;
  let tracing: TracingHandle | undefined;
  let registry: Registry | undefined;
  let watchers: StreamWatchers | undefined;
  const metrics = createMetrics({
    queueDepth: () => createStatsQueries(gateway.database).queueDepth(),
    circuits: () => createProtectionStore(gateway.database).circuits(),
  });
  // A lone process answers /metrics from its own registries; a child of the supervisor asks the
  // others through it, on a scrape only (nothing on the ingest path).
  const metricsCluster = options.clusterProcess
    ? joinMetricsCluster({ process: options.clusterProcess, registries: metrics.registries })
    : undefined;

  // Handlers are registered before start(); the database they write to exists only after it.
  const deliveryLog = lazyDeliveryLog(() => gateway.database);
  // Runtime destinations and database sources' processing keys, resolved per attempt (src/control).
  // Every request the gateway itself sends goes through this fetch: it refuses addresses the policy forbids (src/outbound).
  const outbound = createOutbound(config.outbound);
  const runtime = wireDestinations({ config, handlers, registry: () => registry, deliveries: deliveryLog, outbound });

  const gateway = {
    logger,
    handlers,

    /** Registers a handler for a source's topic ('*' for any); see HandlerRegistry. */
    on(source: string, topic: string, handler: EventHandler) {
      handlers.on(source, topic, handler);
      return gateway;
    },

    /** Validates payloads of a source's topic ('*' for any) before handlers run; a mismatch fails at once. */
    validate(source: string, topic: string, schema: z.ZodType) {
      schemas.add(source, topic, schema);
      return gateway;
    },

    /**
     * Forwards a source's events (or one topic's) to HTTP destinations in the canonical envelope,
     * signed with Standard Webhooks; the same handler config-file destinations use, with the same
     * rate limits and circuit breakers (without them a destination's `rateLimit` and `circuit`
     * were ignored and a dead endpoint burnt every event's attempts).
     */
    forward(source: string, options: Omit<ForwardingOptions, 'deliveries'>, topic = '*') {
      const protection = options.protection ?? (() => runtime.protection);
      const send = options.fetch ?? outbound.fetch;
      handlers.on(
        source,
        topic,
        forwardToDestinations({ ...options, fetch: send, protection, deliveries: deliveryLog }),
      );
      return gateway;
    },

    get database(): Database {
      if (!database) throw new Error('gateway not started');
      return database;
    },
    get worker() {
      if (!worker) throw new Error('worker not created: start the gateway with role worker or all');
      return worker;
    },
    get app(): Hono {
      if (!app) throw new Error('gateway not started');
      return app;
    },

    /** Opens the database, applies migrations, and starts the HTTP server and/or the worker. */
    async start(): Promise<{ port?: number }> {
      // First, so the spans of everything after it are recorded; the SDK is loaded only when on.
      tracing = await startTracing(config.tracing, logger);
      await checkFileTransforms(
        [...config.destinations, ...config.sources.flatMap((s) => s.processing.destinations)],
        config.sources.map((s) => ({ name: s.name, transform: s.processing.transform })),
      );
      if (!database) {
        database = await openDatabase(config.database);
        ownsDatabase = true;
      }
      await runMigrations(database, config.database.url);

      const store = createEventStore(database, { searchTimeoutMs: config.database.searchTimeoutMs });
      const systemLog = createSystemLog(database);
      const processing = applyProcessingConfig(config, gateway, runtime);
      registerKeycloakAudit(config, handlers, systemLog);
      runtime.start(database, config.control.keyring, logger.child({ component: 'control' }), () => worker?.wake());
      // Who watches the live stream: while nobody does, outcomes are written without their NOTIFY.
      watchers = createStreamWatchers({ database, logger });
      await watchers.start();
      if (role !== 'web') {
        worker = createGatewayWorker({
          outcomesWatched: watchers.watched,
          config,
          database,
          handlers,
          schemas: runtime.routing.schemas(schemas),
          logger,
          metrics,
          backoffFor: processing.backoffFor,
          sourceTransform: runtime.routing.sourceTransform,
          maskFor: processing.maskFor,
          chartCounts: () => chartCounts,
          // Read at each ordered outcome: a source's onFailure changed at runtime applies at once.
          blockingSources: () =>
            (registry?.all() ?? []).filter((s) => s.ordering?.onFailure === 'block').map((s) => s.name),
        });
      }
      const wake = () => worker?.wake();
      const sources = sourcesFromConfig(config);
      const statsMinutes = createStatsMinutes(database);
      background = createBackgroundTasks({ config, database, store, logger, metrics, statsMinutes, wake, outbound });
      const recorder = (chartCounts = createStatsRecorder({
        minutes: statsMinutes,
        logger,
        sources: () => [...sources.map((s) => s.name), ...config.polls.map((p) => p.name)],
      }));
      // Sources managed at runtime live in the database; ingest resolves every request here.
      const controlStore = createControlStore(database);
      registry = createSourceRegistry({
        config,
        database,
        controlStore,
        sources,
        logger,
        alsoLoad: runtime.catalog,
        onRefreshed: wake,
      });
      await registry.start();
      // PGlite allows one process per DATA_DIR (src/db/data-dir-lock.ts): a claim found now was
      // made by a process that was killed or crashed, so it is due again now, not after its lease
      // (WORKER_LEASE_SECONDS, 60 s), and before ingest's hand-off can claim anything for us.
      if (worker && ownsDatabase && database.kind === 'pglite') await worker.recoverClaimsOfEarlierProcess();
      const bus = createEventBus(watchers);
      const tokens = createTokenStore(database);
      const requests = createRejectedRequestStore(database);
      const opsApi = createOpsApi({
        config,
        database,
        logger,
        store,
        systemLog,
        tokens,
        requests,
        controlStore,
        registry,
        sources,
        processing,
        statsMinutes,
        recorder,
        wake,
        outbound: outbound.policy,
        ingest: (request) => app!.fetch(request),
        audit: createAuditLog(database),
        auditHook: options.audit,
        destinationRoutes: (audit) => runtime.routes(registry!, audit, config.trustProxy, wake),
      });
      const claimant = config.worker.handOff ? worker : undefined;
      ingest = createIngestSide({
        config,
        database,
        store,
        registry,
        requests,
        logger,
        metrics,
        recorder,
        wake,
        claimant,
        watched: watchers.watched,
        servesIngest: role !== 'worker',
      });
      app = createWebApp({
        config,
        database,
        logger,
        metrics,
        scrapeMetrics: metricsCluster?.scrape ?? metrics.scrapeProcess,
        tokens,
        bus,
        sourceNamed: (name) => registry!.resolve(name),
        maskFor: processing.maskFor,
        maskedSources: processing.maskedSources,
        ingestRoutes: ingest.routes,
        opsApi,
        pollRunner: background.pollRunner,
        isStopping: () => stopping,
      });

      // One LISTEN per process: wakes the local worker and feeds the live stream, so an event
      // stored or finished by any instance is seen here.
      unlisten = await listenForEvents(database, (event) => {
        if (event.due) worker?.wake(event.id);
        // A lane's next head made due (docs/ordering.md) is a wake-up, not news for the live stream.
        if (!event.promoted) bus.publish(event);
      });

      // Before the listener opens: a scrape it gets at once waits for the primary's answer here.
      metricsCluster?.start();
      let port: number | undefined;
      ({ http, port } = await listenForRole({
        config,
        role,
        app,
        database,
        logger,
        metrics,
        tokens,
        sources,
        worker,
        isStopping: () => stopping,
      }));
      started = true;
      recorder.start();
      if (worker) {
        worker.start();
        await background.start();
      }
      return { port };
    },

    /** Graceful stop: no new requests or claims, running handlers get the shutdown timeout. */
    async stop(): Promise<void> {
      stopping = true;
      await stopInOrder(
        () => ({
          http,
          background,
          worker,
          ingest,
          chartCounts,
          unlisten,
          watchers,
          registry,
          tracing,
          ownedDatabase: ownsDatabase ? database : undefined,
        }),
        { logger, timeoutMs: config.shutdownTimeoutMs, started: () => started },
      );
      // Last: the supervisor asks a stopping child for its metrics until it has exited.
      metricsCluster?.stop();
    },
  };
  return gateway;
}

export type Gateway = ReturnType<typeof createGateway>;
