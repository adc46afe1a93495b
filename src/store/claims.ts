import { and, inArray, isNotNull, sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { eventQueue, webhookEvents, type WebhookEvent } from '../db/schema';

/**
 * An event as the ops views show it: the archive row, and while its queue row holds a claim,
 * status 'processing', the claim's holder and the attempt it is on. Claims live only on the hot
 * queue (migration 0013): the worker never rewrites a 1.5 KB archive row just to say "taken".
 */
export type EventView = WebhookEvent & { lockedBy: string | null; lockedAt: Date | null };

/** True for events whose queue row is claimed right now (for a where-clause on webhook_events). */
export const isClaimed = sql`exists (select 1 from ${eventQueue} q where q.event_id = ${webhookEvents.id} and q.claim_token is not null)`;

/** The claims of these events, read in one primary-key lookup, laid over their archive rows. */
export async function withClaims(db: Database['db'], rows: WebhookEvent[]): Promise<EventView[]> {
  if (rows.length === 0) return [];
  const claims = await db
    .select({ eventId: eventQueue.eventId, lockedBy: eventQueue.lockedBy, lockedAt: eventQueue.lockedAt, attempt: eventQueue.attempt })
    .from(eventQueue)
    .where(and(inArray(eventQueue.eventId, rows.map((r) => r.id)), isNotNull(eventQueue.claimToken)));
  const byId = new Map(claims.map((c) => [c.eventId, c]));
  return rows.map((row) => {
    const claim = byId.get(row.id);
    if (!claim) return { ...row, lockedBy: null, lockedAt: null };
    return { ...row, status: 'processing', attempts: claim.attempt ?? row.attempts, lockedBy: claim.lockedBy, lockedAt: claim.lockedAt };
  });
}

/**
 * Locks the queue rows of these events for the rest of the transaction and returns the ids that
 * are claimed. A claim being taken right now is waited for, so a replay can never slip in between
 * a claim and its outcome (the outcome would overwrite the replay); a claim after this skips the
 * locked rows until the transaction ends.
 */
export async function lockClaims(tx: Pick<Database['db'], 'select'>, ids: number[]): Promise<Set<number>> {
  if (ids.length === 0) return new Set();
  const held = await tx
    .select({ eventId: eventQueue.eventId, claimToken: eventQueue.claimToken })
    .from(eventQueue)
    .where(inArray(eventQueue.eventId, ids))
    .orderBy(eventQueue.eventId)
    .for('update');
  return new Set(held.filter((h) => h.claimToken !== null).map((h) => h.eventId));
}
