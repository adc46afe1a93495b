import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { createEventStore } from '../src/store/events';
import { createRetention } from '../src/store/retention';
import { listenForEvents, type EventNotification } from '../src/worker/notifications';
import { createQueue } from '../src/worker/queue-sql';
import { databaseKinds, useMigratedDatabase } from './helpers/database';
import { waitFor } from './helpers/gateway';

// The queue's side of per-key ordering (docs/ordering.md) on paths the HTTP tests do not reach:
// the unbatched insert (events with a nonce), lease recovery of a head on its last attempt, and
// the shutdown hand-back. Each test uses a source of its own, so they never claim each other's.
describe.each(databaseKinds())('ordering lanes in the queue (%s)', (kind) => {
  const migrated = useMigratedDatabase(kind);
  const insert = (source: string, key: string, i: number, maxAttempts = 3) =>
    createEventStore(migrated.database).insert({
      source,
      webhookId: `${source}-${i}`,
      topic: 't',
      body: Buffer.from('{}'),
      headers: {},
      maxAttempts,
      nonce: `${source}-n${i}`,
      ordering: { key, lane: `${source}:${key}` },
    });
  const lane = (source: string) =>
    migrated.database.rows<{ id: string; status: string; due: boolean; blocked: boolean; queued: boolean }>(
      sql`select e.id, e.status, q.run_at <= now() as due, q.blocked_at is not null as blocked, q.event_id is not null as queued
          from webhook_events e left join event_queue q on q.event_id = e.id where e.source = ${source} order by e.id`,
    );
  const claim = async (source: string, blockingSources: string[] = []) =>
    (
      await createQueue(migrated.database, { blockingSources: () => blockingSources }).claim(`test:${source}`, 100)
    ).filter((e) => e.source === source);
  const expireLeases = (source: string) =>
    migrated.database.rows(sql`update event_queue set locked_at = now() - interval '1 hour'
                               where event_id in (select id from webhook_events where source = ${source})`);

  it('the unbatched insert makes only the first event of a key due; a claim takes one per key', async () => {
    for (let i = 0; i < 3; i++) expect((await insert('nonce', 'k', i)).status).toBe('accepted');
    await insert('nonce', 'other', 3);
    expect((await lane('nonce')).map((r) => r.due)).toEqual([true, false, false, true]);
    const claimed = await claim('nonce');
    expect(claimed.map((e) => e.lane)).toEqual(['nonce:k', 'nonce:other']);
  });

  it("lease recovery of a head on its last attempt: 'continue' promotes the next, 'block' keeps the key", async () => {
    for (const [source, blocking] of [
      ['lease-continue', []],
      ['lease-block', ['lease-block']],
    ] as const) {
      await insert(source, 'k', 0, 1);
      await insert(source, 'k', 1, 1);
      const [head] = await claim(source);
      expect(head).toBeDefined();
      await expireLeases(source);
      const queue = createQueue(migrated.database, { blockingSources: () => blocking });
      expect(await queue.recoverExpiredLeases(1)).toBeGreaterThanOrEqual(1);
      const rows = await lane(source);
      expect(rows[0]!.status).toBe('failed');
      if (blocking.length === 0) {
        expect(rows[0]!.queued).toBe(false);
        expect(rows[1]).toMatchObject({ status: 'received', due: true });
      } else {
        expect(rows[0]).toMatchObject({ queued: true, blocked: true, due: false });
        expect(rows[1]).toMatchObject({ status: 'received', due: false });
        expect(await claim(source, [...blocking])).toEqual([]);
        // Retention keeps the blocked head however old: deleting it would leave the key stuck.
        await createRetention(migrated.database).purge({ completedDays: 0, failedDays: 0, batchSize: 100 });
        expect((await lane(source))[0]).toMatchObject({ status: 'failed', queued: true, blocked: true });
      }
    }
  });

  it('the shutdown hand-back keeps the head in front', async () => {
    await insert('release', 'k', 0);
    await insert('release', 'k', 1);
    const claimed = await claim('release');
    expect(await createQueue(migrated.database).release(claimed, 'shutdown')).toBe(1);
    const again = await claim('release');
    expect(again.map((e) => e.id)).toEqual(claimed.map((e) => e.id));
  });
  // Only a recorded outcome promotes its lane's next head (src/worker/queue-sql.ts, finishMany),
  // and the promoted head is announced from its archive row, read by (id, received_at) (migration 0024).
  it('a completed head promotes the next and announces it; an outcome the fence refused promotes nothing', async () => {
    const heard: EventNotification[] = [];
    const unlisten = await listenForEvents(migrated.database, (event) => heard.push(event));
    try {
      for (let i = 0; i < 3; i++) await insert('promote', 'k', i);
      const queue = createQueue(migrated.database);
      const [first] = await claim('promote');
      expect(first).toBeDefined();
      // Its lease expires and recovery puts it back, due: the old claim's outcome is refused.
      await expireLeases('promote');
      expect(await queue.recoverExpiredLeases(1)).toBeGreaterThanOrEqual(1);
      const refused = await queue.finishMany([{ event: first!, result: { outcome: 'completed' } }]);
      expect(refused.size).toBe(0);
      expect((await lane('promote')).map((r) => [r.status, r.due])).toEqual([
        ['received', true],
        ['received', false],
        ['received', false],
      ]);
      // The head claimed again and completed: the second event is due and announced as promoted.
      const [again] = await claim('promote');
      expect(again!.id).toBe(first!.id);
      const recorded = await queue.finishMany([{ event: again!, result: { outcome: 'completed' } }]);
      expect(recorded.has(first!.id)).toBe(true);
      const rows = await lane('promote');
      expect(rows.map((r) => [r.status, r.due])).toEqual([
        ['completed', null],
        ['received', true],
        ['received', false],
      ]);
      const second = Number(rows[1]!.id);
      const promoted = await waitFor(
        () => heard.find((event) => event.id === second && event.promoted),
        10_000,
        'the promotion notification',
      );
      expect(promoted).toMatchObject({ id: second, source: 'promote', topic: 't', status: 'received', due: true });
    } finally {
      await unlisten();
    }
  });
});
