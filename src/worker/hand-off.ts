import { wellFormed } from '../db/statements';
import type { HandedOffEvent } from '../store/group-commit';
import type { ClaimedEvent } from './queue-sql';

// A hand-off (docs/worker.md, *Hand-off*): in a process that runs web and worker (`npm start`), the
// group commit's insert queues new events already claimed for this process's worker, up to its
// free slots, and the worker runs them from memory. That spares each such event the claim
// statement (a queue row update and an archive read by primary key), the wake-up that triggers
// it, and reading its body back. The claim is the same as the claim statement's (token, lease,
// attempt 1, reserved attempt-log id), so fencing, heartbeats, lease recovery after a crash and
// outcomes are unchanged.

/** The claimed event the worker runs, built from what ingest wrote (strings as the database stored them). */
export function claimedFromHandOff(handed: HandedOffEvent, claimedBy: string): ClaimedEvent {
  const { event } = handed;
  return {
    id: handed.id,
    source: wellFormed(event.source),
    webhookId: wellFormed(event.webhookId),
    account: event.account === undefined ? null : wellFormed(event.account),
    topic: wellFormed(event.topic),
    body: event.body,
    headers: event.headers,
    requestTarget: event.requestTarget === undefined ? null : wellFormed(event.requestTarget),
    attempt: 1,
    maxAttempts: event.maxAttempts,
    receivedAt: handed.receivedAt,
    replayedAt: null,
    claimToken: handed.claimToken,
    claimedBy,
    attemptId: handed.attemptId,
    attemptStartedAt: handed.attemptStartedAt,
    lane: null,
  };
}

/**
 * The worker's side of hand-offs: the slots reserved for the local ingest's write in flight, and
 * whether handing off is fair now. Only once a claim found fewer due events than it asked for
 * (none left waiting) are new events handed off; a write that brings more than the free slots
 * leaves the rest due and stops hand-offs until a claim has taken them, so new events never
 * overtake events already waiting in the queue.
 */
export function createHandOffGate() {
  let reserved = 0;
  let caughtUp = false;
  /** Wake-ups for events notified while a hand-off write was in flight (see deferWake). */
  let notified: number[] = [];
  return {
    /** Slots promised to the write in flight. */
    get reserved() {
      return reserved;
    },
    /** A claim asked for `asked` events and found `found`. */
    claimed(found: number, asked: number): void {
      caughtUp = found < asked;
    },
    /** Reserves up to `wanted` of `free` slots: none unless caught up. */
    reserve(wanted: number, free: number): number {
      if (!caughtUp) return 0;
      const granted = Math.max(0, Math.min(wanted, free));
      if (granted < wanted) caughtUp = false;
      reserved += granted;
      return granted;
    },
    /**
     * Holds a wake-up for `eventId` while a hand-off write is in flight (true): its events'
     * notifications usually arrive before its answer, and announce nothing to claim once handed over.
     */
    deferWake(eventId: number): boolean {
      if (reserved === 0) return false;
      notified.push(eventId);
      return true;
    },
    /** Frees `slots` after their write; returns the wake-ups held meanwhile. */
    release(slots: number): number[] {
      reserved -= slots;
      const held = notified;
      notified = [];
      return held;
    },
  };
}
