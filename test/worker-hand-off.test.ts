import { sql } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { createEventStore, type NewEvent } from '../src/store/events';
import { createGroupCommit, type HandedOffEvent, type LocalClaimant } from '../src/store/group-commit';
import { HandlerRegistry, type DeliveredEvent } from '../src/worker/handlers';
import { createQueue } from '../src/worker/queue-sql';
import type { Worker } from '../src/worker/worker';
import { listenOn } from '../src/db/listen';
import { databaseKinds, useMigratedDatabase } from './helpers/database';
import { waitFor } from './helpers/gateway';
import { createTestWorker } from './helpers/worker';

// A hand-off (docs/worker.md, *Hand-off*): the group commit's insert claims new events for the
// worker of its own process, up to the free slots that worker reserved.

const event = (source: string, webhookId: string): NewEvent => ({
  source,
  webhookId,
  topic: 'orders/create',
  body: Buffer.from(`{"id":"${webhookId}","total":"10.10"}`),
  headers: { 'content-type': 'application/json', 'x-shopify-topic': 'orders/create' },
  maxAttempts: 8,
});

/** A claimant that grants what a test says and records what it was handed. */
function recordingClaimant(grant: number) {
  const taken: { claimed: readonly HandedOffEvent[]; reserved: number }[] = [];
  const claimant: LocalClaimant = {
    id: 'test-host:4242',
    leaseSeconds: 60,
    reserve: (wanted) => Math.min(wanted, grant),
    take: (claimed, reserved) => void taken.push({ claimed, reserved }),
  };
  return { claimant, taken };
}

interface QueueRow {
  webhook_id: string;
  locked_by: string | null;
  claim_token: string | null;
  attempt: number | null;
  attempt_id: string | null;
  claimed_with_insert: boolean | null;
}

