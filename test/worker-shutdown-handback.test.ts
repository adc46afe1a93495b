// A deploy stops a worker whose handler honours the abort signal (a destination's POST does: it
// throws "aborted: worker shutting down"). That attempt was recorded as the handler's failure: a
// retry after backoff, and on the event's last attempt `failed` for good. It is the deploy's doing,
// so the event is handed back as a handler still running at the timeout is: due at once, the last
// attempt not used up, the attempt logged `abandoned`.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../src/db/client';
import { runMigrations } from '../src/db/migrate';
import { createEventStore } from '../src/store/events';
import { HandlerRegistry } from '../src/worker/handlers';
import { createTestDatabase, databaseKinds, type TestDatabase } from './helpers/database';
import { waitFor } from './helpers/gateway';
import { createTestWorker } from './helpers/worker';

describe.each(databaseKinds())('a handler aborted by the shutdown timeout (%s)', (kind) => {
  let testDb: TestDatabase;
  let database: Database;
  beforeAll(async () => {
    testDb = await createTestDatabase(kind);
    database = await testDb.open();
    await runMigrations(database, testDb.url);
  });
  afterAll(() => testDb?.drop());

  it('on its last attempt is handed back due at once, not failed', async () => {
    await createEventStore(database).insert({
      source: 'deploying',
      webhookId: 'last-try',
      topic: 't',
      body: Buffer.from('{}'),
      headers: {},
      maxAttempts: 1,
    });
    let started: AbortSignal | undefined;
    // What a destination's POST does when its signal fires: reject with an error of its own.
    const handlers = new HandlerRegistry().on('deploying', '*', (_event, { signal }) => {
      started = signal;
      return new Promise((_resolve, reject) =>
        signal.addEventListener('abort', () => reject(new Error('slow: aborted: worker shutting down')), {
          once: true,
        }),
      );
    });
    const worker = createTestWorker(database, { handlers });
    void worker.tick();
    await waitFor(() => started, 10_000, 'the handler to start');
    await worker.stop(50);

    const [event] = await database.rows<{ status: string; attempts: number; due: boolean }>(
      sql`select status, attempts, next_attempt_at <= now() as due from webhook_events where webhook_id = 'last-try'`,
    );
    expect(event).toEqual({ status: 'received', attempts: 0, due: true });
    const [queued] = await database.rows<{ claimed: boolean; due: boolean }>(
      sql`select claim_token is not null as claimed, run_at <= now() as due from event_queue`,
    );
    expect(queued).toEqual({ claimed: false, due: true });
    const log = await database.rows<{ outcome: string; error: string }>(sql`select outcome, error from processing_log`);
    expect(log).toEqual([{ outcome: 'abandoned', error: 'worker shut down before the attempt finished' }]);
  });
});
