import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { scheduleCron, type CronSchedule } from '../cron';
import type { HandedOffEvent } from '../store/group-commit';
import { createAttemptRunner } from './attempt';
import { claimedFromHandOff, createHandOffGate } from './hand-off';
import type { SourceTransformLookup } from './source-transform';
import type { BackoffPolicy } from './backoff';
import type { HandlerRegistry } from './handlers';
import { releaseUnfinished, startLeaseHeartbeat, startQueueMaintenance } from './leases';
import { createOutcomeRecorder, logAttempt, type Recorded } from './outcome-recorder';
import type { AttemptOutcome, ClaimedEvent, Queue } from './queue-sql';
import type { SchemaRegistry } from './validation';

// One file over 250 lines on purpose: claiming, hand-offs, wake-ups and shutdown all decide on the
// same in-flight state (held claims, free slots), so they stay in one closure.

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
  /** Whether the source reads its topic from a masked payload path: the attempt log shows "[masked]". */
  topicMasked?: (source: string) => boolean;
  /** Observers for metrics. */
  onAttempt?: (event: ClaimedEvent, outcome: AttemptOutcome['outcome'], seconds: number) => void;
  onLeasesRecovered?: (count: number) => void;
  /** Written to locked_by; defaults to `<hostname>:<pid>`. */
  workerId?: string;
  /** How often the worker vacuums and analyzes the hot queue table (default 15 s; 0 = never). */
  maintainEveryMs?: number;
}

/**
 * Claims held per handler slot: running, or finished and waiting for their outcome write. At 2 the
 * worker bench's trace showed claim and outcome statements in lockstep — each claim waited for the
 * previous outcome write to return (50 + 50 held), so every 50 events cost both round trips one
 * after the other. At 3 a claim runs while two outcome batches wait: 20,000 no-op events, six
 * rounds each interleaved, 11,707 against 11,036 events/s (+6 %). Outcomes that wait while a write
 * is in flight go out together in the next one (src/worker/outcome-recorder.ts), so holding more
 * claims adds no statement.
 */
const HELD_CLAIMS_PER_SLOT = 3;

/** `<hostname>:<pid>`: who holds a claim, as shown in locked_by and the attempt log. */
export const defaultWorkerId = () => `${hostname()}:${process.pid}`;

/**
 * The claim-lock worker. A node-cron tick (and a wake-up on each new event) drains due events:
 * claim a batch, run handlers with bounded concurrency, record outcomes in batches, each fenced by
 * its claim token. The database decides who processes what; this loop only triggers.
 */
