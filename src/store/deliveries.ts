import { eq, sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { deliveryAttempts, type DeliveryAttemptRow } from '../db/schema-deliveries';
import { TRANSFORMATION_FAILED } from '../transform/types';

/** eventReceivedAt: the event's received_at, which bounds its attempts' started_at (the partition key). */
export type NewDeliveryAttempt = Omit<typeof deliveryAttempts.$inferInsert, 'id'> & { eventReceivedAt: Date };

/**
 * An event's attempts started between its receipt and now: naming that range lets PostgreSQL skip
 * the day partitions of delivery_attempts outside it (an event received today touches one), where
 * the event id alone visits every partition's index (docs/adr/0008-partitioned-history.md). record()
 * keeps started_at inside the range even when this host's clock is off from the database's.
 */
const attemptsOf = (eventId: number, receivedAt: Date) =>
  sql`event_id = ${eventId} and started_at >= ${receivedAt.toISOString()}::timestamptz and started_at <= now()`;

/** Per-destination delivery history of events. */
export function createDeliveryLog(database: Database) {
  const { db } = database;
  return {
    /**
     * `done`: the destinations that acknowledged this event (2xx) or whose filter skipped it
     * (`ignored`); neither is posted again. `failedForGood`: those whose transformation failed, with
     * the rule version it failed under (the latest) — not run again under that version.
     */
    async settledDestinations(
      eventId: number,
      receivedAt: Date,
    ): Promise<{
      done: Set<string>;
      failedForGood: Map<string, { ruleVersion: number | null; error: string }>;
    }> {
      const rows = await database.rows<{
        destination: string;
        outcome: string;
        error: string | null;
        rule_version: number | null;
      }>(sql`
        select destination, outcome, error, rule_version from delivery_attempts
        where ${attemptsOf(eventId, receivedAt)}
          and (outcome in ('delivered', 'ignored') or (outcome = 'failed' and error like ${`${TRANSFORMATION_FAILED}:%`}))
        order by id`);
      const done = new Set<string>();
      const failedForGood = new Map<string, { ruleVersion: number | null; error: string }>();
      for (const r of rows) {
        if (r.outcome === 'failed')
          failedForGood.set(r.destination, { ruleVersion: r.rule_version, error: r.error ?? '' });
        else done.add(r.destination);
      }
      return { done, failedForGood };
    },

    /**
     * Records one destination's attempt; a second "delivered" for the same pair is ignored. Until
     * migration 0019 a unique index said so; delivery_attempts is partitioned now and an index
     * unique across partitions would have to include started_at, so the insert checks itself. Only
     * the holder of the event's claim posts and records; two such rows could only come from a
     * worker that kept posting after its lease expired, and then the destination was posted twice.
     * started_at is this host's clock, clamped to [the event's receipt, the database's now()].
     */
    async record(a: NewDeliveryAttempt): Promise<void> {
      await database.rows(sql`
        insert into delivery_attempts (event_id, attempt, destination, started_at, duration_ms, outcome, http_status, error,
                                       rule_version)
        select ${a.eventId}, ${a.attempt}, ${a.destination},
               greatest(least(${a.startedAt.toISOString()}::timestamptz, now()), ${a.eventReceivedAt.toISOString()}::timestamptz),
               ${a.durationMs},
               ${a.outcome}, ${a.httpStatus ?? null}::int, ${a.error ?? null}::text, ${a.ruleVersion ?? null}::int
        where ${a.outcome} <> 'delivered' or not exists (
          select 1 from delivery_attempts
          where ${attemptsOf(a.eventId, a.eventReceivedAt)} and destination = ${a.destination} and outcome = 'delivered')`);
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
