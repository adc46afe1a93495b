import { and, eq, inArray, isNotNull, sql } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import type { Database } from '../db/client';
import { eventQueue, webhookEvents, type ProcessingLogRow, type WebhookEvent } from '../db/schema';

/**
 * An event as the ops views show it: the archive row, and while its queue row holds a claim,
 * status 'processing', the claim's holder and the attempt it is on. Claims live only on the hot
 * queue (migration 0013): the worker never rewrites a 1.5 KB archive row just to say "taken".
 */
export type EventView = WebhookEvent & {
  lockedBy: string | null;
  lockedAt: Date | null;
  /** The head of its lane it waits behind (docs/ordering.md); null when it is the head or not queued. */
  blockedBy: number | null;
};

/** True for events whose queue row is claimed right now (for a where-clause on webhook_events). */
export const isClaimed = sql`exists (select 1 from ${eventQueue} q where q.event_id = ${webhookEvents.id} and q.claim_token is not null)`;

/** The claims of these events, read in one primary-key lookup, laid over their archive rows. */
export async function withClaims(db: Database['db'], rows: WebhookEvent[]): Promise<EventView[]> {
  if (rows.length === 0) return [];
  const claims = await db
    .select({
      eventId: eventQueue.eventId,
      lockedBy: eventQueue.lockedBy,
      lockedAt: eventQueue.lockedAt,
      attempt: eventQueue.attempt,
    })
    .from(eventQueue)
    .where(
      and(
        inArray(
          eventQueue.eventId,
          rows.map((r) => r.id),
        ),
        isNotNull(eventQueue.claimToken),
      ),
    );
  const byId = new Map(claims.map((c) => [c.eventId, c]));
  const heads = await laneHeads(db, rows);
  return rows.map((row) => {
    const claim = byId.get(row.id);
    const head = heads.get(row.id);
    const blockedBy = head !== undefined && head !== row.id ? head : null;
    if (!claim) return { ...row, lockedBy: null, lockedAt: null, blockedBy };
    return {
      ...row,
      status: 'processing',
      attempts: claim.attempt ?? row.attempts,
      lockedBy: claim.lockedBy,
      lockedAt: claim.lockedAt,
      blockedBy,
    };
  });
}

/**
 * The attempt an event's claim is running, as the attempt log shows it, or null when it is not
 * claimed. Its log row is written only when it ends (src/worker/outcome-sql.ts), with this id.
 */
export async function runningAttempt(db: Database['db'], eventId: number): Promise<ProcessingLogRow | null> {
  const [claim] = await db
    .select({
      attemptId: eventQueue.attemptId,
      attempt: eventQueue.attempt,
      lockedBy: eventQueue.lockedBy,
      startedAt: eventQueue.attemptStartedAt,
    })
    .from(eventQueue)
    .where(and(eq(eventQueue.eventId, eventId), isNotNull(eventQueue.claimToken)));
  if (!claim?.attemptId || !claim.startedAt) return null;
  return {
    id: claim.attemptId,
    eventId,
    attempt: claim.attempt ?? 0,
    worker: claim.lockedBy ?? 'unknown',
    startedAt: claim.startedAt,
    finishedAt: null,
    outcome: 'running',
    error: null,
    transformVersion: null,
  };
}

/**
 * For the queued events of ordered sources among these: the head of their lane (one lane-index
 * lookup each). Pages without ordered events pay nothing.
 */
async function laneHeads(db: Database['db'], rows: WebhookEvent[]): Promise<Map<number, number>> {
  const ordered = rows.filter((r) => r.orderingKey !== null).map((r) => r.id);
  if (ordered.length === 0) return new Map();
  // The outer row under its own alias: drizzle renders a column of the outer table unqualified
  // inside a select list, which the subquery would read as its own (every lane's first head).
  const q = alias(eventQueue, 'q');
  const heads = await db
    .select({
      eventId: q.eventId,
      head: sql<string>`(select h.event_id from event_queue h where h.ordering_key = q.ordering_key
                         order by h.lane_pos limit 1)`,
    })
    .from(q)
    .where(and(inArray(q.eventId, ordered), isNotNull(q.orderingKey)));
  return new Map(heads.map((h) => [h.eventId, Number(h.head)]));
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
