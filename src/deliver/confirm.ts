import type { Destination } from './destinations';

/** A database destination as stored now: its version and whether it is paused. Absent: deleted. */
export interface StoredDestinationState {
  version: number;
  paused: boolean;
}

/** Reads the stored state of the named database destinations (one statement). */
export type ReadDestinationStates = (names: readonly string[]) => Promise<Map<string, StoredDestinationState>>;

/** What becomes of a delivery whose destination is read again right before its POST. */
export type Confirmation =
  | { post: true }
  | { post: false; held: false }
  | { post: false; held: true; reason: 'paused' | 'changed'; recheckMs: number };

/** A paused destination's events wait for its resume, which makes them due; this is the backstop. */
const PAUSED_RECHECK_MS = 5 * 60_000;
/** A changed one's are looked at again in a second, by when this process has usually re-read. */
const CHANGED_RECHECK_MS = 1000;

/**
 * Whether a database destination (one with a `version`) is still stored as the attempt's plan has
 * it, read after every other wait of the delivery, just before its POST. A plan comes from this
 * process's snapshot, which hears of another instance's change by NOTIFY and then a re-read through
 * the same pool as the deliveries: on a loaded 2-core machine a worker's re-read took 1.5–2.9 s and
 * deliveries to a destination deleted through a web process started up to 1.5 s after the delete
 * had returned (test/control-stale-plan.test.ts holds a snapshot stale on purpose).
 * - deleted since: not posted, not held (nothing waits for a destination that is gone);
 * - paused since: held like a paused destination, until its resume;
 * - changed since (URL, secret, headers, rule…): held, due again in a second, when the plan has it.
 * File destinations have no version and are posted as they are.
 */
export async function confirmDestination(
  destination: Destination,
  read: ReadDestinationStates | undefined,
): Promise<Confirmation> {
  if (destination.version === undefined || !read) return { post: true };
  const stored = (await read([destination.name])).get(destination.name);
  if (!stored) return { post: false, held: false };
  if (stored.paused) return { post: false, held: true, reason: 'paused', recheckMs: PAUSED_RECHECK_MS };
  if (stored.version !== destination.version)
    return { post: false, held: true, reason: 'changed', recheckMs: CHANGED_RECHECK_MS };
  return { post: true };
}
