import type { Worker } from 'node:cluster';
import type { Logger } from 'pino';
import {
  CLUSTER_SCRAPE_TIMEOUT_MS,
  isCollected,
  isScrapeRequest,
  type CollectRequest,
  type Gathered,
} from './metrics-messages';

/** A child the relay may ask: started (it said so) and still connected. */
export interface NamedChild {
  name: string;
  child: Worker;
}

interface Collection {
  requester: Worker;
  requestId: number;
  waiting: Map<Worker, string>;
  /** Children that answered without their metrics (collecting them failed). */
  failed: string[];
  snapshots: unknown[][];
  timer: NodeJS.Timeout;
}

/**
 * The primary's part of a cluster-wide /metrics scrape (./metrics-messages.ts): fans a web
 * process's request out to the other started children and hands their answers back, after all
 * answered or after CLUSTER_SCRAPE_TIMEOUT_MS. A child that exits meanwhile is not waited for: its
 * counters went with it, as they would with a lone process that restarts. A child that is being
 * started again is not asked: it has counted nothing yet.
 */
export function createMetricsRelay(options: {
  /** The children to ask for a scrape that `requester` got. */
  others: (requester: Worker) => NamedChild[];
  /** The primary's own metrics, added to every answer (./primary-metrics.ts). */
  own?: () => Promise<unknown[]>;
  logger: Logger;
  timeoutMs?: number;
}) {
  const timeoutMs = options.timeoutMs ?? CLUSTER_SCRAPE_TIMEOUT_MS;
  const collections = new Map<number, Collection>();
  let nextId = 0;

  const finish = (id: number) => {
    const collection = collections.get(id);
    if (!collection) return;
    collections.delete(id);
    clearTimeout(collection.timer);
    const missing = [...collection.failed, ...collection.waiting.values()];
    if (missing.length > 0)
      options.logger.warn({ missing, timeoutMs }, 'gateway processes did not answer a metrics scrape in time');
    const reply = (own: unknown[] | undefined) => {
      const answer: Gathered = {
        gateway: 'metrics-gathered',
        id: collection.requestId,
        snapshots: own ? [...collection.snapshots, own] : collection.snapshots,
        // The primary's counters missing would read as a reset as much as a child's would.
        missing: own || !options.own ? missing : [...missing, 'primary'],
      };
      // With a callback, a channel that closed meanwhile is an argument here, not an 'error' event.
      if (collection.requester.isConnected()) collection.requester.send(answer, () => {});
    };
    if (!options.own) return reply(undefined);
    options.own().then(reply, () => reply(undefined));
  };

  const gather = (requester: Worker, requestId: number) => {
    const id = nextId++;
    const asked = options.others(requester);
    const collection: Collection = {
      requester,
      requestId,
      waiting: new Map(asked.map((c) => [c.child, c.name])),
      failed: [],
      snapshots: [],
      timer: setTimeout(() => finish(id), timeoutMs),
    };
    collections.set(id, collection);
    const request: CollectRequest = { gateway: 'metrics-collect', id };
    // A child whose channel closed meanwhile exits: exited() stops waiting for it.
    for (const { child } of asked) child.send(request, () => {});
    if (asked.length === 0) finish(id);
  };

  const answered = (child: Worker, id: number, metrics: unknown[] | undefined) => {
    const collection = collections.get(id);
    const name = collection?.waiting.get(child);
    if (!collection || name === undefined) return;
    collection.waiting.delete(child);
    // A child that could not collect its metrics is missing: the scrape must not look complete.
    if (metrics) collection.snapshots.push(metrics);
    else collection.failed.push(name);
    if (collection.waiting.size === 0) finish(id);
  };

  return {
    /** Handles a child's message if it is part of a scrape; true when it was. */
    handle(child: Worker, message: unknown): boolean {
      if (isScrapeRequest(message)) gather(child, message.id);
      else if (isCollected(message)) answered(child, message.id, message.metrics);
      else return false;
      return true;
    },

    /** A child exited: no collection waits for it any longer. */
    exited(child: Worker) {
      for (const [id, collection] of collections) {
        if (collection.waiting.delete(child) && collection.waiting.size === 0) finish(id);
      }
    },
  };
}
