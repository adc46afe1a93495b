// Events found by webhook id go through event_keys' primary key (the archive has no index on
// webhook_id): the same id under several sources, with and without a source, a missing id, other
// filters on top, and the bulk replay's count by the same match.
import { and, desc, sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { webhookEvents } from '../src/db/schema';
import { matching } from '../src/store/event-match';
import { createEventStore } from '../src/store/events';
import { databaseKinds, useMigratedDatabase } from './helpers/database';

describe.each(databaseKinds())('events by webhook id on %s', (kind) => {
  const db = useMigratedDatabase(kind);
  const ids: Record<string, number> = {};

  beforeAll(async () => {
    const store = createEventStore(db.database);
    for (const [source, webhookId, topic] of [
      ['shopify', 'shared-1', 'orders/create'],
      ['github', 'shared-1', 'push'],
      ['stripe', 'other-2', 'charge.succeeded'],
      ['zendesk', 'shared-1', 'ticket.created'],
    ] as const) {
      const stored = await store.insert({
        source,
        webhookId,
        topic,
        body: Buffer.from('{}'),
        headers: {},
        maxAttempts: 5,
      });
      if (stored.status !== 'accepted') throw new Error(`not stored: ${source}/${webhookId}`);
      ids[`${source}/${webhookId}`] = stored.id;
    }
  }, 60_000);

  it('finds the id under every source, newest first, or under the one asked for', async () => {
    const store = createEventStore(db.database);
    const all = await store.list({ webhookId: 'shared-1', limit: 50 });
    expect(all.map((e) => e.id)).toEqual([ids['zendesk/shared-1'], ids['github/shared-1'], ids['shopify/shared-1']]);
    const one = await store.list({ webhookId: 'shared-1', source: 'github', limit: 50 });
    expect(one.map((e) => e.id)).toEqual([ids['github/shared-1']]);
    expect(await store.list({ webhookId: 'shared-1', source: 'stripe', limit: 50 })).toEqual([]);
    expect(await store.list({ webhookId: 'missing', limit: 50 })).toEqual([]);
    // Other filters still apply, and so does the page.
    expect((await store.list({ webhookId: 'shared-1', topic: 'push', limit: 50 })).map((e) => e.id)).toEqual([
      ids['github/shared-1'],
    ]);
    expect((await store.list({ webhookId: 'shared-1', limit: 1 })).map((e) => e.id)).toEqual([ids['zendesk/shared-1']]);
    expect(
      (await store.list({ webhookId: 'shared-1', excludeSources: ['zendesk', 'shopify'], limit: 50 })).map((e) => e.id),
    ).toEqual([ids['github/shared-1']]);
    expect(
      (await store.list({ webhookId: 'shared-1', beforeId: ids['github/shared-1'], limit: 50 })).map((e) => e.id),
    ).toEqual([ids['shopify/shared-1']]);
  });

  it('counts the same events for a bulk replay of the match', async () => {
    const store = createEventStore(db.database);
    expect(await store.countReplayable({ webhookId: 'shared-1' })).toBe(3);
    expect(await store.countReplayable({ webhookId: 'other-2', source: 'stripe' })).toBe(1);
  });
});

// The lookup reads the key's index and the archive by primary key, not the archive's rows: with
// 30,000 events of 1 KB stored, the oldest event's id costs ~60 buffers (10,239 when the archive was
// walked; 606 when the key table was hashed whole: the plan this test first caught).
describe.each(databaseKinds().filter((k) => k === 'postgres'))('the webhook-id lookup on %s', (kind) => {
  const db = useMigratedDatabase(kind);

  it('reads a few dozen buffers, however many events are stored', async () => {
    const { database } = db;
    await database.rows(sql`
      with keyed as (
        insert into event_keys (source, webhook_id, event_id, content_hash, received_at)
        select case when n % 2 = 0 then 'shopify' else 'github' end, 'bulk-' || n, nextval('webhook_events_id_seq'), '\\x00', now()
        from generate_series(1, 30000) n returning *)
      insert into webhook_events (id, source, webhook_id, topic, body, received_at)
      overriding system value
      select event_id, source, webhook_id, 't', convert_to(repeat('x', 1000), 'UTF8'), received_at from keyed`);
    // excludeSources: what a viewer's lookup adds when some sources read the id from a masked path.
    for (const match of [
      { webhookId: 'bulk-1' },
      { webhookId: 'bulk-1', source: 'github' },
      { webhookId: 'bulk-1', excludeSources: ['shopify'] },
    ]) {
      const query = database.db
        .select()
        .from(webhookEvents)
        .where(and(...matching(match)))
        .orderBy(desc(webhookEvents.id))
        .limit(50)
        .toSQL();
      const [{ 'QUERY PLAN': plan }] = (await database.sql!.unsafe(
        `explain (analyze, buffers, format json) ${query.sql}`,
        query.params as never[],
      )) as unknown as [
        {
          'QUERY PLAN': [
            { Plan: { 'Actual Rows': number; 'Shared Hit Blocks': number; 'Shared Read Blocks': number } },
          ];
        },
      ];
      const top = plan[0].Plan;
      expect(top['Actual Rows']).toBe(1);
      expect(top['Shared Hit Blocks'] + top['Shared Read Blocks']).toBeLessThan(300);
    }
  }, 120_000);
});