export function createWorker(options: WorkerOptions) {
  const { queue, logger } = options;
  const workerId = options.workerId ?? defaultWorkerId();
  /** Every claim this worker holds, by claim token: handler running, or outcome not yet recorded. */
  const inFlight = new Map<string, { event: ClaimedEvent; done: Promise<void> }>();
  /** The event ids of those claims. */
  const heldIds = new Set<number>();
  let running = 0;
  const handOff = createHandOffGate();
  let started = false;
  const outcomes = createOutcomeRecorder(queue, logger, options.leaseSeconds * 1000);
  /**
   * The abort controller of each running attempt, aborted by stop() when its timeout runs out. One
   * per attempt, not one signal for the worker's life: handlers add 'abort' listeners to the signal
   * they are given (Node's fetch adds one per request, kept until the request is garbage collected,
   * and silently raises the signal's limit to 1,500; a handler racing a timer against the signal may
   * never remove its own), and on a shared signal those piled up attempt after attempt for as long
   * as the worker ran (MaxListenersExceededWarning at the 11th, test/fixtures/gateway-process.ts).
   * An attempt's signal is dropped with its listeners when the attempt ends.
   */
  const attemptAborts = new Set<AbortController>();
  const runAttempt = createAttemptRunner({
    handlers: options.handlers,
    schemas: options.schemas,
    backoff: options.backoff,
    backoffFor: options.backoffFor,
    sourceTransform: options.sourceTransform,
    onAttempt: options.onAttempt,
  });
  let task: CronSchedule | undefined;
  let heartbeat: NodeJS.Timeout | undefined;
  let maintenance: NodeJS.Timeout | undefined;
  let draining: Promise<void> | undefined;
  let drainAgain = false;
  let stopping = false;

  /**
   * Runs one claimed event: its slot is free again as soon as the handler returns, while the
   * outcome joins the next batch write; the claim is held (and heart-beaten) until that write.
   */
  async function attempt(event: ClaimedEvent): Promise<void> {
    let recording: Promise<Recorded>;
    let result: AttemptOutcome;
    const abort = new AbortController();
    attemptAborts.add(abort);
    try {
      result = await runAttempt(event, abort.signal);
      recording = outcomes.record({ event, result });
    } finally {
      attemptAborts.delete(abort);
      running -= 1;
      resumeDrain();
    }
    logAttempt(logger, event, result, await recording, options.topicMasked?.(event.source));
  }

  /** Holds the claim from here until its outcome is recorded (or lost). */
  function start(event: ClaimedEvent) {
    running += 1;
    heldIds.add(event.id);
    const done = attempt(event).finally(() => {
      inFlight.delete(event.claimToken);
      heldIds.delete(event.id);
      resumeDrain();
    });
    inFlight.set(event.claimToken, { event, done });
  }

  /** Handler slots neither running, reserved, nor blocked by outcomes waiting to be written. */
  const free = () =>
    Math.min(options.concurrency - running, HELD_CLAIMS_PER_SLOT * options.concurrency - inFlight.size) -
    handOff.reserved;

  /**
   * How many events to claim now (0: wait). No more than a batch, than free handler slots, and
   * than keeps the claims held (running, or waiting for their outcome write) within
   * HELD_CLAIMS_PER_SLOT times the concurrency, so a slow outcome write holds back claiming instead
   * of piling up claims. While claims are held, wait for half a batch of room: a claim of a few
   * rows costs the database nearly as much as a full one (25-row claims ran at 0.8× the events/s
   * of 50-row ones).
   */
  function claimable(): number {
    const room = Math.min(options.batchSize, free());
    if (room <= 0) return 0;
    if (inFlight.size === 0) return room;
    return room >= Math.ceil(Math.min(options.batchSize, options.concurrency) / 2) ? room : 0;
  }

  /**
   * Resumes a drain that waited for room, once the attempts finishing together have all let go of
   * their slots (deciding at the first one would claim a sliver). Queued after their outcome
   * write, so on a single-connection database (PGlite) the write goes first. Kept as a promise so
   * idle() waits for it: the last attempts settling resolve idle()'s wait in the same microtask
   * run, before this tick, and idle() would otherwise report a parked drain with due work as idle.
   */
  let resuming: Promise<void> | undefined;
  function resumeDrain(): void {
    if (resuming || !drainAgain || stopping) return;
    resuming = new Promise((resolve) => {
      process.nextTick(() => {
        resuming = undefined;
        if (drainAgain && !stopping && claimable() > 0) void drain();
        resolve();
      });
    });
  }

  /** Claims while there is room and work. */
  async function drainLoop(): Promise<void> {
    try {
      do {
        drainAgain = false;
        while (!stopping) {
          const limit = claimable();
          if (limit <= 0) {
            drainAgain = true; // a finishing attempt resumes the drain
            break;
          }
          const claimed = await queue.claim(workerId, limit);
          for (const event of claimed) start(event);
          handOff.claimed(claimed.length, limit);
          if (claimed.length < limit) break;
        }
      } while (drainAgain && !stopping && claimable() > 0);
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
      if (draining !== run) return;
      draining = undefined;
      // Handlers that returned after the loop's last look asked for a drain that coalesced into
      // this one: start it now, or the next claim would wait for an outcome write to finish.
      if (drainAgain && !stopping && claimable() > 0) void drain();
    });
    draining = run;
    return run;
  }

  /**
   * Lease recovery looks for expired claims every 5 s (a quarter-lease apart for leases under
   * 20 s), not on every tick: finding them reads the whole queue (an index on claims would cost
   * every claim and outcome its HOT update), 54 ms with 300,000 queued and 89 ms with 1,000,000
   * (bench/sql/claim-plan-cost.ts) — each second, per worker, for as long as a backlog stands. A
   * crashed worker's events are due again within a lease and 5 s instead of a lease and a tick.
   */
  const recoverEveryMs = Math.min(options.leaseSeconds * 250, 5_000);
  let recoveredAt = -Infinity;

  async function tick(): Promise<void> {
    if (performance.now() - recoveredAt >= recoverEveryMs) {
      recoveredAt = performance.now();
      try {
        const recovered = await queue.recoverExpiredLeases(options.leaseSeconds);
        if (recovered > 0) {
          logger.warn({ recovered }, 'returned events with expired leases to the queue');
          options.onLeasesRecovered?.(recovered);
        }
      } catch (err) {
        logger.error({ err }, 'lease recovery failed');
      }
    }
    await drain();
  }

  return {
    id: workerId,
    leaseSeconds: options.leaseSeconds,

    /** Starts the cron schedule and the lease heartbeat. */
    start() {
      started = true;
      task = scheduleCron(options.cron, () => tick(), { name: 'webhook-worker', logger });
      heartbeat = startLeaseHeartbeat(
        queue,
        () => [...inFlight.values()].map(({ event }) => event.claimToken),
        options.leaseSeconds,
        logger,
      );
      maintenance = startQueueMaintenance(queue, options.maintainEveryMs ?? 15_000, () => stopping, logger);
    },

    /** One backstop pass: recover expired leases, then drain. Exposed for the CLI and tests. */
    tick,

    /**
     * Called when an event became due (stored, replayed, notified): drain now, not at the next
     * tick. Not for `eventId` when this worker holds it already: the notification of an event
     * handed off to it (reserve()) announces nothing left to claim.
     */
    wake(eventId?: number) {
      if (stopping) return;
      if (eventId !== undefined && (heldIds.has(eventId) || handOff.deferWake(eventId))) return;
      void drain();
    },

    /**
     * A hand-off (src/worker/hand-off.ts): reserves free handler slots for up to `wanted` events
     * the local ingest is about to insert, to be claimed for this worker by that insert. None
     * before the worker started, while it stops, or while events may be waiting in the queue.
     */
    reserve(wanted: number): number {
      return started && !stopping ? handOff.reserve(wanted, free()) : 0;
    },

    /** Runs the events the insert claimed for this worker and frees the reservation (see reserve()). */
    take(claimed: readonly HandedOffEvent[], reservedSlots: number): void {
      const notified = handOff.release(reservedSlots);
      const events = claimed.map((handed) => claimedFromHandOff(handed, workerId));
      if (!stopping) {
        for (const event of events) start(event);
      } else if (events.length > 0) {
        // Claimed while stopping: handed back at once rather than left for the lease to expire.
        void releaseUnfinished(queue, events, logger);
      }
      if (notified.some((id) => !heldIds.has(id)) && !stopping) void drain();
      else resumeDrain();
    },

    /** Resolves when nothing is claimed or running. */
    async idle(): Promise<void> {
      while (draining || resuming || inFlight.size > 0) {
        await resuming;
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
      task?.stop();
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
        const reason = new Error('worker shutting down');
        for (const abort of attemptAborts) abort.abort(reason);
        // Handlers that honour the signal record their own outcome; give them a moment, then hand
        // back whatever is still running so another worker picks it up without waiting for the lease.
        await Promise.race([running, new Promise((r) => setTimeout(r, 1000).unref())]);
        await releaseUnfinished(
          queue,
          [...inFlight.values()].map(({ event }) => event),
          logger,
        );
      }
      // Leases keep being extended while handlers run, so a slow shutdown is not mistaken for a crash.
      if (heartbeat) clearInterval(heartbeat);
      if (maintenance) clearInterval(maintenance);
    },
  };
}

export type Worker = ReturnType<typeof createWorker>;
