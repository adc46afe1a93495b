import { and, desc, eq, lt, sql, type SQL } from 'drizzle-orm';
import type { Database } from '../db/client';
import {
  processingLog,
  webhookEvents,
  type EventStatus,
  type ProcessingLogRow,
  type WebhookEvent,
} from '../db/schema';

export interface NewEvent {
  source: string;
  webhookId: string;
  topic: string;
  account?: string;
  body: Buffer;
  headers: Record<string, string>;
  maxAttempts: number;
}

export type InsertResult = { status: 'accepted'; id: number } | { status: 'duplicate' };

export interface EventFilter {
  source?: string;
  status?: EventStatus;
  topic?: string;
  /** Only events with an id below this one (keyset pagination, newest first). */
  beforeId?: number;
  limit: number;
}

export type ReplayResult =
  | { status: 'replayed'; event: WebhookEvent }
  | { status: 'not_found' }
  | { status: 'processing' };

/** The events table: the only place ingest and the ops API touch stored events. */
export function createEventStore({ db }: Database) {
  return {
    /**
     * Inserts a verified event once. `on conflict do nothing` makes concurrent copies of one id race
     * safely: exactly one gets a row back, the others see none and are duplicates. The promise only
     * resolves after the insert is committed (autocommit), so callers may acknowledge then.
     */
    async insert(event: NewEvent): Promise<InsertResult> {
      const rows = await db
        .insert(webhookEvents)
        .values({
          source: event.source,
          webhookId: event.webhookId,
          topic: event.topic,
          account: event.account,
          body: event.body,
          headers: event.headers,
          maxAttempts: event.maxAttempts,
        })
        .onConflictDoNothing({ target: [webhookEvents.source, webhookEvents.webhookId] })
        .returning({ id: webhookEvents.id });
      const row = rows[0];
      return row ? { status: 'accepted', id: row.id } : { status: 'duplicate' };
    },

    /** Newest first, filtered, one page (keyset on id so pages are stable while events arrive). */
    async list(filter: EventFilter): Promise<WebhookEvent[]> {
      const conditions: SQL[] = [];
      if (filter.source) conditions.push(eq(webhookEvents.source, filter.source));
      if (filter.status) conditions.push(eq(webhookEvents.status, filter.status));
      if (filter.topic) conditions.push(eq(webhookEvents.topic, filter.topic));
      if (filter.beforeId !== undefined) conditions.push(lt(webhookEvents.id, filter.beforeId));
      return db
        .select()
        .from(webhookEvents)
        .where(and(...conditions))
        .orderBy(desc(webhookEvents.id))
        .limit(filter.limit);
    },

    async get(id: number): Promise<WebhookEvent | undefined> {
      const rows = await db.select().from(webhookEvents).where(eq(webhookEvents.id, id)).limit(1);
      return rows[0];
    },

    async attempts(eventId: number): Promise<ProcessingLogRow[]> {
      return db.select().from(processingLog).where(eq(processingLog.eventId, eventId)).orderBy(processingLog.id);
    },

    /**
     * Makes an event due now. History is kept: the attempt counter keeps counting and the event gets
     * `maxAttempts` more tries from here, so a dead (failed) event comes back with a fresh set.
     * An event being processed right now is left alone (its worker holds the claim).
     */
    async replay(id: number, maxAttempts: number): Promise<ReplayResult> {
      const rows = await db
        .update(webhookEvents)
        .set({
          status: 'received',
          nextAttemptAt: sql`now()`,
          maxAttempts: sql`${webhookEvents.attempts} + ${maxAttempts}`,
          processedAt: null,
        })
        .where(and(eq(webhookEvents.id, id), sql`${webhookEvents.status} <> 'processing'`))
        .returning();
      if (rows[0]) return { status: 'replayed', event: rows[0] };
      return (await this.get(id)) ? { status: 'processing' } : { status: 'not_found' };
    },
  };
}

export type EventStore = ReturnType<typeof createEventStore>;
