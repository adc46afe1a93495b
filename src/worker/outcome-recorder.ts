import type { Logger } from 'pino';
import { shown } from '../ops/source-mask';
import type { AttemptOutcome, ClaimedEvent, FinishedAttempt, Queue } from './queue-sql';

/** Most outcomes written by one statement. */
const MAX_OUTCOMES_PER_STATEMENT = 500;

/** What became of an outcome: written, refused by the claim-token fence, or lost. */
export type Recorded = 'recorded' | 'discarded' | 'failed';

/**
 * Batches outcome writes: the first outcome after a quiet period is written at once — on the
 * next tick, which runs once every promise continuation now pending has run, so the attempts of
 * one claim that finish together share the write, and before any I/O; outcomes arriving while a
 * write is in flight are written together as soon as it returns. A write that fails (database
 * unreachable) is retried with backoff for up to one lease: once the database is back the outcome
 * lands at once instead of the event waiting for lease recovery and running again. Past that, the
 * claim has been (or will be) recovered and the fence would refuse the write anyway.
 */
export function createOutcomeRecorder(
  queue: Queue,
  logger: Logger,
  giveUpAfterMs: number,
  schema: { onFailure?: (err: unknown) => void; halted?: () => boolean } = {},
) {
  const pending: { attempt: FinishedAttempt; settle: (recorded: Recorded) => void; since: number }[] = [];
  let writing = false;
  let retryTimer: NodeJS.Timeout | undefined;
  let failures = 0;

  async function write(): Promise<void> {
    if (writing || retryTimer || pending.length === 0) return;
    // The worker is halted on a schema its outcome statement may not fit (src/db/schema-drift.ts):
    // no write, no retry (each logged, for a whole lease); the claims' leases run out and the
    // release that migrated takes the events over.
    if (schema.halted?.()) {
      for (const { settle } of pending.splice(0)) settle('failed');
      return;
    }
    writing = true;
    const batch = pending.splice(0, MAX_OUTCOMES_PER_STATEMENT);
    try {
      const recorded = await queue.finishMany(batch.map((p) => p.attempt));
      failures = 0;
      for (const { attempt, settle } of batch) settle(recorded.has(attempt.event.id) ? 'recorded' : 'discarded');
    } catch (err) {
      failures += 1;
      // Monotonic: a wall clock stepped forward must not give up on outcomes still within their lease.
      const now = performance.now();
      const expired = batch.filter((p) => now - p.since >= giveUpAfterMs);
      const retry = batch.filter((p) => now - p.since < giveUpAfterMs);
      logger.error({ err, attempts: batch.length, retrying: retry.length }, 'recording attempt outcomes failed');
      schema.onFailure?.(err);
      for (const { settle } of expired) settle('failed');
      pending.unshift(...retry);
      retryTimer = setTimeout(
        () => {
          retryTimer = undefined;
          void write();
        },
        Math.min(100 * 2 ** (failures - 1), 2000),
      );
      retryTimer.unref();
    } finally {
      writing = false;
      void write();
    }
  }

  return {
    /** Resolves once the outcome is written ('recorded'), refused by the fence ('discarded') or lost ('failed'). */
    record(attempt: FinishedAttempt): Promise<Recorded> {
      return new Promise((settle) => {
        pending.push({ attempt, settle, since: performance.now() });
        if (!writing && !retryTimer && pending.length === 1) process.nextTick(() => void write());
      });
    },
  };
}

/**
 * Logs an attempt: quiet for a recorded completion unless debug is on, loud for a lost outcome.
 * `topicMasked`: the source reads the topic from a masked payload path, so it is logged as "[masked]".
 */
export function logAttempt(
  logger: Logger,
  event: ClaimedEvent,
  result: AttemptOutcome,
  recorded: Recorded,
  topicMasked = false,
): void {
  const quiet = result.outcome === 'completed' || result.outcome === 'held';
  if (recorded === 'recorded' && quiet && !logger.isLevelEnabled('debug')) return;
  const topic = shown(event.topic, topicMasked);
  const log = logger.child({ eventId: event.id, source: event.source, topic, attempt: event.attempt });
  if (recorded === 'failed') {
    // The lease will expire and the event will be retried: at-least-once, never lost.
    log.error('could not record the outcome of an attempt; it will be retried after its lease expires');
  } else if (recorded === 'discarded') {
    log.warn('outcome discarded: the claim expired and the event was taken over');
  } else if (result.outcome === 'completed') {
    log.debug('event completed');
  } else if (result.outcome === 'held') {
    log.debug({ heldFor: result.heldFor }, 'event held for paused destinations');
  } else {
    log.warn({ outcome: result.outcome, error: result.error }, 'attempt failed');
  }
}
