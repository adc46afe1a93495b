import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import type { Hono } from 'hono';
import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import { createApp } from './app';
import type { GatewayConfig } from './config/env';
import { openDatabase, type Database } from './db/client';
import { runMigrations } from './db/migrate';
import { keycloakAuditHandler } from './handlers/keycloak-audit';
import { createIngestRoutes } from './ingest/routes';
import { createRejectionLog, type RejectionLog } from './ingest/rejection-log';
import { createRejectedRequestRecorder, type RejectedRequestRecorder } from './ingest/rejected-request-recorder';
import { createRejectedRequestStore } from './store/rejected-requests';
import { createRequestRoutes } from './ops/request-routes';
import { createAlertRoutes } from './ops/alert-routes';
import { createAlertStore, startAlerts } from './alerts';
import { sourcesFromConfig } from './ingest/sources';
import { createLogger } from './logger';
import { startTracing, type TracingHandle } from './tracing/setup';
import { createRegistry, type Registry } from './control/registry';
import { createControlRoutes, type ControlRoutesDeps } from './control/routes';
import { createSourceService } from './control/service';
import { createControlStore } from './control/store';
import { startupReport } from './startup-report';
import { createEventBus } from './ops/event-bus';
import { createMetrics } from './ops/metrics';
import { auditContext } from './ops/audit-context';
import { describeOpenApi } from './ops/openapi';
import { createConflictRoutes } from './ops/conflict-routes';
import { addAccessRoutes } from './ops/access-routes';
import { describeError } from './errors';
import { createAuthenticator } from './ops/auth';
import { addExportRoutes } from './ops/export-routes';
import { createOpsApp, createOpsRoutes } from './ops/routes';
import { createAuditLog } from './store/audit';
import { createTokenStore } from './store/tokens';
import { createPollRoutes, createPollRunLog, createPollRunner, createPollScheduler, type PollScheduler } from './poll';
import { createStreamRoutes } from './ops/stream';
import { createSystemRoutes } from './ops/system-routes';
import { createRetention } from './store/retention';
import { createArrivalQueries } from './store/arrivals';
import { createUiRoutes } from './ui/routes';
import { createStatsQueries } from './store/stats';
import { createConflictQueries } from './store/conflicts';
import { createStatsMinutes } from './store/stats-minute';
import { createStatsRecorder, type StatsRecorder } from './store/stats-recorder';
import { statsSeries } from './store/stats-series';
import { createEventStore } from './store/events';
import { createGroupCommit } from './store/group-commit';
import { createSystemLog } from './store/system-log';
import type { z } from 'zod';
import { forwardToDestinations, type ForwardingOptions } from './deliver/destinations';
import { createDeliveryLog, type DeliveryLog } from './store/deliveries';
import { HandlerRegistry, type EventHandler } from './worker/handlers';
import { SchemaRegistry } from './worker/validation';
import { listenForEvents } from './worker/notifications';
import { createQueue } from './worker/queue-sql';
import type { BackoffPolicy } from './worker/backoff';
import { createWorker } from './worker/worker';

export type Role = 'web' | 'worker' | 'all';

export interface GatewayOptions {
  logger?: Logger;
  /** Use an already open database (tests, embedding); otherwise one is opened from config. */
  database?: Database;
  /** Which parts run in this process. Default: all. */
  role?: Role;
  /** Records every control-plane change (sources, secrets, pause) with before/after, secrets redacted. */
  audit?: ControlRoutesDeps['audit'];
}

/**
 * Builds the whole gateway from config: database, ingest and ops routes, worker and handler
 * registry. Nothing listens or connects until `start()`.
 */
