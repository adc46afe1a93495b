// A paused source's queued events are parked out of the claim's range (migration 0027,
// src/store/queue-parking.ts): the pause parks what the source holds, the claim parks what arrives
// after, the resume and the delete give every event back its run_at. Operators' counts do not move.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConditionQueries } from '../src/alerts/conditions-sql';
import { createControlStore } from '../src/control/store';
import { runMigrations } from '../src/db/migrate';
import { createEventStore } from '../src/store/events';
import { createStatsQueries } from '../src/store/stats';
import { createStatsMinutes } from '../src/store/stats-minute';
import { createQueue } from '../src/worker/queue-sql';
import {
  createTestDatabase,
  databaseKinds,
  postgresUrl,
  useMigratedDatabase,
  type TestDatabase,
} from './helpers/database';
import { migrateToPreviousRelease } from './helpers/previous-release';

interface QueueRow {
  webhook_id: string;
  run_at: string;
  parked_run_at: string | null;
}

describe.each(databaseKinds())('a paused source parks its queued events on %s', (kind) => {
  const db = useMigratedDatabase(kind);
  const queueOf = (source: string) =>
    db.database.rows<QueueRow>(sql`
      select e.webhook_id, q.run_at::text as run_at, q.parked_run_at::text as parked_run_at
      from event_queue q join webhook_events e on e.id = q.event_id
      where q.source = ${source} order by e.webhook_id`);
  const add = async (source: string, webhookId: string) => {
    const stored = await createEventStore(db.database).insert({
      source,
      webhookId,
      topic: 't',
      body: Buffer.from('{}'),
      headers: {},
      maxAttempts: 5,
    });
    expect(stored.status).toBe('accepted');
  };
  let before: QueueRow[];

  beforeAll(async () => {
    const { database } = db;
    await database.rows(sql`insert into sources (name, provider, spec) values ('crm', 'github', '{}'::jsonb)`);
    for (const id of ['crm-1', 'crm-2', 'crm-3']) await add('crm', id);
    for (const id of ['shop-1', 'shop-2']) await add('shop', id);
    // Due for two minutes, one second apart; crm-3 waits for a retry in an hour.
    await database.rows(sql`
      update event_queue q set run_at = now() - interval '2 minutes' + (q.event_id - (select min(event_id) from event_queue)) * interval '1 second'`);
    await database.rows(sql`
      update event_queue set run_at = now() + interval '1 hour'
      where event_id = (select id from webhook_events where webhook_id = 'crm-3')`);
    before = await queueOf('crm');
  }, 60_000);

  it('the pause parks every unclaimed event of the source, and the counts stay as they were', async () => {
    const { database } = db;
    const counts = async () => ({
      due: Object.fromEntries(await createStatsMinutes(database).dueBySource()),
      queue: (await createStatsQueries(database).stats(new Date(Date.now() - 3_600_000))).queue,
      backlog: (await createConditionQueries(database).backlog_age({ older_than_seconds: 60, source: 'crm' }))[0]
        ?.summary,
    });
    const running = await counts();
    expect(running.due).toEqual({ crm: 2, shop: 2 });

    expect((await createControlStore(database).setPaused('crm', true)).ok).toBe(true);
    const parked = await queueOf('crm');
    expect(parked.map((r) => r.run_at)).toEqual(['infinity', 'infinity', 'infinity']);
    expect(parked.map((r) => r.parked_run_at)).toEqual(before.map((r) => r.run_at));
    expect((await queueOf('shop')).map((r) => r.parked_run_at)).toEqual([null, null]);

    // Due per source, the queue summary and the backlog alert count a parked event as before.
    const paused = await counts();
    expect(paused.due).toEqual(running.due);
    expect({ ...paused.queue, oldest_due_age_seconds: 0 }).toEqual({ ...running.queue, oldest_due_age_seconds: 0 });
    expect(paused.queue).toMatchObject({ due: 4, scheduled_retries: 1, waiting_in_order: 0 });
    expect(paused.backlog).toContain('2 due');
    expect(Object.fromEntries(await createControlStore(database).onHold())).toEqual({ crm: 3 });
  });

  it('the claim parks what arrives while paused and claims only the running sources', async () => {
    const { database } = db;
    await add('crm', 'crm-4');
    expect((await queueOf('crm')).find((r) => r.webhook_id === 'crm-4')!.parked_run_at).toBeNull();
    const claimed = await createQueue(database).claim('w:1', 10);
    expect(claimed.map((e) => e.webhookId)).toEqual(['shop-1', 'shop-2']);
    const late = (await queueOf('crm')).find((r) => r.webhook_id === 'crm-4')!;
    expect(late.run_at).toBe('infinity');
    expect(late.parked_run_at).not.toBeNull();
    // Nothing of the paused source is left in the claim's range.
    const [inRange] = await database.rows<{ n: number }>(sql`
      select count(*)::int as n from event_queue where source = 'crm' and run_at <= now()`);
    expect(inRange!.n).toBe(0);
  });

  it('the resume gives every event its run_at back; the due ones are claimed in order', async () => {
    const { database } = db;
    expect((await createControlStore(database).setPaused('crm', false)).ok).toBe(true);
    const resumed = await queueOf('crm');
    expect(resumed.every((r) => r.parked_run_at === null)).toBe(true);
    expect(resumed.slice(0, 3).map((r) => r.run_at)).toEqual(before.map((r) => r.run_at));
    const claimed = await createQueue(database).claim('w:2', 10);
    expect(claimed.map((e) => e.webhookId)).toEqual(['crm-1', 'crm-2', 'crm-4']);
  });

  it('a parked lane head is not promoted while its source is paused', async () => {
    const { database } = db;
    await database.rows(sql`insert into sources (name, provider, spec) values ('lanes', 'github', '{}'::jsonb)`);
    for (const id of ['l-1', 'l-2']) {
      const stored = await createEventStore(database).insert({
        source: 'lanes',
        webhookId: id,
        topic: 't',
        body: Buffer.from('{}'),
        headers: {},
        maxAttempts: 5,
        nonce: `${id}-nonce`,
        ordering: { key: 'k', lane: 'lanes:k' },
      });
      expect(stored.status).toBe('accepted');
    }
    const control = createControlStore(database);
    expect((await control.setPaused('lanes', true)).ok).toBe(true);
    const [head, waiting] = await queueOf('lanes');
    expect(head).toMatchObject({ webhook_id: 'l-1', run_at: 'infinity' });
    expect(head!.parked_run_at).not.toBeNull();
    expect(waiting).toMatchObject({ webhook_id: 'l-2', run_at: 'infinity', parked_run_at: null });
    // A replay or skip in the lane promotes its head: not a parked one (migration 0027).
    const [promoted] = await database.rows<{ n: number }>(sql`select event_queue_promote(array['lanes:k']) as n`);
    expect(Number(promoted!.n)).toBe(0);
    expect((await queueOf('lanes'))[0]).toEqual(head);
    // Resumed: the head is due at its own run_at, the next still waits behind it.
    expect((await control.setPaused('lanes', false)).ok).toBe(true);
    expect(await queueOf('lanes')).toEqual([
      { webhook_id: 'l-1', run_at: head!.parked_run_at, parked_run_at: null },
      { webhook_id: 'l-2', run_at: 'infinity', parked_run_at: null },
    ]);
  });

  it('deleting a paused source gives its events back', async () => {
    const { database } = db;
    const control = createControlStore(database);
    expect((await control.setPaused('crm', true)).ok).toBe(true);
    expect((await queueOf('crm')).find((r) => r.webhook_id === 'crm-3')!.run_at).toBe('infinity');
    expect((await control.deleteSource('crm')).ok).toBe(true);
    const held = (await queueOf('crm')).find((r) => r.webhook_id === 'crm-3');
    expect(held).toMatchObject({ webhook_id: 'crm-3', run_at: before[2]!.run_at, parked_run_at: null });
  });
});

