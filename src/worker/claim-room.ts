// How many claims the worker may take now: the arithmetic of its handler slots, kept apart from
// the loop (src/worker/worker.ts) that counts them.

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

/** What the worker holds at the moment it decides whether to claim. */
export interface ClaimSlots {
  batchSize: number;
  concurrency: number;
  /** Handlers running now. */
  running: number;
  /** Claims held: handler running, or finished and waiting for the outcome write. */
  held: number;
  /** Slots reserved for events a local insert is about to hand off (src/worker/hand-off.ts). */
  reserved: number;
}

/** Handler slots neither running, reserved, nor blocked by outcomes waiting to be written. */
export const freeSlots = (slots: ClaimSlots) =>
  Math.min(slots.concurrency - slots.running, HELD_CLAIMS_PER_SLOT * slots.concurrency - slots.held) - slots.reserved;

/**
 * How many events to claim now (0: wait). No more than a batch, than free handler slots, and
 * than keeps the claims held (running, or waiting for their outcome write) within
 * HELD_CLAIMS_PER_SLOT times the concurrency, so a slow outcome write holds back claiming instead
 * of piling up claims. While claims are held, wait for half a batch of room: a claim of a few
 * rows costs the database nearly as much as a full one (25-row claims ran at 0.8× the events/s
 * of 50-row ones).
 */
export function claimableNow(slots: ClaimSlots): number {
  const room = Math.min(slots.batchSize, freeSlots(slots));
  if (room <= 0) return 0;
  if (slots.held === 0) return room;
  return room >= Math.ceil(Math.min(slots.batchSize, slots.concurrency) / 2) ? room : 0;
}