export function createGateway(config: GatewayConfig, options: GatewayOptions = {}) {
  const logger = options.logger ?? createLogger(config.logLevel);
  const role = options.role ?? 'all';
  const handlers = new HandlerRegistry();
  const schemas = new SchemaRegistry();
  let database = options.database;
  let server: Server | undefined;
  let webSockets: WebSocketServer | undefined;
  let worker: ReturnType<typeof createWorker> | undefined;
  let app: Hono | undefined;
  let ownsDatabase = false;
  let unlisten: (() => Promise<void>) | undefined;
  let retentionTask: ScheduledTask | undefined;
  let pollScheduler: PollScheduler | undefined;
  let stopping = false;
  let started = false;
  let rejections: RejectionLog | undefined;
  let chartCounts: StatsRecorder | undefined;
  let tracing: TracingHandle | undefined;
  let rejectedRequests: RejectedRequestRecorder | undefined;
  let alerting: Awaited<ReturnType<typeof startAlerts>> | undefined;
  let registry: Registry | undefined;
  const metrics = createMetrics({ queueDepth: () => createStatsQueries(gateway.database).queueDepth() });

  // Handlers are registered before start(); the database they write to exists only after it.
  const lazyDeliveryLog: DeliveryLog = {
    deliveredDestinations: (eventId) => createDeliveryLog(gateway.database).deliveredDestinations(eventId),
    record: (attempt) => createDeliveryLog(gateway.database).record(attempt),
    forEvent: (eventId) => createDeliveryLog(gateway.database).forEvent(eventId),
  };

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
     * signed with Standard Webhooks; the same handler config-file destinations use.
     */
    forward(source: string, options: Omit<ForwardingOptions, 'deliveries'>, topic = '*') {
      handlers.on(source, topic, forwardToDestinations({ ...options, deliveries: lazyDeliveryLog }));
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
      if (!database) {
        database = await openDatabase(config.database);
        ownsDatabase = true;
      }
      await runMigrations(database, config.database.url);

      const store = createEventStore(database);
      const systemLog = createSystemLog(database);
      const processing = applyProcessingConfig(config, gateway);
      // Every Keycloak source is audited, whatever it is named (env "keycloak" or a config-file
      // one), unless a handler of its own (destinations, an embedder's) already takes its events.
      for (const source of sourcesFromConfig(config).filter((s) => s.provider.name === 'keycloak')) {
        if (!handlers.resolve(source.name, '*')) handlers.on(source.name, '*', keycloakAuditHandler(systemLog));
      }

      if (role !== 'web') {
        worker = createWorker({
          queue: createQueue(database),
          handlers,
          schemas,
          logger: logger.child({ component: 'worker' }),
          cron: config.worker.cron,
          batchSize: config.worker.batchSize,
          concurrency: config.worker.concurrency,
          leaseSeconds: config.worker.leaseSeconds,
          backoff: { baseMs: config.worker.retryBaseMs, maxMs: config.worker.retryMaxMs },
          backoffFor: processing.backoffFor,
          onAttempt: (event, outcome, seconds) => {
            metrics.attempt(event.source, outcome, seconds);
            if (outcome !== 'retry') chartCounts?.finished(event.source, outcome, Date.now() - event.receivedAt.getTime());
          },
          onLeasesRecovered: (count) => metrics.leaseRecovered(count),
        });
      }
      const wake = () => worker?.wake();
      // Pull polling (SPS): runs claim a lock per source in the database; cron only triggers.
      const pollRunner = createPollRunner({
        database,
        store,
        sources: config.polls,
        logger,
        maxAttempts: config.worker.maxAttempts,
        onStored: wake,
      });
      pollScheduler = createPollScheduler({ runner: pollRunner, logger });
      const stats = createStatsQueries(database);
      const deliveries = createDeliveryLog(database);
      const sources = sourcesFromConfig(config);
      const statsMinutes = createStatsMinutes(database);
      const recorder = (chartCounts = createStatsRecorder({
        minutes: statsMinutes,
        logger,
        sources: () => [...sources.map((s) => s.name), ...config.polls.map((p) => p.name)],
      }));
      // Sources managed at runtime live in the database; ingest resolves every request here.
      const controlStore = createControlStore(database);
      registry = createRegistry({
        database,
        store: controlStore,
        fileSources: sources,
        reservedNames: config.polls.map((p) => p.name),
        keyring: config.control.keyring,
        defaultRateLimit: config.rateLimit,
        logger: logger.child({ component: 'control' }),
        refreshMs: config.control.refreshMs,
      });
      await registry.start();
      const bus = createEventBus();
      const conflicts = createConflictQueries(database);
      const audit = createAuditLog(database);
      const tokenStore = createTokenStore(database);
      const authenticator = createAuthenticator({
        bootstrapTokens: config.opsTokens,
        metricsTokens: config.metricsTokens,
        tokens: tokenStore,
        onError: (err) => logger.warn({ err: describeError(err) }, 'could not record a token use'),
      });
      // One OpenAPI app for the whole ops API (its document covers every route). Exports first:
      // /api/events/export must not be read as /api/events/{id}.
      const opsRoutes = createOpsApp();
      addExportRoutes(opsRoutes, {
        store,
        systemLog,
        audit,
        logger,
        maskFor: processing.maskFor,
        maskedSources: processing.maskedSources,
      });
      addAccessRoutes(opsRoutes, { tokens: tokenStore, audit, trustedProxies: config.trustProxy });
      opsRoutes.route(
        '/',
        createOpsRoutes({
          store,
          deliveries,
          conflicts,
          stats,
          audit,
          trustedProxies: config.trustProxy,
          maxAttempts: config.worker.maxAttempts,
          maxAttemptsBySource: Object.fromEntries(sources.flatMap((s) => (s.maxAttempts === undefined ? [] : [[s.name, s.maxAttempts]]))),
          maskFor: processing.maskFor,
          maskedSources: processing.maskedSources,
          onReplayed: wake,
          // Flushing this process's counts first: a chart read right after an action shows it.
          series: async (window, source) => {
            await recorder.flush();
            return statsSeries(statsMinutes, window, source);
          },
        }),
      );
      // Mounted into the ops routes so their OpenAPI document describes the conflicts too.
      opsRoutes.route('/', createConflictRoutes({ conflicts, maskFor: processing.maskFor }));
      const requestStore = createRejectedRequestStore(database);
      opsRoutes.route('/', createRequestRoutes({ requests: requestStore, sources: sources.map((s) => s.name) }));
      opsRoutes.route(
        '/',
        createAlertRoutes({
          alerts: createAlertStore(database),
          audit: (c, change) => audit.record({ ...auditContext(c, config.trustProxy), ...change }),
        }),
      );
      opsRoutes.route(
        '/',
        createControlRoutes({
          sources: createSourceService({ store: controlStore, registry, keyring: config.control.keyring }),
          // Every source change goes to the operator audit log (views hold fingerprints, never secrets).
          audit: async (change, c) => {
            await audit.record({
              ...auditContext(c, config.trustProxy),
              action: change.action,
              target: change.source,
              before: change.before,
              after: change.after,
            });
            await options.audit?.(change, c);
          },
          onResumed: wake,
        }),
      );
      describeOpenApi(opsRoutes);
      const ingestLogger = logger.child({ component: 'ingest' });
      rejections = createRejectionLog({ logger: ingestLogger, ...config.rejectionLog });
      rejectedRequests = createRejectedRequestRecorder({
        write: requestStore.write,
        logger: ingestLogger,
        ...config.rejectedRequests,
        onNotRecorded: metrics.rejectionNotRecorded,
      });
      app = createApp({
        logger,
        isStopping: () => stopping,
        authenticator,
        routes: [
          createSystemRoutes({ database: () => gateway.database, metrics }),
          createUiRoutes(),
          // Before the ops routes: /api/events/stream must not be read as /api/events/{id}.
          createStreamRoutes({
            bus,
            clientBufferBytes: config.streamClientBufferBytes,
            arrivals: createArrivalQueries(database),
            providerFor: (name) => sources.find((s) => s.name === name)?.provider.name,
            maskFor: processing.maskFor,
            onCutOff: metrics.streamClientCutOff,
          }),
          createIngestRoutes({
            sources: registry,
            store: createGroupCommit({ database, store }),
            logger: ingestLogger,
            maxBodyBytes: config.maxBodyBytes,
            maxAttempts: config.worker.maxAttempts,
            writeTimeoutMs: config.database.writeTimeoutMs,
            onAccepted: wake,
            onAnswered: (source, outcome, reason, seconds) => {
              metrics.ingest(source, outcome, reason, seconds);
              if (outcome === 'accepted') recorder.received(source);
              else if (outcome === 'rejected') recorder.rejected(source);
            },
            unverifiedRateLimit: config.unverifiedRateLimit,
            trustedProxies: config.trustProxy,
            rejections,
            rejectedRequests,
          }),
          opsRoutes,
          createPollRoutes({ runner: pollRunner, runs: createPollRunLog(database) }),
        ],
      });

      // One LISTEN per process: wakes the local worker and feeds the live stream, so an event
      // stored or finished by any instance is seen here.
      unlisten = await listenForEvents(database, (event) => {
        if (event.due) worker?.wake();
        bus.publish(event);
      });

      let port: number | undefined;
      if (role !== 'worker') {
        port = await new Promise<number>((resolve, reject) => {
          webSockets = new WebSocketServer({ noServer: true, maxPayload: 4096 });
          server = <Server>serve(
            {
              fetch: app!.fetch,
              // WebSocket upgrades of the live stream; clients send nothing we read, so frames stay small.
              websocket: { server: webSockets },
              port: config.port,
              hostname: config.host,
              // Slow-loris protection: a client gets this long for its headers, and for the whole request.
              serverOptions: {
                headersTimeout: config.timeouts.headersMs,
                requestTimeout: config.timeouts.requestMs,
                // How often Node checks those timeouts (default 30 s, far too lax for slow-loris).
                connectionsCheckingInterval: Math.min(1000, config.timeouts.headersMs),
              },
            },
            (info) => resolve(info.port),
          );
          server.once('error', reject);
          // Every open connection costs memory and a file descriptor; past the cap new ones are
          // closed as soon as they are accepted (Node's 'drop' event), before any byte is read.
          server.maxConnections = config.maxConnections;
          server.on('drop', () => metrics.connectionDropped());
        });
      }
      // One summary line (what runs, where each source is), then what looks wrong.
      const report = startupReport({ config, role, databaseKind: database.kind, sources, port });
      logger.info({ port, ...report.summary }, port === undefined ? 'gateway started (worker only)' : 'gateway listening');
      for (const warning of report.warnings) logger.warn(warning);
      started = true;
      recorder.start();
      if (worker) {
        worker.start();
        pollScheduler.start();
        alerting = await startAlerts({ database, config: config.alerts, logger, onNotice: metrics.alertNotification });
        const retention = createRetention(database);
        // Only sources whose signatures expire may forget their nonces (see purgeBookkeeping).
        const expiringNonceSources = sourcesFromConfig(config)
          .filter((s) => s.provider.replayWindowSeconds !== undefined)
          .map((s) => s.name);
        retentionTask = cron.schedule(
          config.retention.cron,
          async () => {
            try {
              const purged = await retention.purge(config.retention);
              const bookkeeping = {
                ...(await retention.purgeBookkeeping({
                  ...config.retention,
                  expiringNonceSources,
                  rejectedRequestDays: config.rejectedRequests.retentionDays,
                })),
                // The charts show a day at most; a week is kept for a look back with SQL.
                chartMinutes: await statsMinutes.purge(7),
              };
              if (purged.completed + purged.failed + Object.values(bookkeeping).reduce((a, b) => a + b, 0) > 0) {
                logger.info({ purged, bookkeeping }, 'retention removed old rows');
              }
            } catch (err) {
              logger.error({ err }, 'retention run failed');
            }
          },
          { name: 'retention', noOverlap: true },
        );
      }
      return { port };
    },

    /** Graceful stop: no new requests or claims, running handlers get the shutdown timeout. */
    async stop(): Promise<void> {
      stopping = true;
      const connections = server?.listening
        ? await new Promise<number>((resolve) => server!.getConnections((_, count) => resolve(count ?? 0)))
        : 0;
      if (started) {
        logger.info(
          { openConnections: connections, runningHandlers: worker?.inFlight ?? 0, timeoutMs: config.shutdownTimeoutMs },
          `stopping: no new requests or claims; waiting up to ${config.shutdownTimeoutMs} ms for ${connections} open connections and ${worker?.inFlight ?? 0} running handlers`,
        );
      }
      // Stop accepting connections; requests in flight finish and are answered (with
      // "connection: close"); whatever is still open after the shutdown timeout is cut.
      const closing = server
        ? new Promise<void>((resolve) => {
            server!.close(() => resolve());
            server!.closeIdleConnections();
          })
        : Promise.resolve();
      // Upgraded sockets are no longer the HTTP server's connections: told to go away here, and
      // destroyed with everything else at the shutdown timeout.
      for (const client of webSockets?.clients ?? []) client.close(1001, 'gateway stopping');
      const cutOff = setTimeout(() => {
        server?.closeAllConnections();
        for (const client of webSockets?.clients ?? []) client.terminate();
      }, config.shutdownTimeoutMs);
      await retentionTask?.destroy();
      await pollScheduler?.stop();
      await alerting?.stop();
      await worker?.stop(config.shutdownTimeoutMs);
      await closing;
      clearTimeout(cutOff);
      rejections?.flush();
      await chartCounts?.stop().catch((err: unknown) => logger.warn({ err }, 'last chart counts not written'));
      await rejectedRequests?.stop();
      await unlisten?.().catch(() => {});
      await registry?.stop();
      if (ownsDatabase) await database?.close();
      await tracing?.shutdown().catch((err: unknown) => logger.warn({ err }, 'last spans not exported'));
      if (started) logger.info(ownsDatabase ? 'stopped: requests answered, handlers finished or handed back, database closed' : 'stopped');
    },
  };
  return gateway;
}

