import { scheduleCron, type CronSchedule } from '../cron';
import type { Logger } from 'pino';
import { startAlerts } from '../alerts';
import type { GatewayConfig } from '../config/env';
import type { Database } from '../db/client';
import { sourcesFromConfig } from '../ingest/sources';
import type { Metrics } from '../ops/metrics';
import { createPollRunner, createPollScheduler } from '../poll';
import type { EventStore } from '../store/events';
import { createPartitions } from '../store/partitions';
import { deleteOrphanedConflicts } from '../store/orphaned-conflicts';
import { createRetention } from '../store/retention';
import type { StatsMinutes } from '../store/stats-minute';
import type { Outbound } from '../outbound/guarded-fetch';

export interface BackgroundDeps {
  config: GatewayConfig;
  database: Database;
  logger: Logger;
  store: EventStore;
  metrics: Metrics;
  statsMinutes: StatsMinutes;
  /** Wakes the local worker when a poll stored an event. */
  wake: () => void;
  /** The guarded fetch of SPS REST polls and alert notices, and the guarded sockets of SMTP and SFTP. */
  outbound: Outbound;
}

/**
 * The scheduled work of a worker process: poll schedules, alert evaluation and the retention cron.
 * The poll runner exists in every role (runs can be started over HTTP), and `stop()` runs in every
 * role: stopping the poll scheduler also ends those runs.
 */
export function createBackgroundTasks(deps: BackgroundDeps) {
  const { config, database, logger } = deps;
  // Pull polling (SPS): runs claim a lock per source in the database; cron only triggers.
  const pollRunner = createPollRunner({
    database,
    store: deps.store,
    sources: config.polls,
    logger,
    maxAttempts: config.worker.maxAttempts,
    onStored: deps.wake,
    fetch: deps.outbound.fetch,
    openSocket: deps.outbound.openSocket,
  });
  const pollScheduler = createPollScheduler({ runner: pollRunner, logger });
  let retentionTask: CronSchedule | undefined;
  let alerting: Awaited<ReturnType<typeof startAlerts>> | undefined;

  return {
    pollRunner,

    /** Starts the poll schedules, the alert evaluation and the retention cron (worker processes only). */
    async start(): Promise<void> {
      pollScheduler.start();
      alerting = await startAlerts({
        database,
        config: config.alerts,
        logger,
        onNotice: deps.metrics.alertNotification,
        fetch: deps.outbound.fetch,
        openSocket: deps.outbound.openSocket,
      });
      // The week ahead exists from the start (migration 0019 made one; a gateway down longer finds
      // its days in the default partition, moved out when their partition is created).
      await createPartitions(database)
        .createAhead(PARTITION_DAYS_AHEAD)
        .catch((err: unknown) => logger.error({ err }, 'creating history partitions failed'));
      retentionTask = scheduleRetention(deps);
    },

    /** Stops whatever was started, and runs started over HTTP. */
    async stop(): Promise<void> {
      retentionTask?.stop();
      await pollScheduler.stop();
      await alerting?.stop();
    },
  };
}

/** Day partitions of the history tables kept ready ahead of time (a week: any cron schedule runs by then). */
const PARTITION_DAYS_AHEAD = 7;

/**
 * The retention cron: creates the history partitions ahead, drops the days past retention, then
 * purges old events left in kept days row by row, bookkeeping, chart minutes and conflicts left
 * without their event.
 */
function scheduleRetention({ config, database, logger, statsMinutes }: BackgroundDeps): CronSchedule {
  const retention = createRetention(database);
  const partitions = createPartitions(database);
  // Only sources whose signatures expire may forget their nonces (see purgeBookkeeping).
  const expiringNonceSources = sourcesFromConfig(config)
    .filter((s) => s.provider.replayWindowSeconds !== undefined)
    .map((s) => s.name);
  return scheduleCron(
    config.retention.cron,
    async () => {
      try {
        const created = await partitions.createAhead(PARTITION_DAYS_AHEAD);
        const { dropped, kept, keysDeleted } = await partitions.dropExpired(config.retention);
        if (created + dropped.length + kept.length + keysDeleted > 0) {
          logger.info({ created, dropped, kept, keysDeleted }, 'retention maintained the history partitions');
        }
        const purged = await retention.purge(config.retention);
        const bookkeeping = {
          ...(await retention.purgeBookkeeping({
            ...config.retention,
            expiringNonceSources,
            rejectedRequestDays: config.rejectedRequests.retentionDays,
          })),
          // The charts show a day at most; a week is kept for a look back with SQL.
          chartMinutes: await statsMinutes.purge(7),
          // Left by a race fixed since (src/store/orphaned-conflicts.ts); none are made any more.
          orphanedConflicts: await deleteOrphanedConflicts(database),
        };
        if (purged.completed + purged.failed + Object.values(bookkeeping).reduce((a, b) => a + b, 0) > 0) {
          logger.info({ purged, bookkeeping }, 'retention removed old rows');
        }
      } catch (err) {
        logger.error({ err }, 'retention run failed');
      }
    },
    { name: 'retention', logger },
  );
}
