import type { Database } from '../db/client';
import { createProtectionStore } from '../deliver/protection-sql';
import { createMetrics } from '../ops/metrics';
import { joinMetricsCluster } from '../ops/metrics-cluster';
import { createStatsQueries } from '../store/stats';

/**
 * The gateway's metrics, with the queue depth and the circuits read from its database at each
 * scrape; under the supervisor (`clusterProcess` set), also its part in the group's /metrics.
 */
export function createGatewayMetrics(database: () => Database, clusterProcess: string | undefined) {
  const metrics = createMetrics({
    queueDepth: () => createStatsQueries(database()).queueDepth(),
    circuits: () => createProtectionStore(database()).circuits(),
  });
  // A lone process answers /metrics from its own registries; a child of the supervisor asks the
  // others through it, on a scrape only (nothing on the ingest path).
  const metricsCluster = clusterProcess
    ? joinMetricsCluster({ process: clusterProcess, registries: metrics.registries })
    : undefined;
  return { metrics, metricsCluster };
}