export type Gateway = ReturnType<typeof createGateway>;

/**
 * Turns the config file's per-source processing keys into registrations: destinations become the
 * forwarding handler, JSON Schemas payload checks; retry and mask become lookups for the worker
 * and the ops API.
 */
function applyProcessingConfig(config: GatewayConfig, gateway: Gateway) {
  const backoff = new Map<string, BackoffPolicy>();
  const masks = new Map<string, readonly string[]>();
  for (const source of config.sources) {
    const p = source.processing;
    if (p.destinations.length > 0) {
      gateway.forward(source.name, {
        destinations: p.destinations,
        provider: source.provider,
        aggregateIdPath: p.aggregateIdPath,
        tenantContext: p.tenantContext,
      });
    }
    for (const [topic, schema] of Object.entries(p.schemas)) gateway.validate(source.name, topic, schema);
    if (p.mask.length > 0) masks.set(source.name, p.mask);
    if (p.retry?.baseMs || p.retry?.maxMs) {
      backoff.set(source.name, {
        baseMs: p.retry.baseMs ?? config.worker.retryBaseMs,
        maxMs: p.retry.maxMs ?? config.worker.retryMaxMs,
      });
    }
  }
  return {
    backoffFor: (source: string) => backoff.get(source),
    maskFor: (source: string) => masks.get(source) ?? [],
    maskedSources: [...masks.keys()],
  };
}