describe.each(databaseKinds())('the on-hold count of a paused source on %s', (kind) => {
  const db = useMigratedDatabase(kind);

  it('leaves out the events being processed: the pause does not hold them', async () => {
    const { database } = db;
    await database.rows(sql`insert into sources (name, provider, spec) values ('busy', 'github', '{}'::jsonb)`);
    for (const webhookId of ['b-1', 'b-2']) {
      await createEventStore(database).insert({
        source: 'busy',
        webhookId,
        topic: 't',
        body: Buffer.from('{}'),
        headers: {},
        maxAttempts: 5,
      });
    }
    expect((await createQueue(database).claim('w:1', 1)).map((e) => e.webhookId)).toEqual(['b-1']);
    expect((await createControlStore(database).setPaused('busy', true)).ok).toBe(true);
    expect(Object.fromEntries(await createControlStore(database).onHold())).toEqual({ busy: 1 });
  });
});

describe.runIf(postgresUrl())('a resume racing claims on postgres', () => {
  const db = useMigratedDatabase('postgres');

  it('leaves no event parked once the source runs again', async () => {
    const { database } = db;
    const control = createControlStore(database);
    const queue = createQueue(database);
    await database.rows(sql`insert into sources (name, provider, spec) values ('race', 'github', '{}'::jsonb)`);
    await database.rows(sql`
      with stored as (
        insert into webhook_events (source, webhook_id, topic, body, headers, status, max_attempts)
        select 'race', 'r-' || i, 't', '{}', '{}'::jsonb, 'received', 5 from generate_series(1, 2000) i
        returning id, received_at, source)
      insert into event_queue (event_id, received_at, source, run_at)
      select id, received_at, source, now() - interval '1 minute' from stored`);
    const stranded = async () =>
      (
        await database.rows<{ n: number }>(
          sql`select count(*)::int as n from event_queue where parked_run_at is not null`,
        )
      )[0]!.n;
    for (let round = 0; round < 30; round++) {
      expect((await control.setPaused('race', true)).ok).toBe(true);
      // As if they had all arrived after the pause: the claims below park them.
      await database.rows(
        sql`update event_queue set run_at = parked_run_at, parked_run_at = null where parked_run_at is not null`,
      );
      const claims = Promise.all([1, 2, 3, 4].map((w) => queue.claim(`w:${w}`, 10)));
      // The resume lands while the claims run (they park up to 1,000 rows each).
      await new Promise((resolve) => setImmediate(resolve));
      expect((await control.setPaused('race', false)).ok).toBe(true);
      const claimed = (await claims).flat();
      // Claims that ran after the resume took events; hand them back for the next round.
      if (claimed.length > 0) {
        await database.rows(
          sql`update event_queue set claim_token = null, locked_by = null, locked_at = null where claim_token is not null`,
        );
      }
      expect(await stranded()).toBe(0);
    }
  }, 120_000);
});

