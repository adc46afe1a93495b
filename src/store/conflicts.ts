import { createHash } from 'node:crypto';
import { and, count, desc, eq, gte, lt, sql, type SQL } from 'drizzle-orm';
import type { Database } from '../db/client';
import { eventConflicts, type EventConflict } from '../db/schema';
import { wellFormed, type PreparedRows } from '../db/statements';
import { bodyOf, bodySlices } from './body-slices';

/** sha256 of the exact body bytes: what tells a plain duplicate from a conflict. */
export const contentHash = (body: Buffer): Buffer => createHash('sha256').update(body).digest();

/** A delivery whose (source, webhook id) was not inserted because an event holds it already. */
export interface Copy {
  source: string;
  webhookId: string;
  body: Buffer;
  headers: Record<string, string>;
  hash: Buffer;
}

/**
 * `duplicate`: the stored event has the same bytes. `conflict`: different bytes, kept in
 * event_conflicts (stored now or by an earlier copy with these bytes). `missing`: the original's
 * key went away between the two statements, or while this one read it (retention); the sender's
 * retry will be accepted.
 */
export type CopyOutcome = { status: 'duplicate' } | { status: 'conflict'; eventId: number } | { status: 'missing' };

/**
 * Settles copies with one statement, whatever their number: each is compared with the hash stored
 * with the event's key in event_keys (migration 0019 hashed the bodies of older rows), and the ones
 * with other bytes are inserted into event_conflicts — once per distinct body, so a retried
 * conflicting delivery is not stored twice. The statement runs after the insert that skipped these
 * rows has finished, so its snapshot sees the original even when a concurrent transaction wrote it.
 * The caller answers only after this commits. Bodies travel with every copy, duplicates too: one
 * round trip instead of a select and then an insert, and copies are rare next to new events. It is
 * its own statement, not part of the batch's insert transaction, so batches without copies (the
 * common case) stay one statement; accepted rows never wait for it.
 */
export async function settleCopies(run: PreparedRows, copies: readonly Copy[]): Promise<CopyOutcome[]> {
  const bodies = bodySlices(copies.map((c) => c.body));
  const rows = JSON.stringify(
    copies.map((c, ord) => ({
      ord,
      body_at: bodies.start(ord),
      body_len: bodies.length(ord),
      source: wellFormed(c.source),
      webhook_id: wellFormed(c.webhookId),
      hash: c.hash.toString('hex'),
      headers: c.headers,
    })),
  );
  // `held` locks the key of each conflicting copy until this commits. Retention deletes a key,
  // then the conflicts of its event in a later statement of its transaction (conflicts-of-deleted-keys.ts):
  // it waits for this lock or skips the key, so the conflict inserted here is seen and goes with
  // it; a key it deleted meanwhile is skipped by the lock (the copy is 'missing'), so no conflict
  // is left pointing at a gone event. Duplicates insert nothing and lock nothing.
  // `ins` is not selected from: PostgreSQL runs a data-modifying CTE whether or not it is read.
  const found = await run<{ ord: number; event_id: string | number; same: boolean }>(sql`
    with r as (
      select r.ord, r.source, r.webhook_id, decode(r.hash, 'hex') as hash, r.body_at, r.body_len, r.headers
      from json_to_recordset(${rows}::text::json) as r(ord int, source text, webhook_id text, hash text, body_at int,
                                                       body_len int, headers jsonb)
    ), m as (
      select r.*, k.event_id, k.content_hash = r.hash as same
      from r join event_keys k on k.source = r.source and k.webhook_id = r.webhook_id
    ), held as (
      select m.ord from m join event_keys k on k.source = m.source and k.webhook_id = m.webhook_id
      where not m.same
      for key share of k
    ), ins as (
      insert into event_conflicts (event_id, source, webhook_id, content_hash, body, headers, body_size)
      select event_id, source, webhook_id, hash, ${bodyOf(bodies.all, 'm')}, headers, body_len
      from m where ord in (select ord from held)
      on conflict (event_id, content_hash) do nothing
    )
    select ord, event_id, same from m where same or ord in (select ord from held)`);
  const outcomes: CopyOutcome[] = copies.map(() => ({ status: 'missing' }));
  for (const row of found) {
    outcomes[row.ord] = row.same ? { status: 'duplicate' } : { status: 'conflict', eventId: Number(row.event_id) };
  }
  return outcomes;
}

export interface ConflictFilter {
  source?: string;
  eventId?: number;
  /** Received at or after. */
  since?: Date;
  /** Only conflicts with an id below this one (keyset pagination, newest first). */
  beforeId?: number;
  limit: number;
}

/** The ops API's read side of event_conflicts. */
export function createConflictQueries({ db }: Database) {
  return {
    async list(filter: ConflictFilter): Promise<EventConflict[]> {
      const conditions: SQL[] = [];
      if (filter.source) conditions.push(eq(eventConflicts.source, filter.source));
      if (filter.eventId !== undefined) conditions.push(eq(eventConflicts.eventId, filter.eventId));
      if (filter.since) conditions.push(gte(eventConflicts.receivedAt, filter.since));
      if (filter.beforeId !== undefined) conditions.push(lt(eventConflicts.id, filter.beforeId));
      return db
        .select()
        .from(eventConflicts)
        .where(and(...conditions))
        .orderBy(desc(eventConflicts.id))
        .limit(filter.limit);
    },

    async get(id: number): Promise<EventConflict | undefined> {
      return (await db.select().from(eventConflicts).where(eq(eventConflicts.id, id)).limit(1))[0];
    },

    /** How many conflicting deliveries an event has (for its detail view). */
    async countFor(eventId: number): Promise<number> {
      const [row] = await db.select({ n: count() }).from(eventConflicts).where(eq(eventConflicts.eventId, eventId));
      return row?.n ?? 0;
    },
  };
}

export type ConflictQueries = ReturnType<typeof createConflictQueries>;
