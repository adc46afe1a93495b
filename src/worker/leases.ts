/** Upkeep around the worker's claims: the lease heartbeat, the hand-back at shutdown, and queue table maintenance. */
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
): NodeJS.Timeout {
  const heartbeat = setInterval(
    () => {
      queue.extendLeases(claimTokens()).catch((err: unknown) => logger.error({ err }, 'lease heartbeat failed'));
    },
    // Three beats per lease, so one late beat never lets a live claim expire.
    Math.max(100, (leaseSeconds * 1000) / 3),
  );
  heartbeat.unref();
  return heartbeat;
}

/**
 * Vacuums and analyzes the hot queue table every `everyMs`, one run at a time. Returns the timer
 * to clear, or undefined when `everyMs` is 0.
 */
export function startQueueMaintenance(
  queue: Queue,
  everyMs: number,
  isStopping: () => boolean,
  logger: Logger,
): NodeJS.Timeout | undefined {
  if (everyMs <= 0) return undefined;
  // The queue churns a row per attempt; its own vacuum keeps it small without autovacuum.
  let running = false;
  const maintenance = setInterval(() => {
    if (running || isStopping()) return;
    running = true;
    queue
      .maintain()
      .catch((err: unknown) => logger.warn({ err }, 'queue maintenance (vacuum) failed'))
      .finally(() => (running = false));
  }, everyMs);
  maintenance.unref();
  return maintenance;
}

/** Hands back claims whose handlers did not finish by the shutdown timeout, so another worker takes them at once. */
export async function releaseUnfinished(queue: Queue, unfinished: ClaimedEvent[], logger: Logger): Promise<void> {
  const released = await queue
    .release(unfinished, 'worker shut down before the attempt finished')
    .catch((err: unknown) => {
      logger.error({ err }, 'could not release claims; their leases will expire instead');
      return 0;
    });
  if (released > 0) logger.warn({ released }, 'released unfinished claims');
}
