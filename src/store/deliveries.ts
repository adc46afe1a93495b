import { and, eq, inArray } from 'drizzle-orm';
import type { Database } from '../db/client';
import { deliveryAttempts, type DeliveryAttemptRow } from '../db/schema';

export type NewDeliveryAttempt = Omit<typeof deliveryAttempts.$inferInsert, 'id'>;

/** Per-destination delivery history of events. */
export function createDeliveryLog({ db }: Database) {
  return {
    /**
     * Names of the destinations done with this event: they acknowledged it (2xx), or their filter
     * skipped it (`ignored`). Neither is posted again.
     */
    async settledDestinations(eventId: number): Promise<Set<string>> {
      const rows = await db
        .select({ destination: deliveryAttempts.destination })
        .from(deliveryAttempts)
        .where(and(eq(deliveryAttempts.eventId, eventId), inArray(deliveryAttempts.outcome, ['delivered', 'ignored'])));
      return new Set(rows.map((r) => r.destination));
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
