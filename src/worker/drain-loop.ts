import type { Logger } from 'pino';

// When the worker claims: one drain loop at a time, calls made meanwhile coalesced into it, and a
// drain that waited for room resumed once attempts let go of their slots. What a claim takes and
// how much room there is are the worker's (src/worker/worker.ts, src/worker/claim-room.ts).

export interface DrainLoopOptions {
  /** How many events to claim now (0: wait for room). */
  claimable: () => number;
  /** Claims up to `limit` events and starts them; returns how many it claimed. */
  claim: (limit: number) => Promise<number>;
  /** True while stopping, or once the worker is halted: no claim starts. */
  isStopping: () => boolean;
  logger: Logger;
  /** Told of a failed claim, after it is logged. */
  onFailure?: (err: unknown) => void;
}

/** The worker's drain loop: claims while there is room and work. */
export function createDrainLoop({ claimable, claim, isStopping, logger, onFailure }: DrainLoopOptions) {
  let draining: Promise<void> | undefined;
  let drainAgain = false;

  /**
   * Resumes a drain that waited for room, once the attempts finishing together have all let go of
   * their slots (deciding at the first one would claim a sliver). Queued after their outcome
   * write, so on a single-connection database (PGlite) the write goes first. Kept as a promise so
   * idle() waits for it: the last attempts settling resolve idle()'s wait in the same microtask
   * run, before this tick, and idle() would otherwise report a parked drain with due work as idle.
   */
  let resuming: Promise<void> | undefined;
  function resumeDrain(): void {
    if (resuming || !drainAgain || isStopping()) return;
    resuming = new Promise((resolve) => {
      process.nextTick(() => {
        resuming = undefined;
        if (drainAgain && !isStopping() && claimable() > 0) void drain();
        resolve();
      });
    });
  }

  /** Claims while there is room and work. */
  async function drainLoop(): Promise<void> {
    try {
      do {
        drainAgain = false;
        while (!isStopping()) {
          const limit = claimable();
          if (limit <= 0) {
            drainAgain = true; // a finishing attempt resumes the drain
            break;
          }
          const claimed = await claim(limit);
          if (claimed < limit) break;
        }
      } while (drainAgain && !isStopping() && claimable() > 0);
    } catch (err) {
      // Database trouble: the next cron tick tries again, so there is no hot retry loop here.
      logger.error({ err }, 'claiming due events failed');
      onFailure?.(err);
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
      if (drainAgain && !isStopping() && claimable() > 0) void drain();
    });
    draining = run;
    return run;
  }

  return {
    drain,
    resumeDrain,
    /** The drain loop running now, if any (idle() and stop() wait for it). */
    get draining() {
      return draining;
    },
    /** A resumed drain queued for the next tick, if any (idle() waits for it). */
    get resuming() {
      return resuming;
    },
  };
}
