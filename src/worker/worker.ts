import { scheduleCron, type CronSchedule } from '../cron';
import type { HandedOffEvent } from '../store/group-commit';
import { createAttemptRunner } from './attempt';
import { claimableNow, freeSlots } from './claim-room';
import { createDrainLoop } from './drain-loop';
import { claimedFromHandOff, createHandOffGate } from './hand-off';
import {
  createLeaseRecovery,
  recoverEveryClaim,
  releaseUnfinished,
  startLeaseHeartbeat,
  startQueueMaintenance,
} from './leases';
import { createOutcomeRecorder, logAttempt, type Recorded } from './outcome-recorder';
import type { AttemptOutcome, ClaimedEvent } from './queue-sql';
import { stopRunningAttempts } from './stop-attempts';
import { defaultWorkerId, type QueueStatement, type WorkerOptions } from './worker-options';

export { defaultWorkerId, type WorkerOptions } from './worker-options';

// Claiming, hand-offs, wake-ups and shutdown all decide on the same in-flight state (held claims,
// free slots), so that state stays in this closure. When to claim is ./drain-loop.ts, how many
// ./claim-room.ts, the lease upkeep ./leases.ts.

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
  /** Halted on a newer release's schema (src/db/schema-drift.ts): nothing more is claimed. */
  const halted = () => options.halted?.() === true;
  const failed = (statement: QueueStatement) => (err: unknown) => options.onQueueFailure?.(err, statement);
  const handBack = (events: ClaimedEvent[]) => releaseUnfinished(queue, events, logger, failed('hand-back'));
  const outcomes = createOutcomeRecorder(queue, logger, options.leaseSeconds * 1000, {
    onFailure: failed('outcome'),
    halted,
  });
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
    documentOf: options.documentOf,
    onAttempt: options.onAttempt,
  });
  let task: CronSchedule | undefined;
  let heartbeat: NodeJS.Timeout | undefined;
  let maintenance: NodeJS.Timeout | undefined;
  let stopping = false;
  /** When the cron tick in progress started (performance.now()); undefined between ticks. */
  let cronTickSince: number | undefined;

  /**
   * Runs one claimed event: its slot is free again as soon as the handler returns, while the
   * outcome joins the next batch write; the claim is held (and heart-beaten) until that write.
   */
  async function attempt(event: ClaimedEvent): Promise<void> {
    let recording: Promise<Recorded> | undefined;
    let result: AttemptOutcome;
    const abort = new AbortController();
    attemptAborts.add(abort);
    try {
      result = await runAttempt(event, abort.signal);
      // Its signal fires only at the shutdown timeout. A handler that honours it throws (a delivery
      // says "aborted: worker shutting down"): that is the deploy, not the event, so it is handed
      // back like a handler still running then — due at once, the last attempt not used up —
      // instead of a retry after backoff, or `failed` on the last attempt.
      const cutShort = abort.signal.aborted && (result.outcome === 'retry' || result.outcome === 'failed');
      if (!cutShort) recording = outcomes.record({ event, result });
    } finally {
      attemptAborts.delete(abort);
      running -= 1;
      resumeDrain();
    }
    if (!recording) return handBack([event]);
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

  /** What the worker holds now, for the slot arithmetic (src/worker/claim-room.ts). */
  const slots = () => ({
    batchSize: options.batchSize,
    concurrency: options.concurrency,
    running,
    held: inFlight.size,
    reserved: handOff.reserved,
  });
  /** Handler slots neither running, reserved, nor blocked by outcomes waiting to be written. */
  const free = () => freeSlots(slots());
  /** How many events to claim now (0: wait): see claimableNow. */
  const claimable = () => claimableNow(slots());

  const drains = createDrainLoop({
    claimable,
    claim: async (limit) => {
      const claimed = await queue.claim(workerId, limit);
      for (const event of claimed) start(event);
      handOff.claimed(claimed.length, limit);
      return claimed.length;
    },
    isStopping: () => stopping || halted(),
    logger,
    onFailure: failed('claim'),
  });
  const { drain, resumeDrain } = drains;

  const recoverIfDue = createLeaseRecovery(queue, options.leaseSeconds, logger, {
    onRecovered: options.onLeasesRecovered,
    onFailure: failed('lease recovery'),
  });

  async function tick(): Promise<void> {
    // Halted: expired leases are the migrating release's to recover, with its own statements.
    if (halted()) return;
    await recoverIfDue();
    await drain();
  }

  return {
    id: workerId,
    leaseSeconds: options.leaseSeconds,

    /** Starts the cron schedule and the lease heartbeat. */
    start() {
      started = true;
      const cronTick = async () => {
        cronTickSince = performance.now();
        try {
          await tick();
        } finally {
          cronTickSince = undefined;
        }
      };
      task = scheduleCron(options.cron, cronTick, { name: 'webhook-worker', logger });
      heartbeat = startLeaseHeartbeat(
        queue,
        () => [...inFlight.values()].map(({ event }) => event.claimToken),
        options.leaseSeconds,
        logger,
        failed('heartbeat'),
      );
      maintenance = startQueueMaintenance(queue, options.maintainEveryMs ?? 15_000, () => stopping, logger);
    },

    /** One backstop pass: recover expired leases, then drain. Exposed for the CLI and tests. */
    tick,

    /**
     * Takes back every claim in the queue at once, whatever its lease: only for a database no
     * other process can reach (PGlite's DATA_DIR lock), and only before start(), when every claim
     * it finds was made by an earlier process that is gone (killed, crashed).
     */
    async recoverClaimsOfEarlierProcess(): Promise<number> {
      if (started) throw new Error('recoverClaimsOfEarlierProcess() runs before start()');
      return recoverEveryClaim(queue, logger, options.onLeasesRecovered);
    },

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
      return started && !stopping && !halted() ? handOff.reserve(wanted, free()) : 0;
    },

    /** Runs the events the insert claimed for this worker and frees the reservation (see reserve()). */
    take(claimed: readonly HandedOffEvent[], reservedSlots: number): void {
      const notified = handOff.release(reservedSlots);
      const events = claimed.map((handed) => claimedFromHandOff(handed, workerId));
      if (!stopping && !halted()) {
        for (const event of events) start(event);
      } else if (events.length > 0) {
        // Claimed while stopping (or halting): handed back at once rather than left for the lease to expire.
        void handBack(events);
      }
      if (notified.some((id) => !heldIds.has(id)) && !stopping) void drain();
      else resumeDrain();
    },

    /** Resolves when nothing is claimed or running. */
    async idle(): Promise<void> {
      while (drains.draining || drains.resuming || inFlight.size > 0) {
        await drains.resuming;
        await drains.draining;
        await Promise.all([...inFlight.values()].map((f) => f.done));
      }
    },

    get inFlight() {
      return inFlight.size;
    },

    /**
     * The loop's state, for a readiness check: whether it runs (started, not stopping), and how
     * long the cron tick in progress has been running (0 between ticks). Ticks never overlap (a
     * match that comes during one is skipped), so a tick that does not come back stops the loop.
     */
    loop(): { running: boolean; tickRunningMs: number } {
      return {
        running: started && !stopping,
        tickRunningMs: cronTickSince === undefined ? 0 : performance.now() - cronTickSince,
      };
    },

    /**
     * Stops claiming, waits up to `timeoutMs` for running handlers, then aborts them. Attempts that
     * did not finish keep their claim until the lease expires and another worker takes them over.
     */
    async stop(timeoutMs: number): Promise<void> {
      stopping = true;
      task?.stop();
      await drains.draining;
      const running = Promise.all([...inFlight.values()].map((f) => f.done));
      await stopRunningAttempts(handBack, logger, running, timeoutMs, attemptAborts, () =>
        [...inFlight.values()].map(({ event }) => event),
      );
      // Leases keep being extended while handlers run, so a slow shutdown is not mistaken for a crash.
      if (heartbeat) clearInterval(heartbeat);
      if (maintenance) clearInterval(maintenance);
    },
  };
}

export type Worker = ReturnType<typeof createWorker>;
