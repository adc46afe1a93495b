import type { Hono } from 'hono';
import type { z } from 'zod';
import { ConfigError, type GatewayConfig } from './config/env';
import { useIssueMessages } from './validation/issue-message';
import { bodyBudgetProblem } from './config/env/web';
import { createControlStore } from './control/store';
import { openDatabase, type Database } from './db/client';
import { runMigrations } from './db/migrate';
import { createSchemaDrift } from './db/schema-drift';
import { forwardToDestinations, type ForwardingOptions } from './deliver/destinations';
import { createBackgroundTasks } from './gateway/background';
import { createGatewayMetrics } from './gateway/metrics';
import type { GatewayOptions } from './gateway/options';
import {
  applyProcessingConfig,
  checkProcessingTransforms,
  lazyDeliveryLog,
  registerKeycloakAudit,
} from './gateway/processing';
import { createSourceRegistry } from './gateway/registry';
import { wireDestinations } from './control/destination-wiring';
import { createWebSide } from './gateway/web-side';
import { createGatewayWorker } from './gateway/worker-side';
import { listenForRole } from './gateway/listeners';
import { logRecovery } from './gateway/recovered-data-dir';
import { stopInOrder, type RunningParts } from './gateway/shutdown';
import { sourcesFromConfig } from './ingest/sources';
import { checkReadiness } from './db/health';
import { createLogger, outageLogOf } from './logger';
import { createOutbound } from './outbound/guarded-fetch';
import { createStreamWatchers } from './ops/stream-watchers';
import { createEventStore } from './store/events';
import { createStatsMinutes } from './store/stats-minute';
import { createStatsRecorder } from './store/stats-recorder';
import { createSystemLog } from './store/system-log';
import { startTracing } from './tracing/setup';
import { listenForEvents } from './worker/notifications';
import { HandlerRegistry, type EventHandler } from './worker/handlers';
import { SchemaRegistry } from './worker/validation';

export type { GatewayOptions, Role } from './gateway/options';

/**
 * The composition root. Builds the whole gateway from config: database, ingest and ops routes,
 * worker and handler registry, background tasks; each part is assembled in src/gateway/. Nothing
 * listens or connects until `start()`.
 */