describe.each(databaseKinds())('hand-off to the local worker on %s', (kind) => {
  const migrated = useMigratedDatabase(kind);
  const workers: Worker[] = [];
  afterEach(async () => {
    for (const worker of workers.splice(0)) await worker.stop(1000);
  });

  const queueRows = (source: string) =>
    migrated.database.rows<QueueRow>(sql`
      select e.webhook_id, q.locked_by, q.claim_token::text as claim_token, q.attempt, q.attempt_id::text as attempt_id,
             q.attempt_started_at = e.received_at as claimed_with_insert
      from event_queue q join webhook_events e on e.id = q.event_id
      where e.source = ${source} order by e.webhook_id`);

  /** Lets a batcher gather several events into one write (it flushes after the current turn). */
  const together = <T>(inserts: (() => Promise<T>)[]) => Promise.all(inserts.map((insert) => insert()));

  it('claims as many new events as the worker reserved, in the insert, and leaves the rest due', async () => {
    const { claimant, taken } = recordingClaimant(2);
    const batcher = createGroupCommit({
      database: migrated.database,
      store: createEventStore(migrated.database),
      claimant,
    });
    const results = await together(['a', 'b', 'c'].map((id) => () => batcher.insert(event('split', id))));

    expect(results.map((r) => r.status)).toEqual(['accepted', 'accepted', 'accepted']);
    expect(results.filter((r) => r.status === 'accepted' && r.claimed)).toHaveLength(2);
    const rows = await queueRows('split');
    expect(rows.map((r) => [r.webhook_id, r.locked_by, r.attempt, r.claimed_with_insert])).toEqual([
      ['a', 'test-host:4242', 1, true],
      ['b', 'test-host:4242', 1, true],
      ['c', null, null, null],
    ]);
    expect(rows[0]!.attempt_id).not.toBeNull();
    expect(taken).toHaveLength(1);
    expect(taken[0]!.reserved).toBe(2);
    const handed = taken[0]!.claimed;
    expect(handed.map((h) => [h.event.webhookId, h.claimToken, String(h.attemptId)])).toEqual(
      rows.slice(0, 2).map((r) => [r.webhook_id, r.claim_token, r.attempt_id]),
    );
    expect(handed.every((h) => results.some((r) => r.status === 'accepted' && r.id === h.id && r.claimed))).toBe(true);
  });

  it('while nobody watches the live stream, announces only the events it left due; with a viewer, the claimed too, as not due', async () => {
    const heard: Record<string, unknown>[] = [];
    const unlisten = await listenOn(migrated.database, 'webhook_events', (payload) => heard.push(JSON.parse(payload)));
    try {
      let watched = false;
      const batcher = createGroupCommit({
        database: migrated.database,
        store: createEventStore(migrated.database),
        claimant: recordingClaimant(1).claimant,
        watched: () => watched,
      });
      const unwatched = await together(['u1', 'u2'].map((id) => () => batcher.insert(event('unwatched', id))));
      watched = true;
      const viewed = await together(['v1', 'v2'].map((id) => () => batcher.insert(event('viewed', id))));
      // Delivered in commit order: once this is heard, every announcement of the inserts above is.
      await migrated.database.rows(sql`select pg_notify('webhook_events', '{"marker":"hand-off"}')`);
      await waitFor(() => heard.some((p) => p.marker === 'hand-off'), 10_000, 'marker heard');

      const dueHeard = (results: typeof unwatched, claimed: boolean) =>
        results
          .filter((r) => r.status === 'accepted' && Boolean(r.claimed) === claimed)
          .map((r) => heard.filter((p) => p.id === (r as { id: number }).id).map((p) => p.due));
      expect(dueHeard(unwatched, true)).toEqual([[]]);
      expect(dueHeard(unwatched, false)).toEqual([[true]]);
      expect(dueHeard(viewed, true)).toEqual([[false]]);
      expect(dueHeard(viewed, false)).toEqual([[true]]);
      // A claimed event's archive row is due again when its lease would have expired.
      const [claimed] = await migrated.database.rows<{ lease: number }>(sql`
        select extract(epoch from next_attempt_at - received_at)::int as lease from webhook_events
        where source = 'unwatched' and next_attempt_at > received_at`);
      expect(claimed?.lease).toBe(60);
    } finally {
      await unlisten();
    }
  });

  it("does not claim a paused source's events, and frees the reservation when the write fails", async () => {
    await migrated.database.rows(
      sql`insert into sources (name, provider, spec, paused) values ('paused-one', 'shopify', '{}'::jsonb, true)`,
    );
    const { claimant, taken } = recordingClaimant(10);
    const batcher = createGroupCommit({
      database: migrated.database,
      store: createEventStore(migrated.database),
      claimant,
    });
    const [paused] = await together([() => batcher.insert(event('paused-one', 'p1'))]);
    expect(paused).toEqual({ status: 'accepted', id: expect.any(Number) });
    expect((await queueRows('paused-one')).map((r) => r.claim_token)).toEqual([null]);
    expect(taken.at(-1)).toEqual({ claimed: [], reserved: 1 });

    // A topic PostgreSQL refuses (U+0000) fails the batch's statement; each row is then written on
    // its own, without a hand-off, and the reservation is given back.
    const bad = { ...event('refused', 'bad'), topic: 'nul\u0000topic' };
    const [refused, good] = await Promise.allSettled([batcher.insert(bad), batcher.insert(event('refused', 'good'))]);
    expect(refused.status).toBe('rejected');
    expect(good).toEqual({ status: 'fulfilled', value: { status: 'accepted', id: expect.any(Number) } });
    expect(taken.at(-1)).toEqual({ claimed: [], reserved: 2 });
    expect((await queueRows('refused')).map((r) => [r.webhook_id, r.claim_token])).toEqual([['good', null]]);
  });

  it('a handed-off claim whose process died is recovered by its lease like any claim', async () => {
    const { claimant } = recordingClaimant(1);
    const batcher = createGroupCommit({
      database: migrated.database,
      store: createEventStore(migrated.database),
      claimant,
    });
    const result = await batcher.insert(event('orphan', 'o1'));
    expect(result).toMatchObject({ status: 'accepted', claimed: true });
    // Nobody runs it (the process "died" after the commit): the lease expires and recovery takes it back.
    // (The first test's handed-off claims, never run either, are recovered with it.)
    expect(await createQueue(migrated.database).recoverExpiredLeases(0)).toBeGreaterThanOrEqual(1);
    expect((await queueRows('orphan')).map((r) => [r.locked_by, r.claim_token])).toEqual([[null, null]]);
    const log = await migrated.database.rows<{ attempt: number; worker: string; outcome: string }>(sql`
      select p.attempt, p.worker, p.outcome from processing_log p join webhook_events e on e.id = p.event_id
      where e.source = 'orphan'`);
    expect(log).toEqual([{ attempt: 1, worker: 'test-host:4242', outcome: 'abandoned' }]);
  });

  it('the real worker runs what it is handed with the stored bytes, once caught up with the queue', async () => {
    const seen: DeliveredEvent[] = [];
    const handlers = new HandlerRegistry().on('local', '*', async (e) => void seen.push(e));
    const worker = createTestWorker(migrated.database, { handlers, workerId: 'local-host:7' });
    workers.push(worker);
    const store = createEventStore(migrated.database);
    const batcher = createGroupCommit({ database: migrated.database, store, claimant: worker });

    // Not started: nothing is reserved, the event waits in the queue as usual.
    const early = await batcher.insert(event('local', 'e0'));
    expect(early).toEqual({ status: 'accepted', id: expect.any(Number) });
    worker.start();
    // Started, but it has not looked at the queue yet: e0 waits there, so nothing overtakes it.
    expect(worker.reserve(1)).toBe(0);
    await worker.tick();
    await worker.idle();
    expect(seen.map((e) => e.webhookId)).toEqual(['e0']);

    // Caught up: a write of 6 gets the 4 free slots; the other 2 are left due, and from then on
    // nothing is handed off until a claim has taken them.
    const results = await together(
      ['e1', 'e2', 'e3', 'e4', 'e5', 'e6'].map((id) => () => batcher.insert(event('local', id))),
    );
    expect(results.filter((r) => r.status === 'accepted' && r.claimed)).toHaveLength(4);
    expect(worker.reserve(1)).toBe(0);
    await worker.idle();
    await worker.tick();
    await worker.idle();
    expect(worker.reserve(1)).toBe(1);
    worker.take([], 1);

    expect(seen.map((e) => e.webhookId).sort()).toEqual(['e0', 'e1', 'e2', 'e3', 'e4', 'e5', 'e6']);
    const handed = seen.find((e) => e.webhookId === 'e1')!;
    expect(handed.rawBody.toString()).toBe('{"id":"e1","total":"10.10"}');
    expect(handed.headers).toEqual({ 'content-type': 'application/json', 'x-shopify-topic': 'orders/create' });
    expect(handed.attempt).toBe(1);
    const log = await migrated.database.rows<{
      webhook_id: string;
      attempt: number;
      worker: string;
      outcome: string;
      status: string;
    }>(sql`
      select e.webhook_id, p.attempt, p.worker, p.outcome, e.status
      from processing_log p join webhook_events e on e.id = p.event_id where e.source = 'local' order by e.webhook_id`);
    expect(log).toHaveLength(7);
    expect(
      log.every(
        (r) => r.attempt === 1 && r.worker === 'local-host:7' && r.outcome === 'completed' && r.status === 'completed',
      ),
    ).toBe(true);
    expect(await queueRows('local')).toEqual([]);
  });
});
