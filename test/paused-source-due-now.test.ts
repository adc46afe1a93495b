// What makes a parked event (its source paused, src/store/queue-parking.ts) due now — a replay —
// must make it due now once the source is resumed, not leave it at the retry time it was parked
// with.
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { createControlStore } from '../src/control/store';
import { createEventStore } from '../src/store/events';
import { createQueue } from '../src/worker/queue-sql';
import { databaseKinds, useMigratedDatabase } from './helpers/database';

const ATTEMPTS = { bySource: {}, fallback: 5 };

describe.each(databaseKinds())('a parked event made due now is due on resume (%s)', (kind) => {
  const db = useMigratedDatabase(kind);
  const add = async (source: string, webhookId: string, lane?: string) => {
    const stored = await createEventStore(db.database).insert({
      source, webhookId, topic: 't', body: Buffer.from('{}'), headers: {}, maxAttempts: 5,
      ...(lane ? { ordering: { key: lane, lane: `${source}:${lane}` } } : {}),
    });
    if (stored.status !== 'accepted') throw new Error(`not stored: ${stored.status}`);
    return stored.id;
  };
  /** The event waits in the queue for a retry (or a hold's recheck) an hour from now. */
  const later = (id: number, heldFor?: string) =>
    db.database.rows(sql`
      update event_queue set run_at = now() + interval '1 hour', held_for = ${heldFor === undefined ? null : JSON.stringify([heldFor])}::jsonb
      where event_id = ${id}`);
  const claimedAfterResume = async (source: string) => {
    expect((await createControlStore(db.database).setPaused(source, false)).ok).toBe(true);
    return (await createQueue(db.database).claim(`${source}:1`, 10)).map((e) => e.id);
  };
  const newSource = (name: string) =>
    db.database.rows(sql`insert into sources (name, provider, spec) values (${name}, 'github', '{}'::jsonb)`);

  it('a replay while paused of an event waiting for its retry', async () => {
    await newSource('replayed');
    const id = await add('replayed', 'r-1');
    await later(id);
    expect((await createControlStore(db.database).setPaused('replayed', true)).ok).toBe(true);
    expect((await createEventStore(db.database).replay(id, ATTEMPTS)).status).toBe('replayed');
    expect(await claimedAfterResume('replayed')).toEqual([id]);
  });

  it("a replay while paused of a lane's head waiting for its retry", async () => {
    await newSource('lanes');
    const head = await add('lanes', 'l-1', 'k');
    await add('lanes', 'l-2', 'k');
    await later(head);
    expect((await createControlStore(db.database).setPaused('lanes', true)).ok).toBe(true);
    expect((await createEventStore(db.database).replay(head, ATTEMPTS)).status).toBe('replayed');
    expect(await claimedAfterResume('lanes')).toEqual([head]);
  });
});
