import type { Logger } from 'pino';
import type { GatewayConfig } from '../config/env';
import { createBodyBudget } from '../ingest/body-budget';
import type { Registry } from '../control/registry';
import type { Database } from '../db/client';
import { createRejectedRequestRecorder } from '../ingest/rejected-request-recorder';
import { createRejectionLog } from '../ingest/rejection-log';
import type { SchemaDrift } from '../db/schema-drift';
import { createIngestRoutes } from '../ingest/routes';
import type { Metrics } from '../ops/metrics';
import type { EventStore } from '../store/events';
import { createGroupCommit, type LocalClaimant } from '../store/group-commit';
import type { RejectedRequestStore } from '../store/rejected-requests';
import type { StatsRecorder } from '../store/stats-recorder';

export interface IngestSideDeps {
  config: GatewayConfig;
  database: Database;
  store: EventStore;
  registry: Registry;
  requests: RejectedRequestStore;
  logger: Logger;
  metrics: Metrics;
  recorder: StatsRecorder;
  /** Wakes the local worker when an event is stored. */
  wake: () => void;
  /** The local worker, when events stored here are handed off to it (config worker.handOff). */
  claimant?: LocalClaimant;
  /** Whether anyone watches the live stream: the arrivals claimed for `claimant` are announced only then. */
  watched?: () => boolean;
  /**
   * False in a worker-only process, which serves no ingest: its body budget is not reported, so
   * the budget a `--web-processes` group's /metrics sums is the web processes' only.
   */
  servesIngest: boolean;
  /** The process's one schema-drift check (src/db/schema-drift.ts), told of every failed store. */
  schemaDrift: SchemaDrift;
}

/**
 * The ingest side: the per-source routes writing through group commit, and the logs of rejected
 * requests (a rate-limited log line and a sampled database record), flushed and stopped at shutdown.
 */
export function createIngestSide(deps: IngestSideDeps) {
  const { config, metrics, recorder } = deps;
  const logger = deps.logger.child({ component: 'ingest' });
  const bodyBudget = createBodyBudget(config.ingestBodyBudgetBytes, config.ingestBodyWait);
  if (deps.servesIngest) metrics.watchIngestBodyBudget(bodyBudget);
  const rejections = createRejectionLog({ logger, ...config.rejectionLog });
  const rejectedRequests = createRejectedRequestRecorder({
    write: deps.requests.write,
    logger,
    ...config.rejectedRequests,
    onNotRecorded: metrics.rejectionNotRecorded,
  });
  const routes = createIngestRoutes({
    sources: deps.registry,
    store: createGroupCommit({
      database: deps.database,
      store: deps.store,
      claimant: deps.claimant,
      watched: deps.watched,
      maxWaitMs: config.database.writeTimeoutMs,
    }),
    logger,
    maxBodyBytes: config.maxBodyBytes,
    bodyBudget,
    maxAttempts: config.worker.maxAttempts,
    writeTimeoutMs: config.database.writeTimeoutMs,
    onAccepted: deps.wake,
    onInsertFailed: (err) => deps.schemaDrift.noteFailure(err, 'ingest'),
    onAnswered: (source, outcome, reason, seconds) => {
      metrics.ingest(source, outcome, reason, seconds);
      if (outcome === 'accepted') recorder.received(source);
      else if (outcome === 'rejected') recorder.rejected(source);
    },
    unverifiedRateLimit: config.unverifiedRateLimit,
    trustedProxies: config.trustProxy,
    rejections,
    rejectedRequests,
  });
  return { routes, rejections, rejectedRequests };
}