describe.each(databaseKinds())('migration 0027 on %s', (kind) => {
  let testDb: TestDatabase;
  afterAll(async () => {
    await testDb?.drop();
  });

  it("parks what a source paused before the upgrade holds, and nothing of the others'", async () => {
    testDb = await createTestDatabase(kind);
    const database = await testDb.open();
    await migrateToPreviousRelease(testDb, database, 27);
    const store = createEventStore(database);
    for (const [source, webhookId] of [
      ['crm', 'c-1'],
      ['crm', 'c-2'],
      ['shop', 's-1'],
    ] as const) {
      await store.insert({ source, webhookId, topic: 't', body: Buffer.from('{}'), headers: {}, maxAttempts: 5 });
    }
    await database.rows(
      sql`insert into sources (name, provider, spec, paused) values ('crm', 'github', '{}'::jsonb, true)`,
    );

    await runMigrations(database, testDb.url);

    const rows = await database.rows<{ source: string; parked: boolean; run_at: string }>(sql`
      select source, parked_run_at is not null as parked, run_at::text as run_at from event_queue order by source`);
    expect(rows.map((r) => [r.source, r.parked, r.run_at === 'infinity'])).toEqual([
      ['crm', true, true],
      ['crm', true, true],
      ['shop', false, false],
    ]);
    expect(Object.fromEntries(await createStatsMinutes(database).dueBySource())).toEqual({ crm: 2, shop: 1 });
    expect((await createControlStore(database).setPaused('crm', false)).ok).toBe(true);
    expect((await createQueue(database).claim('upgraded:1', 10)).map((e) => e.webhookId)).toEqual([
      'c-1',
      'c-2',
      's-1',
    ]);
  }, 120_000);
});
