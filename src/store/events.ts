import { and, asc, count, desc, eq, gt, inArray, sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { preparedRows } from '../db/statements';
import type { EventOrdering } from '../ordering/key';
import { isClaimed, lockClaims, runningAttempt, withClaims, type EventView } from './claims';
import { contentHash, settleCopies } from './conflicts';
import { insertEventsStatement, type InsertedRow } from './event-insert';
import { matching, type EventMatch } from './event-match';
import { createEventSearch } from './event-search-spans';
import { replayedState, requeue, type ReplayAttempts, type ReplayResult } from './event-replay';
import { processingLog, seenNonces, webhookEvents, type ProcessingLogRow } from '../db/schema';

// The events table is the only place ingest and the ops API touch stored events: its insert,
// queries and replay are here; what a replay writes is in ./event-replay.ts.

export interface NewEvent {
  source: string;
  webhookId: string;
  topic: string;
  account?: string;
  body: Buffer;
  headers: Record<string, string>;
  maxAttempts: number;
  /** A nonce the sender signed for this delivery; a new event whose nonce was seen before is refused. */
  nonce?: string;
  /** `path?query` as received, credentials left out (src/ingest/request-target.ts). */
  requestTarget?: string;
  /** Its ordering key and lane, when its source orders events (docs/ordering.md). */
  ordering?: EventOrdering;
}

export type InsertResult =
  /** `claimed`: already claimed for this process's worker by its insert (a hand-off): no wake-up needed. */
  | { status: 'accepted'; id: number; claimed?: true }
  | { status: 'duplicate' }
  /** Same key as stored event `eventId`, other bytes: kept in event_conflicts (src/store/conflicts.ts). */
  | { status: 'conflict'; eventId: number }
  | { status: 'replayed' };

/** Thrown inside the insert transaction to roll it back when the nonce was already used. */
class NonceReplayed extends Error {}

export type { EventMatch };
export type { ReplayAttempts, ReplayResult } from './event-replay';

export interface EventFilter extends EventMatch {
  /** Only events with an id below this one (keyset pagination, newest first). */
  beforeId?: number;
  limit: number;
}

/** The events table: the only place ingest and the ops API touch stored events. */
export interface EventStoreOptions {
  /**
   * statement_timeout of the searches an operator starts (list, the bulk replay's count): a filter
   * no index serves — a payload search, a rare topic — reads every day kept, and must not hold a
   * pool connection that ingest and the worker share for minutes. 0 or unset: no limit.
   */
  searchTimeoutMs?: number;
  /** Ids per statement of a search walked in spans on PGlite (tests make it small). */
  spanIds?: number;
}

export function createEventStore(database: Database, options: EventStoreOptions = {}) {
  const { db } = database;
  const run = preparedRows(database);
  const searchPage = createEventSearch(database, options);

  /** A copy of a stored key: `duplicate` or `conflict` by its bytes (see settleCopies). */
  async function settleCopy(event: NewEvent, hash: Buffer): Promise<InsertResult> {
    const [outcome] = await settleCopies(run, [{ ...event, hash }]);
    if (outcome!.status === 'missing') throw new Error('the stored event of this key was deleted meanwhile');
    return outcome!;
  }

  return {
    /**
     * Inserts a verified event once. `on conflict do nothing` makes concurrent copies of one id race
     * safely: exactly one gets a row back, the others see none and are duplicates. The promise only
     * resolves after the insert is committed, so callers may acknowledge then. With a nonce, the
     * nonce is recorded in seen_nonces in the same transaction ('replayed' when it was already there).
     * A copy with other bytes than the stored event is a 'conflict', kept in event_conflicts.
     */
    async insert(event: NewEvent): Promise<InsertResult> {
      const hash = contentHash(event.body);
      // The key, the event and its queue row (due now) commit together (src/store/event-insert.ts). An
      // ordered event locks its lane first and is its head only if the lane is empty
      // (src/ordering/ingest-sql.ts explains).
      const lane = event.ordering?.lane;
      const insertEvent = async (tx: Pick<typeof db, 'execute'>) => {
        if (lane !== undefined) await tx.execute(sql`select event_queue_lock_lanes(array[${lane}]::text[])`);
        const result = (await tx.execute(insertEventsStatement([{ event, hash }]))) as unknown;
        // postgres.js returns the rows, PGlite an object holding them.
        const rows = (Array.isArray(result) ? result : (result as { rows: InsertedRow[] }).rows) as InsertedRow[];
        return rows.map((row) => ({ id: Number(row.id) }));
      };

      const { nonce } = event;
      if (nonce === undefined) {
        const row = (await db.transaction((tx) => insertEvent(tx)))[0];
        return row ? { status: 'accepted', id: row.id } : settleCopy(event, hash);
      }
      // Event and nonce commit together, so a failed store never burns a nonce. A duplicate event
      // is a retry of something already accepted: it needs no nonce check. A new event whose nonce
      // is taken (the primary key makes a concurrent twin wait for the first to commit) rolls back.
      try {
        const result = await db.transaction(async (tx) => {
          const row = (await insertEvent(tx))[0];
          if (!row) return { status: 'duplicate' } as const;
          const recorded = await tx
            .insert(seenNonces)
            .values({ source: event.source, nonce })
            .onConflictDoNothing()
            .returning({ nonce: seenNonces.nonce });
          if (recorded.length === 0) throw new NonceReplayed();
          return { status: 'accepted', id: row.id } as const;
        });
        // The copy is compared once the transaction is over, like the batched path does.
        return result.status === 'duplicate' ? await settleCopy(event, hash) : result;
      } catch (err) {
        if (err instanceof NonceReplayed) return { status: 'replayed' };
        throw err;
      }
    },

    /** Newest first, filtered, one page (keyset on id so pages are stable while events arrive). */
    async list(filter: EventFilter): Promise<EventView[]> {
      const conditions = matching(filter);
      const rows = await searchPage(filter, (range, limit, run) =>
        run((db) =>
          db
            .select()
            .from(webhookEvents)
            .where(and(...conditions, ...range))
            .orderBy(desc(webhookEvents.id))
            .limit(limit),
        ),
      );
      return withClaims(db, rows);
    },

    /**
     * The body sizes of the page `list` would give for the same filter, ids and bytes only: an
     * export reads as many bodies as fit its byte budget (octet_length reads a stored body's
     * length from its TOAST pointer, not the body).
     */
    async bodySizes(filter: EventFilter): Promise<{ id: number; bytes: number }[]> {
      const conditions = matching(filter);
      return searchPage(filter, (range, limit, run) =>
        run((db) =>
          db
            .select({ id: webhookEvents.id, bytes: sql<number>`octet_length(${webhookEvents.body})`.mapWith(Number) })
            .from(webhookEvents)
            .where(and(...conditions, ...range))
            .orderBy(desc(webhookEvents.id))
            .limit(limit),
        ),
      );
    },

    async get(id: number): Promise<EventView | undefined> {
      const rows = await db.select().from(webhookEvents).where(eq(webhookEvents.id, id)).limit(1);
      return (await withClaims(db, rows))[0];
    },

    /** How many events a bulk replay of this match would touch (everything but those being processed). */
    async countReplayable(match: EventMatch): Promise<number> {
      const conditions = [...matching(match), sql`not ${isClaimed}`];
      // One count per span of ids on PGlite when no index serves the match: a row each, summed.
      const counted = await searchPage({ ...match, limit: Number.MAX_SAFE_INTEGER }, (range, _limit, run) =>
        run((db) =>
          db
            .select({ n: count() })
            .from(webhookEvents)
            .where(and(...conditions, ...range)),
        ),
      );
      return counted.reduce((total, row) => total + row.n, 0);
    },

    /**
     * Replays every event of the match, oldest first, in batches keyed on id so that rows already
     * replayed (now 'received', possibly matching again) are never visited twice.
     */
    async replayMatching(match: EventMatch, attempts: ReplayAttempts, batchSize = 1000): Promise<number> {
      let afterId = 0;
      let total = 0;
      for (;;) {
        const batch = await db
          .select({ id: webhookEvents.id })
          .from(webhookEvents)
          .where(and(...matching(match), sql`not ${isClaimed}`, gt(webhookEvents.id, afterId)))
          .orderBy(asc(webhookEvents.id))
          .limit(batchSize);
        if (batch.length === 0) return total;
        const ids = batch.map((r) => r.id);
        const replayed = await db.transaction(async (tx) => {
          const claimed = await lockClaims(tx, ids);
          const free = ids.filter((id) => !claimed.has(id));
          if (free.length === 0) return [];
          return requeue(
            tx,
            await tx
              .update(webhookEvents)
              .set(replayedState(attempts))
              .where(inArray(webhookEvents.id, free))
              .returning({ id: webhookEvents.id, receivedAt: webhookEvents.receivedAt }),
          );
        });
        total += replayed.length;
        afterId = ids[ids.length - 1]!;
      }
    },

    /**
     * The event's attempts, oldest first. An attempt's log row is written when it ends
     * (src/worker/outcome-sql.ts); one running now is read from its claim on the queue row.
     */
    async attempts(eventId: number): Promise<ProcessingLogRow[]> {
      // The claim first: an attempt that ends between the two reads is then found in the log.
      const running = await runningAttempt(db, eventId);
      const logged = await db
        .select()
        .from(processingLog)
        .where(eq(processingLog.eventId, eventId))
        .orderBy(processingLog.id);
      return running && !logged.some((row) => row.id === running.id) ? [...logged, running] : logged;
    },

    /**
     * Makes an event due now. History is kept: the attempt counter keeps counting and the event gets
     * its source's max_attempts more tries from here, so a dead (failed) event comes back with a fresh set.
     * An event being processed right now is left alone (its worker holds the claim).
     */
    async replay(id: number, attempts: ReplayAttempts): Promise<ReplayResult> {
      const rows = await db.transaction(async (tx) => {
        if ((await lockClaims(tx, [id])).size > 0) return [];
        return requeue(
          tx,
          await tx.update(webhookEvents).set(replayedState(attempts)).where(eq(webhookEvents.id, id)).returning(),
        );
      });
      // The answer is the event as replayed (due now, not claimed), with where it waits in its lane:
      // a worker woken by the replay may already hold it by the time the view is read back.
      const replayed = rows[0] && (await this.get(id));
      if (replayed) return { status: 'replayed', event: { ...replayed, ...rows[0], lockedBy: null, lockedAt: null } };
      return (await this.get(id)) ? { status: 'processing' } : { status: 'not_found' };
    },
  };
}

export type EventStore = ReturnType<typeof createEventStore>;
