// What makes a parked event (its source paused, src/store/queue-parking.ts) due now — a replay, a
// destination's resume, a closing circuit — must make it due now once the source is resumed, not
// leave it at the retry or recheck time it was parked with.
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { createControlStore } from '../src/control/store';
import { createDestinationStore } from '../src/control/destination-store';
import { createProtectionStore } from '../src/deliver/protection-sql';
import { createEventStore } from '../src/store/events';
import { createQueue } from '../src/worker/queue-sql';
import { databaseKinds, useMigratedDatabase } from './helpers/database';

const ATTEMPTS = { bySource: {}, fallback: 5 };

describe.each(databaseKinds())('a parked event made due now is due on resume (%s)', (kind) => {
  const db = useMigratedDatabase(kind);
  const add = async (source: string, webhookId: string, lane?: string) => {
    const stored = await createEventStore(db.database).insert({
      source,
      webhookId,
      topic: 't',
      body: Buffer.from('{}'),
      headers: {},
      maxAttempts: 5,
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

  it('a destination resumed while the source is paused releases the events held for it', async () => {
    await newSource('held');
    await db.database.rows(sql`
      insert into destinations (name, url, key_id, iv, tag, ciphertext, fingerprint, paused)
      values ('erp', 'http://127.0.0.1:9/', 'k', '\\x00', '\\x00', '\\x00', 'f', true)`);
    const id = await add('held', 'h-1');
    await later(id, 'erp');
    expect((await createControlStore(db.database).setPaused('held', true)).ok).toBe(true);
    expect((await createDestinationStore(db.database).setPaused('erp', false)).ok).toBe(true);
    expect(await claimedAfterResume('held')).toEqual([id]);
  });

  it("a destination's circuit closing while the source is paused releases the events held for it", async () => {
    await newSource('circuit');
    await db.database.rows(sql`insert into destination_health (name, state, opened_at) values ('crm', 'open', now())`);
    const id = await add('circuit', 'c-1');
    await later(id, 'crm');
    expect((await createControlStore(db.database).setPaused('circuit', true)).ok).toBe(true);
    expect((await createProtectionStore(db.database).success('crm')).released).toBe(1);
    expect(await claimedAfterResume('circuit')).toEqual([id]);
  });
});
