// The signal a handler is given (src/worker/worker.ts, attemptAborts): its own per attempt, so
// listeners a handler leaves on it end with the attempt. One signal for the worker's life gathered
// one listener per attempt, forever (MaxListenersExceededWarning from the 11th attempt on, seen in
// test/reliability/crash-processing.test.ts, whose handler races a timer against the signal).
import { getEventListeners } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../src/db/client';
import { runMigrations } from '../src/db/migrate';
import { createEventStore } from '../src/store/events';
import { HandlerRegistry } from '../src/worker/handlers';
import { createTestDatabase, type TestDatabase } from './helpers/database';
import { waitFor } from './helpers/gateway';
import { createTestWorker } from './helpers/worker';

describe('the abort signal handed to handlers', () => {
  let testDb: TestDatabase;
  let database: Database;
  beforeAll(async () => {
    testDb = await createTestDatabase('pglite');
    database = await testDb.open();
    await runMigrations(database, testDb.url);
  });
  afterAll(() => testDb?.drop());

  const insert = async (source: string, count: number) => {
    const store = createEventStore(database);
    for (let i = 0; i < count; i++) {
      await store.insert({
        source,
        webhookId: `${source}-${i}`,
        topic: 't',
        body: Buffer.from('{}'),
        headers: {},
        maxAttempts: 3,
      });
    }
  };

  it('listeners a handler never removes do not pile up: every attempt has a signal of its own', async () => {
    const total = 40;
    await insert('leaky', total);
    const signals: AbortSignal[] = [];
    const warnings: string[] = [];
    const onWarning = (warning: Error) => void warnings.push(`${warning.name}: ${warning.message}`);
    process.on('warning', onWarning);
    // What test/fixtures/gateway-process.ts does: a timer raced against the signal, its listener left behind.
    const handlers = new HandlerRegistry().on('leaky', '*', async (_event, { signal }) => {
      signals.push(signal);
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, 1);
        signal.addEventListener('abort', () => {
          clearTimeout(timer);
          reject(signal.reason as Error);
        });
      });
    });
    const worker = createTestWorker(database, { handlers, concurrency: 4 });
    try {
      await waitFor(
        async () => {
          await worker.tick();
          await worker.idle();
          return signals.length >= total;
        },
        20_000,
        `${total} attempts`,
      );
    } finally {
      await worker.stop(1_000);
      process.off('warning', onWarning);
    }
    expect(signals).toHaveLength(total);
    expect(new Set(signals).size).toBe(total);
    const mostListeners = Math.max(...signals.map((signal) => getEventListeners(signal, 'abort').length));
    expect(mostListeners).toBe(1);
    expect(warnings.filter((w) => w.startsWith('MaxListenersExceededWarning'))).toEqual([]);
  });

  it("the worker's shutdown timeout still aborts a running handler's signal", async () => {
    await insert('stuck', 1);
    let started: AbortSignal | undefined;
    const handlers = new HandlerRegistry().on('stuck', '*', (_event, { signal }) => {
      started = signal;
      return new Promise((_resolve, reject) =>
        signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }),
      );
    });
    const worker = createTestWorker(database, { handlers });
    void worker.tick();
    const signal = (await waitFor(() => started, 10_000, 'the handler to start'))!;
    expect(signal.aborted).toBe(false);
    await worker.stop(50);
    expect(signal.aborted).toBe(true);
    expect((signal.reason as Error).message).toBe('worker shutting down');
  });
});
