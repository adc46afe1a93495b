// GET /api/stats counts by status (the UI's figures strip, each linked to the event list filtered
// by it). A claim lives on the queue row only (migration 0013): the archive row of an event being
// processed still says 'received', yet the list's 'processing' filter finds it by its claim.
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { createEventStore } from '../src/store/events';
import { createStatsQueries } from '../src/store/stats';
import { createQueue } from '../src/worker/queue-sql';
import { databaseKinds, useMigratedDatabase } from './helpers/database';

describe.each(databaseKinds())('stats by status on %s', (kind) => {
  const db = useMigratedDatabase(kind);

  it('counts an event being processed as processing, like the event list does', async () => {
    const { database } = db;
    const store = createEventStore(database);
    for (const [source, webhookId] of [
      ['crm', 'c-1'],
      ['crm', 'c-2'],
      ['shop', 's-1'],
    ] as const) {
      await store.insert({ source, webhookId, topic: 't', body: Buffer.from('{}'), headers: {}, maxAttempts: 5 });
    }
    expect((await createQueue(database).claim('w:1', 2)).map((e) => e.webhookId)).toEqual(['c-1', 'c-2']);
    const stats = await createStatsQueries(database).stats(new Date(Date.now() - 3_600_000));
    const listed = await store.list({ status: 'processing', limit: 10 });
    expect(stats.by_status).toMatchObject({ received: 1, processing: listed.length });
    expect(stats.by_status.processing).toBe(2);
    expect(stats.by_source).toEqual({ crm: { processing: 2 }, shop: { received: 1 } });
    expect(stats.queue.processing).toBe(2);
    // Nothing claimed outside the window is counted in it.
    const [row] = await database.rows<{ n: number }>(
      sql`select count(*)::int as n from event_queue where claim_token is not null`,
    );
    expect(row!.n).toBe(2);
    const later = await createStatsQueries(database).stats(new Date(Date.now() + 60_000));
    expect(later.by_status).toEqual({ received: 0, processing: 0, completed: 0, failed: 0 });
  });
});
