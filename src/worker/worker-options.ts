import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { BackoffPolicy } from './backoff';
import type { HandlerRegistry } from './handlers';
import type { AttemptOutcome, ClaimedEvent, Queue } from './queue-sql';
import type { SourceTransformLookup } from './source-transform';
import type { DocumentLookup } from '../routing/document';
import type { SchemaRegistry } from './validation';

export interface WorkerOptions {
  queue: Queue;
  handlers: HandlerRegistry;
  /** Payload schemas checked before the handler runs (a mismatch fails the event at once). */
  schemas?: Pick<SchemaRegistry, 'check'>;
  logger: Logger;
  /** node-cron expression of the backstop tick (retries coming due, missed wake-ups, expired leases). */
  cron: string;
  batchSize: number;
  concurrency: number;
  leaseSeconds: number;
  backoff: BackoffPolicy;
  /** A source's own backoff, when it has one (config file `retry`). */
  backoffFor?: (source: string) => BackoffPolicy | undefined;
  /** A source's transformation, run before its handler (docs/destinations.md#a-sources-transformation). */
  sourceTransform?: SourceTransformLookup;
  /** The source provider's documentOf, when it has one (src/routing/document.ts). */
  documentOf?: DocumentLookup;
  /** Whether the source reads its topic from a masked payload path: the attempt log shows "[masked]". */
  topicMasked?: (source: string) => boolean;
  /** Observers for metrics. */
  onAttempt?: (event: ClaimedEvent, outcome: AttemptOutcome['outcome'], seconds: number) => void;
  onLeasesRecovered?: (count: number) => void;
  /**
   * Told of each queue statement that failed (after it is logged), named: the gateway's schema-drift
   * check (src/db/schema-drift.ts) looks there for a newer release's schema. Never on success.
   */
  onQueueFailure?: (err: unknown, statement: QueueStatement) => void;
  /**
   * True once the queue's statements fail on a newer release's schema (src/db/schema-drift.ts): the
   * worker claims nothing more, recovers no leases, takes no hand-offs and gives up the outcomes it
   * cannot write, so what it holds returns to the queue when its lease expires.
   */
  halted?: () => boolean;
  /** Written to locked_by; defaults to `<hostname>:<pid>`. */
  workerId?: string;
  /** How often the worker vacuums and analyzes the hot queue table (default 15 s; 0 = never). */
  maintainEveryMs?: number;
}

/** The worker's queue statements, as onQueueFailure names them. */
export type QueueStatement = 'claim' | 'outcome' | 'heartbeat' | 'lease recovery' | 'hand-back';

/** `<hostname>:<pid>`: who holds a claim, as shown in locked_by and the attempt log. */
export const defaultWorkerId = () => `${hostname()}:${process.pid}`;
