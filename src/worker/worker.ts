import { hostname } from 'node:os';
import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from 'pino';
import { retryDelayMs, type BackoffPolicy } from './backoff';
import { PermanentError, RetryLaterError, toDeliveredEvent, type HandlerRegistry } from './handlers';
import type { AttemptOutcome, ClaimedEvent, Queue } from './queue-sql';
import type { SchemaRegistry } from './validation';

export interface WorkerOptions {
  queue: Queue;
  handlers: HandlerRegistry;
  /** Payload schemas checked before the handler runs (a mismatch fails the event at once). */
  schemas?: SchemaRegistry;
  logger: Logger;
  /** node-cron expression of the backstop tick (retries coming due, missed wake-ups, expired leases). */
  cron: string;
  batchSize: number;
  concurrency: number;
  leaseSeconds: number;
  backoff: BackoffPolicy;
  /** A source's own backoff, when it has one (config file `retry`). */
  backoffFor?: (source: string) => BackoffPolicy | undefined;
  /** Observers for metrics. */
  onAttempt?: (event: ClaimedEvent, outcome: AttemptOutcome['outcome'], seconds: number) => void;
  onLeasesRecovered?: (count: number) => void;
  /** Written to locked_by; defaults to `<hostname>:<pid>`. */
  workerId?: string;
}

/** `<hostname>:<pid>`: who holds a claim, as shown in locked_by and the attempt log. */
export const defaultWorkerId = () => `${hostname()}:${process.pid}`;

/**
 * The claim-lock worker. A node-cron tick (and a wake-up on each new event) drains due events:
 * claim a batch, run handlers with bounded concurrency, record each outcome fenced by its claim
 * token. The database decides who processes what; this loop only triggers.
 */
