import type { Hono } from 'hono';
import type { Logger } from 'pino';
import { createApp } from '../app';
import type { GatewayConfig } from '../config/env';
import type { Database } from '../db/client';
import type { PushSource } from '../ingest/sources';
import type { EventBus } from '../ops/event-bus';
import type { Metrics } from '../ops/metrics';
import type { SourceMask } from '../ops/source-mask';
import { createStreamRoutes } from '../ops/stream';
import { createSystemRoutes } from '../ops/system-routes';
import { createPollRoutes, createPollRunLog, type PollRunner } from '../poll';
import { createArrivalQueries } from '../store/arrivals';
import type { TokenStore } from '../store/tokens';
import { createUiRoutes } from '../ui/routes';
import { createGatewayAuthenticator } from './authenticator';

/** A route group as createApp mounts it (typed and plain Hono apps alike). */
type RouteGroup = Parameters<typeof createApp>[0]['routes'][number];

export interface WebAppDeps {
  config: GatewayConfig;
  database: Database;
  logger: Logger;
  metrics: Metrics;
  /** What GET /metrics answers: this process's metrics, or under the supervisor the whole group's. */
  scrapeMetrics: () => Promise<string>;
  tokens: TokenStore;
  bus: EventBus;
  /** A push source by name: file, env or created at runtime (the registry's current snapshot). */
  sourceNamed: (name: string) => PushSource | undefined;
  maskFor: (source: string) => SourceMask;
  /** Sources with masked fields (src/ops/masked-filters.ts). */
  maskedSources: () => readonly string[];
  ingestRoutes: RouteGroup;
  opsApi: RouteGroup;
  pollRunner: PollRunner;
  isStopping: () => boolean;
  /** True once this process's stores fail on a newer release's schema (src/db/schema-drift.ts). */
  schemaIncompatible: () => boolean;
}

/** The HTTP app: the token check, then every route group in the order they must match. */
export function createWebApp(deps: WebAppDeps): Hono {
  const { config, database, logger, metrics } = deps;
  return createApp({
    logger,
    isStopping: deps.isStopping,
    authenticator: createGatewayAuthenticator({ config, tokens: deps.tokens, logger }),
    routes: [
      createSystemRoutes({
        database: () => database,
        scrapeMetrics: deps.scrapeMetrics,
        isStopping: deps.isStopping,
        schemaIncompatible: deps.schemaIncompatible,
      }),
      createUiRoutes(),
      // Before the ops routes: /api/events/stream must not be read as /api/events/{id}.
      createStreamRoutes({
        bus: deps.bus,
        clientBufferBytes: config.streamClientBufferBytes,
        arrivals: createArrivalQueries(database),
        // Every source ingest knows, those created at runtime too (listen signs with it).
        providerFor: (name) => deps.sourceNamed(name)?.provider.name,
        maskFor: deps.maskFor,
        maskedSources: deps.maskedSources,
        onCutOff: metrics.streamClientCutOff,
      }),
      deps.ingestRoutes,
      deps.opsApi,
      createPollRoutes({ runner: deps.pollRunner, runs: createPollRunLog(database) }),
    ],
    dedicated: { prefix: '/api/webhooks/', routes: deps.ingestRoutes },
  });
}
