import type { Database } from '../db/client';
import { wellFormed, type PreparedRows } from '../db/statements';
import { insertOrdered } from '../ordering/ingest-sql';
import { settleCopies, type Copy } from './conflicts';
import { insertEventsStatement, type HandOff, type InsertedRow } from './event-insert';
import type { InsertResult, NewEvent } from './events';

// The rows of one group-commit write (src/store/group-commit.ts): requests collapsed into rows,
// the insert, each request's answer, and the events handed off to the local worker.

/** An event this process stored and claimed for its own worker in the same statement (a hand-off). */
export interface HandedOffEvent {
  id: number;
  event: NewEvent;
  receivedAt: Date;
  claimToken: string;
  attemptId: number;
  attemptStartedAt: Date;
}

/** A request waiting for the write that holds its event. */
export interface Waiter {
  event: NewEvent;
  /** sha256 of event.body, stored with the row and compared when the row exists already. */
  hash: Buffer;
  resolve: (result: InsertResult) => void;
  reject: (err: unknown) => void;
  /** When it was queued (the group commit's clock), to leave it unwritten once its request timed out. */
  queuedAt: number;
}

/** One row to write and every request that carried it (the first is the one that may be accepted). */
export interface Row {
  key: string;
  waiters: Waiter[];
}

/**
 * The first copy of an inserted row is accepted at once (its row is committed). Every other copy
 * — of a row stored earlier, or a same-batch twin — is compared by hash in one more statement:
 * same bytes `duplicate`, other bytes `conflict` (kept in event_conflicts). Only batches with
 * copies pay for that statement; the common path stays one statement.
 */
export async function settleRows(run: PreparedRows, rows: Row[], ids: Map<string, InsertedRow>): Promise<void> {
  const copies: Waiter[] = [];
  for (const row of rows) {
    const inserted = ids.get(row.key);
    if (inserted !== undefined) {
      const id = Number(inserted.id);
      // Two plain literals, not a spread: this runs for every accepted event.
      row.waiters[0]!.resolve(
        inserted.claim_token ? { status: 'accepted', id, claimed: true } : { status: 'accepted', id },
      );
    }
    copies.push(...(inserted === undefined ? row.waiters : row.waiters.slice(1)));
  }
  if (copies.length === 0) return;
  // One entry per distinct (key, bytes): identical twins share the answer and one stored conflict.
  const distinct = new Map<string, { copy: Copy; waiters: Waiter[] }>();
  for (const waiter of copies) {
    const { event, hash } = waiter;
    const key = `${keyOf(event.source, event.webhookId)}\u0000${hash.toString('hex')}`;
    const entry = distinct.get(key);
    if (entry) entry.waiters.push(waiter);
    else distinct.set(key, { copy: { ...event, hash }, waiters: [waiter] });
  }
  const entries = [...distinct.values()];
  let outcomes;
  try {
    outcomes = await settleCopies(
      run,
      entries.map((e) => e.copy),
    );
  } catch (err) {
    for (const waiter of copies) waiter.reject(err);
    return;
  }
  entries.forEach(({ waiters }, i) => {
    const outcome = outcomes[i]!;
    for (const waiter of waiters) {
      if (outcome.status === 'missing') waiter.reject(new Error('the stored event of this key was deleted meanwhile'));
      else waiter.resolve(outcome);
    }
  });
}

/**
 * Collapses copies of one (source, webhook id) into one row, sorted by key: concurrent batches
 * (several processes) then take their unique-index locks in the same order and cannot deadlock.
 */
export function distinctRows(batch: Waiter[]): Row[] {
  const byKey = new Map<string, Row>();
  for (const waiter of batch) {
    const key = keyOf(waiter.event.source, waiter.event.webhookId);
    const row = byKey.get(key);
    if (row) row.waiters.push(waiter);
    else byKey.set(key, { key, waiters: [waiter] });
  }
  return [...byKey.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

const keyOf = (source: string, webhookId: string) => `${source}\u0000${webhookId}`;

/**
 * One statement, its own transaction (src/store/event-insert.ts): rows whose (source, webhook id)
 * exists already (or is being inserted by a concurrent transaction, which it waits for) are skipped
 * and not returned. A batch holding events of ordered sources goes to insertOrdered, which locks
 * their lanes first.
 */
export async function insertRows(
  database: Database,
  run: PreparedRows,
  firsts: Waiter[],
  handOff?: HandOff,
): Promise<Map<string, InsertedRow>> {
  const lanes = firsts.flatMap(({ event: e }) =>
    e.ordering ? [`${wellFormed(e.source)}:${wellFormed(e.ordering.key)}`] : [],
  );
  const inserted =
    lanes.length > 0
      ? await insertOrdered(database, firsts, lanes)
      : await run<InsertedRow>(insertEventsStatement(firsts, handOff));
  return new Map(inserted.map((row) => [keyOf(row.source, row.webhook_id), row]));
}

/** The rows of a write that were claimed for the local worker, with the events they hold. */
export function handedOff(rows: Row[], ids: Map<string, InsertedRow>): HandedOffEvent[] {
  return rows.flatMap((row) => {
    const inserted = ids.get(row.key);
    if (!inserted?.claim_token) return [];
    return [
      {
        id: Number(inserted.id),
        event: row.waiters[0]!.event,
        receivedAt: new Date(inserted.received_at!),
        claimToken: inserted.claim_token,
        attemptId: Number(inserted.attempt_id),
        attemptStartedAt: new Date(inserted.attempt_started_at!),
      },
    ];
  });
}
