/** Upkeep around the worker's claims: the lease heartbeat, lease recovery's pace, the hand-back at shutdown, and queue table maintenance. */
import type { Logger } from 'pino';
import type { ClaimedEvent, Queue } from './queue-sql';

/**
 * Extends the leases of every claim the worker holds (handler running, or outcome not yet
 * recorded), so a live claim never expires and is taken over. Returns the timer to clear.
 */
export function startLeaseHeartbeat(
  queue: Queue,
  claimTokens: () => string[],
  leaseSeconds: number,
  logger: Logger,
  onFailure?: (err: unknown) => void,
): NodeJS.Timeout {
  const heartbeat = setInterval(
    () => {
      queue.extendLeases(claimTokens()).catch((err: unknown) => {
        logger.error({ err }, 'lease heartbeat failed');
        onFailure?.(err);
      });
    },
    // Three beats per lease, so one late beat never lets a live claim expire.
    Math.max(100, (leaseSeconds * 1000) / 3),
  );
  heartbeat.unref();
  return heartbeat;
}

/**
 * Vacuums and analyzes the hot queue table every `everyMs`, one run at a time, and analyzes it as
 * soon as it has doubled in size since it was last analyzed (checked every `growthCheckMs`).
 * Returns the timer to clear, or undefined when `everyMs` is 0.
 *
 * Why the growth check: the worker's statements are prepared, and PostgreSQL keeps a generic plan
 * until the table is analyzed again. A plan made while the queue was a few pages joins it by a
 * sequential scan; when a burst then fills the queue, every outcome and claim scans every page
 * (dead rows included) until the next analyze. Measured 2026-12-04 on the end-to-end bench: the
 * outcome statement's sequential scans of event_queue grew from 47 to 940 buffers per batch in the
 * first 15 s, then the vacuum's analyze re-planned it to a primary-key lookup (3 buffers per row).
 * The table never shrinks (vacuum does not truncate it), so it doubles only a few times in its life.
 */
export function startQueueMaintenance(
  queue: Queue,
  everyMs: number,
  isStopping: () => boolean,
  logger: Logger,
  growthCheckMs = 1_000,
): NodeJS.Timeout | undefined {
  if (everyMs <= 0) return undefined;
  // The queue churns a row per attempt; its own vacuum keeps it small without autovacuum.
  let running = false;
  let lastVacuum = performance.now();
  let analyzedAtBytes: number | undefined;
  const run = (step: () => Promise<unknown>, what: string) => {
    running = true;
    step()
      .catch((err: unknown) => logger.warn({ err }, `queue maintenance (${what}) failed`))
      .finally(() => (running = false));
  };
  const maintenance = setInterval(
    () => {
      if (running || isStopping()) return;
      if (performance.now() - lastVacuum >= everyMs) {
        lastVacuum = performance.now();
        run(async () => {
          await queue.maintain();
          analyzedAtBytes = await queue.sizeInBytes();
        }, 'vacuum');
        return;
      }
      run(async () => {
        const bytes = await queue.sizeInBytes();
        if (analyzedAtBytes === undefined) analyzedAtBytes = bytes;
        else if (bytes >= 2 * Math.max(analyzedAtBytes, MIN_ANALYZED_BYTES)) {
          await queue.analyze();
          analyzedAtBytes = bytes;
        }
      }, 'analyze');
    },
    Math.min(everyMs, growthCheckMs),
  );
  maintenance.unref();
  return maintenance;
}

/** Below 8 pages a sequential scan costs about what an index lookup does: no analyze needed. */
const MIN_ANALYZED_BYTES = 8 * 8192;

/** Hands back claims whose handlers did not finish by the shutdown timeout, so another worker takes them at once. */
export async function releaseUnfinished(
  queue: Queue,
  unfinished: ClaimedEvent[],
  logger: Logger,
  onFailure?: (err: unknown) => void,
): Promise<void> {
  const released = await queue
    .release(unfinished, 'worker shut down before the attempt finished')
    .catch((err: unknown) => {
      logger.error({ err }, 'could not release claims; their leases will expire instead');
      onFailure?.(err);
      return 0;
    });
  if (released > 0) logger.warn({ released }, 'released unfinished claims');
}

/**
 * Lease recovery looks for expired claims every 5 s (a quarter-lease apart for leases under
 * 20 s), not on every tick: finding them reads the whole queue (an index on claims would cost
 * every claim and outcome its HOT update), 54 ms with 300,000 queued and 89 ms with 1,000,000
 * (bench/sql/claim-plan-cost.ts) — each second, per worker, for as long as a backlog stands. A
 * crashed worker's events are due again within a lease and 5 s instead of a lease and a tick.
 */
export function createLeaseRecovery(
  queue: Queue,
  leaseSeconds: number,
  logger: Logger,
  observers: { onRecovered?: (count: number) => void; onFailure?: (err: unknown) => void } = {},
): () => Promise<void> {
  const recoverEveryMs = Math.min(leaseSeconds * 250, 5_000);
  let recoveredAt = -Infinity;
  return async function recoverIfDue(): Promise<void> {
    if (performance.now() - recoveredAt < recoverEveryMs) return;
    recoveredAt = performance.now();
    try {
      const recovered = await queue.recoverExpiredLeases(leaseSeconds);
      if (recovered > 0) {
        logger.warn({ recovered }, 'returned events with expired leases to the queue');
        observers.onRecovered?.(recovered);
      }
    } catch (err) {
      logger.error({ err }, 'lease recovery failed');
      observers.onFailure?.(err);
    }
  };
}

/**
 * Takes back every claim in the queue at once, whatever its lease (the worker's
 * recoverClaimsOfEarlierProcess(), which says when that is safe). Returns how many it took back.
 */
export async function recoverEveryClaim(
  queue: Queue,
  logger: Logger,
  onRecovered: ((count: number) => void) | undefined,
): Promise<number> {
  const recovered = await queue.recoverExpiredLeases(0);
  if (recovered > 0) {
    logger.warn({ recovered }, 'returned events claimed by the previous process on this DATA_DIR to the queue');
    onRecovered?.(recovered);
  }
  return recovered;
}
