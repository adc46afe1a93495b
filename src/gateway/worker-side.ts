import type { Logger } from 'pino';
import type { GatewayConfig } from '../config/env';
import type { Database } from '../db/client';
import type { SchemaDrift } from '../db/schema-drift';
import type { Metrics } from '../ops/metrics';
import type { StatsRecorder } from '../store/stats-recorder';
import type { BackoffPolicy } from '../worker/backoff';
import type { HandlerRegistry } from '../worker/handlers';
import { createQueue, type ClaimedEvent } from '../worker/queue-sql';
import type { SchemaRegistry } from '../worker/validation';
import { createWorker } from '../worker/worker';
import type { SourceTransformLookup } from '../worker/source-transform';
import type { SourceMask } from '../ops/source-mask';
import type { DocumentLookup } from '../routing/document';

export interface GatewayWorkerDeps {
  config: GatewayConfig;
  database: Database;
  handlers: HandlerRegistry;
  schemas: Pick<SchemaRegistry, 'check'>;
  logger: Logger;
  metrics: Metrics;
  backoffFor: (source: string) => BackoffPolicy | undefined;
  /** A source's transformation and its version, read at each attempt. */
  sourceTransform: SourceTransformLookup;
  /** The source provider's documentOf (src/routing/document.ts). */
  documentOf?: DocumentLookup;
  /** What the source masks (src/ops/source-mask.ts): the attempt log hides a masked topic. */
  maskFor: (source: string) => Pick<SourceMask, 'topic'>;
  /** The chart counts, once they exist (they are built after the worker). */
  chartCounts: () => StatsRecorder | undefined;
  /** Sources whose ordering blocks a key when its head fails for good (docs/ordering.md). */
  blockingSources?: () => readonly string[];
  /** Whether anyone watches the live stream: outcomes are announced only then (src/ops/stream-watchers.ts). */
  outcomesWatched?: () => boolean;
  /** The process's one schema-drift check (src/db/schema-drift.ts): told of failed queue statements, it stops the worker's claims. */
  schemaDrift: SchemaDrift;
}

/** The worker of a `worker` or `all` process: the queue, the handlers, and metrics of every attempt. */
export function createGatewayWorker(deps: GatewayWorkerDeps) {
  const { config, metrics } = deps;
  return createWorker({
    queue: createQueue(deps.database, { blockingSources: deps.blockingSources, outcomesWatched: deps.outcomesWatched }),
    handlers: deps.handlers,
    schemas: deps.schemas,
    logger: deps.logger.child({ component: 'worker' }),
    cron: config.worker.cron,
    batchSize: config.worker.batchSize,
    concurrency: config.worker.concurrency,
    leaseSeconds: config.worker.leaseSeconds,
    backoff: { baseMs: config.worker.retryBaseMs, maxMs: config.worker.retryMaxMs },
    backoffFor: deps.backoffFor,
    sourceTransform: deps.sourceTransform,
    documentOf: deps.documentOf,
    topicMasked: (source) => deps.maskFor(source).topic,
    onAttempt: (event, outcome, seconds) => {
      metrics.attempt(event.source, outcome, seconds);
      if (outcome === 'completed' || outcome === 'failed')
        deps.chartCounts()?.finished(event.source, outcome, chartLatencyMs(event, seconds));
    },
    onLeasesRecovered: (count) => metrics.leaseRecovered(count),
    onQueueFailure: (err, statement) => deps.schemaDrift.noteFailure(err, 'worker', statement),
    halted: () => deps.schemaDrift.failedIn('worker'),
  });
}

/**
 * Receive→finished latency for the charts, as /api/stats measures it: from the last replay of a
 * replayed event (else from receipt) to the end of this attempt. Both ends are read off the
 * database's clock (its claim time plus the attempt's monotonic duration), never the host's: a
 * host clock an hour ahead of the database once charted every event as an hour late, and a
 * replay of a week-old event as a week late (test/stats-series-latency.test.ts).
 */
function chartLatencyMs(event: ClaimedEvent, attemptSeconds: number): number {
  const from = (event.replayedAt ?? event.receivedAt).getTime();
  return event.attemptStartedAt.getTime() - from + attemptSeconds * 1000;
}
