import { and, eq, inArray, like, or } from 'drizzle-orm';
import type { Database } from '../db/client';
import { deliveryAttempts, type DeliveryAttemptRow } from '../db/schema';
import { TRANSFORMATION_FAILED } from '../transform/types';

export type NewDeliveryAttempt = Omit<typeof deliveryAttempts.$inferInsert, 'id'>;

/** Per-destination delivery history of events. */
export function createDeliveryLog({ db }: Database) {
  return {
    /**
     * `done`: the destinations that acknowledged this event (2xx) or whose filter skipped it
     * (`ignored`); neither is posted again. `failedForGood`: those whose transformation failed, with
     * the rule version it failed under (the latest) — not run again under that version.
     */
    async settledDestinations(eventId: number): Promise<{
      done: Set<string>;
      failedForGood: Map<string, { ruleVersion: number | null; error: string }>;
    }> {
      const rows = await db
        .select({
          destination: deliveryAttempts.destination,
          outcome: deliveryAttempts.outcome,
          error: deliveryAttempts.error,
          ruleVersion: deliveryAttempts.ruleVersion,
        })
        .from(deliveryAttempts)
        .where(
          and(
            eq(deliveryAttempts.eventId, eventId),
            or(
              inArray(deliveryAttempts.outcome, ['delivered', 'ignored']),
              and(eq(deliveryAttempts.outcome, 'failed'), like(deliveryAttempts.error, `${TRANSFORMATION_FAILED}:%`)),
            ),
          ),
        )
        .orderBy(deliveryAttempts.id);
      const done = new Set<string>();
      const failedForGood = new Map<string, { ruleVersion: number | null; error: string }>();
      for (const r of rows) {
        if (r.outcome === 'failed')
          failedForGood.set(r.destination, { ruleVersion: r.ruleVersion, error: r.error ?? '' });
        else done.add(r.destination);
      }
      return { done, failedForGood };
    },

    /** Records one destination's attempt; a second "delivered" for the same pair is ignored. */
    async record(attempt: NewDeliveryAttempt): Promise<void> {
      await db.insert(deliveryAttempts).values(attempt).onConflictDoNothing();
    },

    async forEvent(eventId: number): Promise<DeliveryAttemptRow[]> {
      return db
        .select()
        .from(deliveryAttempts)
        .where(eq(deliveryAttempts.eventId, eventId))
        .orderBy(deliveryAttempts.id);
    },
  };
}

export type DeliveryLog = ReturnType<typeof createDeliveryLog>;
