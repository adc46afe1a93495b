// What the processes of `start --web-processes N` say to each other for one /metrics scrape on PORT.
// The web process that got the scrape asks the primary (`metrics-scrape`); the primary asks every
// other started child (`metrics-collect`), each answers with its own metrics (`metrics-collected`),
// and the primary hands them back (`metrics-gathered`), naming the children that did not answer in
// time. Nothing is sent between scrapes: ingest pays nothing for this.

/**
 * How long the primary waits for the children's metrics. A child answers from memory (the database
 * gauges are read by the process that got the scrape only), so only a child that is stopped or whose
 * event loop is blocked takes this long; it is well under Prometheus' default scrape timeout (10 s).
 */
export const CLUSTER_SCRAPE_TIMEOUT_MS = 3_000;

/** How long the web process waits for the primary's answer: the primary's own wait plus a margin. */
export const CLUSTER_SCRAPE_REPLY_TIMEOUT_MS = CLUSTER_SCRAPE_TIMEOUT_MS + 1_000;

export interface ScrapeRequest {
  gateway: 'metrics-scrape';
  id: number;
}

export interface CollectRequest {
  gateway: 'metrics-collect';
  id: number;
}

export interface Collected {
  gateway: 'metrics-collected';
  id: number;
  /** The child's metrics (src/ops/metrics-snapshot.ts); absent when collecting them failed. */
  metrics?: unknown[];
}

export interface Gathered {
  gateway: 'metrics-gathered';
  id: number;
  /** Every answering child's metrics. */
  snapshots: unknown[][];
  /** Children that were asked and did not answer in time (web-1, worker…). */
  missing: string[];
}

type Message = ScrapeRequest | CollectRequest | Collected | Gathered;

function is<T extends Message>(kind: T['gateway']) {
  return (message: unknown): message is T =>
    typeof message === 'object' &&
    message !== null &&
    (message as { gateway?: unknown }).gateway === kind &&
    typeof (message as { id?: unknown }).id === 'number';
}

export const isScrapeRequest = is<ScrapeRequest>('metrics-scrape');
export const isCollectRequest = is<CollectRequest>('metrics-collect');
export const isCollected = is<Collected>('metrics-collected');
export const isGathered = is<Gathered>('metrics-gathered');

/** A child's name in the group and in the `process` label of its process metrics. */
export const childName = (role: 'web' | 'worker', index: number) => (role === 'worker' ? 'worker' : `web-${index}`);
