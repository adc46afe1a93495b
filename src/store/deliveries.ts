import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { deliveryAttempts, type DeliveryAttemptRow } from '../db/schema';

export type NewDeliveryAttempt = Omit<typeof deliveryAttempts.$inferInsert, 'id'>;

/** Per-destination delivery history of events. */
export function createDeliveryLog(database: Database) {
  const { db } = database;
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

    /**
     * Records one destination's attempt; a second "delivered" for the same pair is ignored. Until
     * migration 0019 a unique index said so; delivery_attempts is partitioned now and an index
     * unique across partitions would have to include started_at, so the insert checks itself. Only
     * the holder of the event's claim posts and records; two such rows could only come from a
     * worker that kept posting after its lease expired, and then the destination was posted twice.
     */
    async record(a: NewDeliveryAttempt): Promise<void> {
      await database.rows(sql`
        insert into delivery_attempts (event_id, attempt, destination, started_at, duration_ms, outcome, http_status, error)
        select ${a.eventId}, ${a.attempt}, ${a.destination}, ${a.startedAt.toISOString()}::timestamptz, ${a.durationMs},
               ${a.outcome}, ${a.httpStatus ?? null}::int, ${a.error ?? null}::text
        where ${a.outcome} <> 'delivered' or not exists (
          select 1 from delivery_attempts
          where event_id = ${a.eventId} and destination = ${a.destination} and outcome = 'delivered')`);
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