export function createGateway(config: GatewayConfig, options: GatewayOptions = {}) {
  // A config built in code skipped loadConfig: the ops API's 400s still name limits in words.
  useIssueMessages();
  // loadConfig checks this too; a config built in code (defineConfig, embedding) is checked here.
  const budgetProblem = bodyBudgetProblem(config);
  if (budgetProblem) throw new ConfigError(`Invalid configuration: ${budgetProblem}`);
  const logger = options.logger ?? createLogger(config.logLevel);
  const role = options.role ?? 'all';
  const handlers = new HandlerRegistry();
  const schemas = new SchemaRegistry();
  let database = options.database;
  let app: Hono | undefined;
  /** What start() has built so far, each part as soon as it exists: stop() stops what is there. */
  const parts: RunningParts = {};
  let stopping = false;
  let started = false;
  const isStopping = () => stopping;
  const { metrics, metricsCluster } = createGatewayMetrics(() => gateway.database, options.clusterProcess);

  // Handlers are registered before start(); the database they write to exists only after it.
  const deliveries = lazyDeliveryLog(() => gateway.database);
  // Runtime destinations and database sources' processing keys, resolved per attempt (src/control).
  // Every request the gateway itself sends goes through this fetch: it refuses addresses the policy forbids (src/outbound).
  const outbound = createOutbound(config.outbound);
  const runtime = wireDestinations({ config, handlers, registry: () => parts.registry, deliveries, outbound });

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
      handlers.on(source, topic, forwardToDestinations({ ...options, fetch: send, protection, deliveries }));
      return gateway;
    },

    get database(): Database {
      if (!database) throw new Error('gateway not started');
      return database;
    },
    get worker() {
      if (!parts.worker) throw new Error('worker not created: start the gateway with role worker or all');
      return parts.worker;
    },
    /** True once the listener is open (before the worker's first claim): from then on a stop must be graceful. */
    get serving(): boolean {
      return started;
    },
    get app(): Hono {
      if (!app) throw new Error('gateway not started');
      return app;
    },

    /** Opens the database, applies migrations, and starts the HTTP server and/or the worker. */
    async start(): Promise<{ port?: number }> {
      // First, so the spans of everything after it are recorded; the SDK is loaded only when on.
      parts.tracing = await startTracing(config.tracing, logger);
      await checkProcessingTransforms(config);
      if (!database) database = parts.ownedDatabase = await openDatabase(config.database);
      if (database.recovered) logRecovery(logger, database.recovered);
      await runMigrations(database, config.database.url);
      // While the database is down, the outage log tries it each second to log the outage's end.
      const db = database;
      outageLogOf(logger)?.watch(async () => (await checkReadiness(db)).checks.database === 'ok');
      // What most parts below are built from.
      const shared = { config, database, logger, metrics };

      const store = createEventStore(database, { searchTimeoutMs: config.database.searchTimeoutMs });
      const systemLog = createSystemLog(database);
      // One per process: ingest's failed stores and the worker's failed queue statements feed one /readyz.
      const schemaDrift = createSchemaDrift({ database, logger });
      const processing = applyProcessingConfig(config, gateway, runtime);
      registerKeycloakAudit(config, handlers, systemLog);
      runtime.start(database, config.control.keyring, logger.child({ component: 'control' }), () =>
        parts.worker?.wake(),
      );
      // Who watches the live stream: while nobody does, outcomes are written without their NOTIFY.
      const watchers = (parts.watchers = createStreamWatchers({ database, logger }));
      await watchers.start();
      if (role !== 'web') {
        parts.worker = createGatewayWorker({
          outcomesWatched: watchers.watched,
          ...shared,
          schemaDrift,
          handlers,
          schemas: runtime.routing.schemas(schemas),
          backoffFor: processing.backoffFor,
          sourceTransform: runtime.routing.sourceTransform,
          documentOf: runtime.routing.documentOf,
          maskFor: processing.maskFor,
          chartCounts: () => parts.chartCounts,
          // Read at each ordered outcome: a source's onFailure changed at runtime applies at once.
          blockingSources: () =>
            (parts.registry?.all() ?? []).filter((s) => s.ordering?.onFailure === 'block').map((s) => s.name),
        });
      }
      const worker = parts.worker;
      const wake = () => worker?.wake();
      const sources = sourcesFromConfig(config);
      const statsMinutes = createStatsMinutes(database);
      const background = (parts.background = createBackgroundTasks({ ...shared, store, statsMinutes, wake, outbound }));
      const recorder = (parts.chartCounts = createStatsRecorder({
        minutes: statsMinutes,
        logger,
        sources: () => [...sources.map((s) => s.name), ...config.polls.map((p) => p.name)],
      }));
      // Sources managed at runtime live in the database; ingest resolves every request here.
      const controlStore = createControlStore(database);
      const registry = (parts.registry = createSourceRegistry({
        config,
        database,
        controlStore,
        sources,
        logger,
        alsoLoad: runtime.catalog,
        onRefreshed: wake,
      }));
      await registry.start();
      // PGlite allows one process per DATA_DIR (src/db/data-dir-lock.ts): a claim found now was
      // made by a process that was killed or crashed, so it is due again now, not after its lease
      // (WORKER_LEASE_SECONDS, 60 s), and before ingest's hand-off can claim anything for us.
      if (worker && parts.ownedDatabase?.kind === 'pglite') await worker.recoverClaimsOfEarlierProcess();
      const web = createWebSide({
        ...shared,
        scrapeMetrics: metricsCluster?.scrape ?? metrics.scrapeProcess,
        role,
        worker,
        watchers,
        store,
        systemLog,
        controlStore,
        registry,
        sources,
        processing,
        statsMinutes,
        recorder,
        wake,
        outbound: outbound.policy,
        auditHook: options.audit,
        runtime,
        pollRunner: background.pollRunner,
        isStopping,
        running: parts,
        schemaDrift,
      });
      app = web.app;

      // One LISTEN per process: wakes the local worker and feeds the live stream, so an event
      // stored or finished by any instance is seen here.
      parts.unlisten = await listenForEvents(database, (event) => {
        if (event.due) worker?.wake(event.id);
        // A lane's next head made due (docs/ordering.md) is a wake-up, not news for the live stream.
        if (!event.promoted) web.bus.publish(event);
      });

      // Before the listener opens: a scrape it gets at once waits for the primary's answer here.
      metricsCluster?.start();
      const { http, port } = await listenForRole({
        ...shared,
        role,
        app,
        tokens: web.tokens,
        // Those of the database too: a gateway whose sources were all created at runtime has sources.
        sources: registry.all(),
        worker,
        isStopping,
        schemaIncompatible: schemaDrift.incompatible,
      });
      parts.http = http;
      started = true;
      recorder.start();
      if (worker) {
        worker.start();
        await background.start();
      }
      return { port };
    },

    /** Graceful stop: /readyz unready for the drain, then no new requests or claims, running handlers get the shutdown timeout. */
    async stop(): Promise<void> {
      stopping = true;
      // A worker-only process takes no ingest traffic: nothing for a load balancer to drain.
      const drainMs = role === 'worker' ? 0 : config.shutdownDrainMs;
      outageLogOf(logger)?.stop();
      await stopInOrder(() => parts, { logger, timeoutMs: config.shutdownTimeoutMs, drainMs, started: () => started });
      // Last: the supervisor asks a stopping child for its metrics until it has exited.
      metricsCluster?.stop();
    },
  };
  return gateway;
}

export type Gateway = ReturnType<typeof createGateway>;
