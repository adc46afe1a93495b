import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { createEventStore } from '../src/store/events';
import { createQueue } from '../src/worker/queue-sql';
import { databaseKinds, useMigratedDatabase } from './helpers/database';

/**
 * The attempt log is written once per attempt, when it ends: the claim reserves the row's id and
 * start time on the queue row, the outcome (or a release, or lease recovery) inserts the finished
 * row. A running attempt is shown from its claim. A claim an earlier version logged as 'running'
 * at claim time is finished in place by lease recovery, never logged twice.
 */
describe.each(databaseKinds())('attempt log written when the attempt ends, on %s', (kind) => {
  const migrated = useMigratedDatabase(kind);

  async function storeOne(source: string) {
    const stored = await createEventStore(migrated.database).insert({
      source,
      webhookId: `${source}-1`,
      topic: 't',
      body: Buffer.from('{}'),
      headers: {},
      maxAttempts: 3,
    });
    if (stored.status !== 'accepted') throw new Error(`not stored: ${stored.status}`);
    return stored.id;
  }
  const claimOne = async (source: string, worker: string) => {
    const claimed = (await createQueue(migrated.database).claim(worker, 100)).filter((e) => e.source === source);
    expect(claimed).toHaveLength(1);
    return claimed[0]!;
  };
  const logRows = (eventId: number) =>
    migrated.database.rows<{
      id: string;
      attempt: number;
      worker: string;
      outcome: string;
      error: string | null;
      started_at: unknown;
      finished_at: unknown;
    }>(
      sql`select id, attempt, worker, outcome, error, started_at, finished_at from processing_log where event_id = ${eventId} order by id`,
    );

  it('a claim writes no log row; the ops view shows it running; the outcome writes one finished row with the reserved id', async () => {
    const id = await storeOne('life');
    const event = await claimOne('life', 'host-a:101');
    expect(await logRows(id)).toEqual([]);

    const whileRunning = await createEventStore(migrated.database).attempts(id);
    expect(whileRunning).toEqual([
      expect.objectContaining({
        id: event.attemptId,
        eventId: id,
        attempt: 1,
        worker: 'host-a:101',
        outcome: 'running',
        finishedAt: null,
      }),
    ]);
    expect(whileRunning[0]!.startedAt.getTime()).toBe(event.attemptStartedAt.getTime());

    expect(await createQueue(migrated.database).finish(event, { outcome: 'retry', error: 'later', retryInMs: 0 })).toBe(
      true,
    );
    const rows = await logRows(id);
    expect(rows.map((r) => [Number(r.id), r.attempt, r.worker, r.outcome, r.error])).toEqual([
      [event.attemptId, 1, 'host-a:101', 'retry', 'later'],
    ]);
    expect(rows[0]!.finished_at).not.toBeNull();

    // The second attempt gets a new id; the view lists both once.
    const second = await claimOne('life', 'host-b:202');
    expect(second.attemptId).toBeGreaterThan(event.attemptId);
    expect((await createEventStore(migrated.database).attempts(id)).map((a) => [a.attempt, a.outcome])).toEqual([
      [1, 'retry'],
      [2, 'running'],
    ]);
    await createQueue(migrated.database).finish(second, { outcome: 'completed' });
    expect((await createEventStore(migrated.database).attempts(id)).map((a) => [a.id, a.worker, a.outcome])).toEqual([
      [event.attemptId, 'host-a:101', 'retry'],
      [second.attemptId, 'host-b:202', 'completed'],
    ]);
  });

  it('a held attempt is not counted and leaves no row; a release logs the attempt abandoned by its worker', async () => {
    const id = await storeOne('held');
    const held = await claimOne('held', 'host-a:101');
    await createQueue(migrated.database).finish(held, {
      outcome: 'held',
      error: 'paused',
      heldFor: ['crm'],
      recheckInMs: 0,
    });
    expect(await logRows(id)).toEqual([]);

    await migrated.database.rows(sql`update event_queue set run_at = now() where event_id = ${id}`);
    const again = await claimOne('held', 'host-c:303');
    expect(again.attempt).toBe(1);
    expect(await createQueue(migrated.database).release([again], 'shutting down')).toBe(1);
    expect((await logRows(id)).map((r) => [Number(r.id), r.attempt, r.worker, r.outcome, r.error])).toEqual([
      [again.attemptId, 1, 'host-c:303', 'abandoned', 'shutting down'],
    ]);
  });

  it('a shutdown hand-back of the last attempt does not make room for one beyond max_attempts', async () => {
    const id = await storeOne('last-release'); // max_attempts 3
    const queue = createQueue(migrated.database);
    for (const attempt of [1, 2]) {
      const claimed = await claimOne('last-release', 'host-a:101');
      expect(claimed.attempt).toBe(attempt);
      await queue.finish(claimed, { outcome: 'retry', error: 'later', retryInMs: 0 });
    }
    const last = await claimOne('last-release', 'host-a:101');
    expect(last.attempt).toBe(3);
    expect(await queue.release([last], 'shutting down')).toBe(1);

    // The interrupted last attempt is run again as attempt 3, not as a fourth of three, and the
    // worker (src/worker/attempt.ts) treats it as the last: a failure there is final.
    const again = await claimOne('last-release', 'host-b:202');
    expect([again.attempt, again.maxAttempts]).toEqual([3, 3]);
    expect(await queue.finish(again, { outcome: 'failed', error: 'still failing' })).toBe(true);
    const [event] = await migrated.database.rows<{ status: string; attempts: number }>(
      sql`select status, attempts from webhook_events where id = ${id}`,
    );
    expect(event).toEqual({ status: 'failed', attempts: 3 });
    expect((await logRows(id)).map((r) => [r.attempt, r.outcome])).toEqual([
      [1, 'retry'],
      [2, 'retry'],
      [3, 'abandoned'],
      [3, 'failed'],
    ]);
  });

  it('lease recovery logs an expired attempt abandoned, and finishes in place a running row an earlier version wrote', async () => {
    const fresh = await storeOne('expired-new');
    const legacy = await storeOne('expired-old');
    // One claim takes both (a claim takes every due event up to its limit).
    const claimed = await createQueue(migrated.database).claim('host-a:101', 100);
    const a = claimed.find((e) => e.id === fresh)!;
    const b = claimed.find((e) => e.id === legacy)!;
    // What a gateway before this change left for b: its attempt row, written at the claim, running.
    await migrated.database.rows(sql`
      insert into processing_log (id, event_id, attempt, worker, started_at)
      overriding system value
      select attempt_id, event_id, attempt, locked_by, attempt_started_at from event_queue where event_id = ${legacy}`);
    await migrated.database.rows(
      sql`update event_queue set locked_at = now() - interval '1 hour' where event_id in (${fresh}, ${legacy})`,
    );

    expect(await createQueue(migrated.database).recoverExpiredLeases(60)).toBe(2);
    for (const [eventId, claim, worker] of [
      [fresh, a, 'host-a:101'],
      [legacy, b, 'host-a:101'],
    ] as const) {
      const rows = await logRows(eventId);
      expect(rows.map((r) => [Number(r.id), r.worker, r.outcome])).toEqual([[claim.attemptId, worker, 'abandoned']]);
      expect(rows[0]!.finished_at).not.toBeNull();
    }
  });
});
