// Events found by webhook id go through event_keys' primary key (the archive has no index on
// webhook_id): the same id under several sources, with and without a source, a missing id, other
// filters on top, and the bulk replay's count by the same match.
import { beforeAll, describe, expect, it } from 'vitest';
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
      const stored = await store.insert({ source, webhookId, topic, body: Buffer.from('{}'), headers: {}, maxAttempts: 5 });
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
      (await store.list({ webhookId: 'shared-1', beforeId: ids['github/shared-1'], limit: 50 })).map((e) => e.id),
    ).toEqual([ids['shopify/shared-1']]);
  });

  it('counts the same events for a bulk replay of the match', async () => {
    const store = createEventStore(db.database);
    expect(await store.countReplayable({ webhookId: 'shared-1' })).toBe(3);
    expect(await store.countReplayable({ webhookId: 'other-2', source: 'stripe' })).toBe(1);
  });
});
