// What finding events by webhook id costs with H events of history (default 1 M): the events list
// (GET /api/events?webhook_id=…) for a missing id, for the oldest event's id, and with its source,
// three times each. Run: node --import tsx bench/sql/event-lookup-cost.ts (docs/performance.md).
import { openDatabase } from '../../src/db/client';
import { createEventStore } from '../../src/store/events';
import { createBenchDatabase } from '../lib/database';
import { addHistory } from '../phases/history';

const db = await createBenchDatabase(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
try {
  await addHistory(db, Number(process.env.H ?? 1_000_000));
  const [oldest] = await db.sql<[{ webhook_id: string }]>`select webhook_id from webhook_events order by id limit 1`;
  const database = await openDatabase({ url: db.url, poolSize: 4 });
  try {
    const store = createEventStore(database);
    const cases = {
      'missing id': { webhookId: 'no-such-delivery' },
      'oldest id': { webhookId: oldest.webhook_id },
      'oldest id with its source': { webhookId: oldest.webhook_id, source: 'shopify' },
    };
    for (const [label, filter] of Object.entries(cases)) {
      for (let i = 0; i < 3; i++) {
        const started = performance.now();
        const found = await store.list({ ...filter, limit: 50 });
        console.log(`${label}: ${(performance.now() - started).toFixed(0)} ms, ${found.length} found`);
      }
    }
  } finally {
    await database.close();
  }
} finally {
  await db.drop();
}
