import {
  CLUSTER_SCRAPE_REPLY_TIMEOUT_MS,
  CLUSTER_SCRAPE_TIMEOUT_MS,
  isCollectRequest,
  isGathered,
  type Collected,
  type Gathered,
  type ScrapeRequest,
} from '../cluster/metrics-messages';
import { GatewayError } from '../errors';
import type { MetricRegistries } from './metrics';
import { aggregateSnapshots, snapshotMetrics, type WireMetric } from './metrics-snapshot';

/**
 * The scrape answered with 503 when a process of the group did not send its metrics in time. A
 * partial answer would be worse than none: the missing process's counters would vanish from the
 * sums and come back at the next scrape, which Prometheus reads as a reset and then a jump.
 */
export const metricsIncomplete = (what: string, waitedMs: number) =>
  new GatewayError(
    503,
    'metrics_incomplete',
    `${what} within ${waitedMs} ms, so this scrape is not answered (partial sums would read as counter resets). Retry the scrape; if this keeps happening, look at that process (its log, its CPU).`,
    { internal: false, headers: { 'retry-after': '5' } },
  );

/**
 * A child of `start --web-processes` (src/cluster/supervisor.ts) in the group's metrics: answers
 * the primary's requests for this process's metrics, and answers a scrape it gets with the whole
 * group's (./metrics-snapshot.ts). Messages flow only while a scrape runs.
 */
export function joinMetricsCluster(options: { process: string; registries: MetricRegistries }) {
  const { registries } = options;
  const waiting = new Map<number, (gathered: Gathered | undefined) => void>();
  let nextId = 0;

  // A channel closed meanwhile (the primary is gone) is the callback's argument, not an 'error' event.
  const send = (message: Collected | ScrapeRequest, onError: () => void = () => {}) => {
    if (!process.connected || !process.send) return onError();
    process.send(message, undefined, undefined, (err: Error | null) => err && onError());
  };

  const onMessage = (message: unknown) => {
    if (isCollectRequest(message)) {
      snapshotMetrics(registries, { process: options.process, withDatabase: false }).then(
        (metrics) => send({ gateway: 'metrics-collected', id: message.id, metrics }),
        () => send({ gateway: 'metrics-collected', id: message.id }),
      );
    } else if (isGathered(message)) waiting.get(message.id)?.(message);
  };

  /** The other processes' metrics, through the primary; undefined if it does not answer. */
  const gatherOthers = () =>
    new Promise<Gathered | undefined>((resolve) => {
      const id = nextId++;
      const done = (gathered: Gathered | undefined) => {
        clearTimeout(timer);
        waiting.delete(id);
        resolve(gathered);
      };
      const timer = setTimeout(() => done(undefined), CLUSTER_SCRAPE_REPLY_TIMEOUT_MS);
      waiting.set(id, done);
      send({ gateway: 'metrics-scrape', id }, () => done(undefined));
    });

  return {
    /** Listens to the primary: its requests for this process's metrics, and its answers to this process's scrapes. */
    start() {
      process.on('message', onMessage);
    },
    stop() {
      process.off('message', onMessage);
      for (const done of waiting.values()) done(undefined);
    },

    /** The group's metrics in the Prometheus text format; a GatewayError (503) when they are incomplete. */
    async scrape(): Promise<string> {
      const [own, others] = await Promise.all([
        snapshotMetrics(registries, { process: options.process, withDatabase: true }),
        gatherOthers(),
      ]);
      if (!others) throw metricsIncomplete('The supervising process did not answer', CLUSTER_SCRAPE_REPLY_TIMEOUT_MS);
      if (others.missing.length > 0) {
        const names = others.missing.join(', ');
        throw metricsIncomplete(`The metrics of gateway process ${names} did not arrive`, CLUSTER_SCRAPE_TIMEOUT_MS);
      }
      // The other children's snapshots were made by snapshotMetrics too.
      return aggregateSnapshots([own, ...(others.snapshots as WireMetric[][])]);
    },
  };
}