export function createWorker(options: WorkerOptions) {
  const { queue, handlers, logger } = options;
  const workerId = options.workerId ?? defaultWorkerId();
  const inFlight = new Map<number, { event: ClaimedEvent; done: Promise<void> }>();
  const abort = new AbortController();
  let task: ScheduledTask | undefined;
  let heartbeat: NodeJS.Timeout | undefined;
  let draining: Promise<void> | undefined;
  let drainAgain = false;
  let stopping = false;

  async function runAttempt(event: ClaimedEvent): Promise<void> {
    const log = logger.child({ eventId: event.id, source: event.source, topic: event.topic, attempt: event.attempt });
    let result: AttemptOutcome;
    const started = performance.now();
    try {
      const delivered = toDeliveredEvent(event);
      options.schemas?.check(event.source, event.topic, delivered.payload);
      const handler = handlers.resolve(event.source, event.topic);
      if (handler) await handler(delivered, { signal: abort.signal });
      result = { outcome: 'completed' };
    } catch (err) {
      const error = describeError(err);
      if (err instanceof PermanentError || event.attempt >= event.maxAttempts) {
        result = { outcome: 'failed', error };
      } else {
        const backoff = options.backoffFor?.(event.source) ?? options.backoff;
        const requested = err instanceof RetryLaterError ? (err.retryAfterMs ?? 0) : 0;
        const delay = Math.min(backoff.maxMs, Math.max(retryDelayMs(event.attempt, backoff), requested));
        result = { outcome: 'retry', error, nextAttemptAt: new Date(Date.now() + delay) };
      }
    }
    options.onAttempt?.(event, result.outcome, (performance.now() - started) / 1000);
    const recorded = await queue.finish(event, result).catch((err: unknown) => {
      // The lease will expire and the event will be retried: at-least-once, never lost.
      log.error({ err }, 'could not record the outcome of an attempt; it will be retried after its lease expires');
      return true;
    });
    if (!recorded) log.warn('outcome discarded: the claim expired and the event was taken over');
    else if (result.outcome === 'completed') log.debug('event completed');
    else log.warn({ outcome: result.outcome, error: result.error }, 'attempt failed');
  }

  function start(event: ClaimedEvent) {
    const done = runAttempt(event).finally(() => {
      inFlight.delete(event.id);
      if (drainAgain && !stopping) void drain();
    });
    inFlight.set(event.id, { event, done });
  }

  /** Claims while there is room and work. */
  async function drainLoop(): Promise<void> {
    try {
      do {
        drainAgain = false;
        while (!stopping) {
          const room = Math.min(options.batchSize, options.concurrency - inFlight.size);
          if (room <= 0) {
            drainAgain = true; // a finishing attempt resumes the drain
            break;
          }
          const claimed = await queue.claim(workerId, room);
          for (const event of claimed) start(event);
          if (claimed.length < room) break;
        }
      } while (drainAgain && !stopping && inFlight.size < options.concurrency);
    } catch (err) {
      // Database trouble: the next cron tick tries again, so there is no hot retry loop here.
      logger.error({ err }, 'claiming due events failed');
    }
  }

  /** Runs one drain loop at a time; calls made meanwhile coalesce into it. */
  function drain(): Promise<void> {
    if (draining) {
      drainAgain = true;
      return draining;
    }
    // Cleared in .finally(), which always runs after this assignment, even when the loop has
    // nothing to await (a full worker); clearing inside the loop could run first and leave a
    // settled promise here forever, silently stopping all further drains.
    const run = drainLoop().finally(() => {
      if (draining === run) draining = undefined;
    });
    draining = run;
    return run;
  }

  async function tick(): Promise<void> {
    try {
      const recovered = await queue.recoverExpiredLeases(options.leaseSeconds);
      if (recovered > 0) {
        logger.warn({ recovered }, 'returned events with expired leases to the queue');
        options.onLeasesRecovered?.(recovered);
      }
    } catch (err) {
      logger.error({ err }, 'lease recovery failed');
    }
    await drain();
  }

  return {
    id: workerId,

    /** Starts the cron schedule and the lease heartbeat. */
    start() {
      task = cron.schedule(options.cron, () => tick(), { name: 'webhook-worker', noOverlap: true });
      heartbeat = setInterval(
        () => {
          const tokens = [...inFlight.values()].map(({ event }) => event.claimToken);
          queue.extendLeases(tokens).catch((err: unknown) => logger.error({ err }, 'lease heartbeat failed'));
        },
        Math.max(1000, (options.leaseSeconds * 1000) / 3),
      );
      heartbeat.unref();
    },

    /** One backstop pass: recover expired leases, then drain. Exposed for the CLI and tests. */
    tick,

    /** Called when an event became due (stored, replayed, notified): drain now, not at the next tick. */
    wake() {
      if (!stopping) void drain();
    },

    /** Resolves when nothing is claimed or running. */
    async idle(): Promise<void> {
      while (draining || inFlight.size > 0) {
        await draining;
        await Promise.all([...inFlight.values()].map((f) => f.done));
      }
    },

    get inFlight() {
      return inFlight.size;
    },

    /**
     * Stops claiming, waits up to `timeoutMs` for running handlers, then aborts them. Attempts that
     * did not finish keep their claim until the lease expires and another worker takes them over.
     */
    async stop(timeoutMs: number): Promise<void> {
      stopping = true;
      await task?.destroy();
      await draining;
      const running = Promise.all([...inFlight.values()].map((f) => f.done));
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeoutMs);
      });
      const result = await Promise.race([running.then(() => 'done' as const), timedOut]);
      clearTimeout(timer);
      if (result === 'timeout') {
        logger.warn({ running: inFlight.size }, 'shutdown timeout: aborting running handlers');
        abort.abort(new Error('worker shutting down'));
        // Handlers that honour the signal record their own outcome; give them a moment, then hand
        // back whatever is still running so another worker picks it up without waiting for the lease.
        await Promise.race([running, new Promise((r) => setTimeout(r, 1000).unref())]);
        const unfinished = [...inFlight.values()].map(({ event }) => event);
        const released = await queue.release(unfinished, 'worker shut down before the attempt finished').catch(
          (err: unknown) => {
            logger.error({ err }, 'could not release claims; their leases will expire instead');
            return 0;
          },
        );
        if (released > 0) logger.warn({ released }, 'released unfinished claims');
      }
      // Leases keep being extended while handlers run, so a slow shutdown is not mistaken for a crash.
      if (heartbeat) clearInterval(heartbeat);
    },
  };
}

export type Worker = ReturnType<typeof createWorker>;

/** A short, single-line error description for the attempt log (never a stack). */
function describeError(err: unknown): string {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return text.length > 2000 ? `${text.slice(0, 2000)}…` : text;
}
