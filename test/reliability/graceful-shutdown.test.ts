import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { waitFor } from '../helpers/gateway';
import {
  RELIABILITY_SECRETS,
  missing,
  recordSummary,
  resendUntilAcknowledged,
  runLoad,
  serverUrl,
  shopifyDelivery,
  shopifyWebhookId,
  sleep,
  startGatewayProcess,
  tally,
  type GatewayProcess,
} from './harness';

describe('SIGTERM under load', () => {
  let testDb: TestDatabase;
  let db: Database;
  let gateway: GatewayProcess | undefined;
  beforeAll(async () => {
    process.env.TEST_DATABASE_URL ??= serverUrl();
    testDb = await createTestDatabase('postgres');
    db = await testDb.open();
  });
  afterAll(async () => {
    gateway?.child.kill('SIGKILL');
    await testDb?.drop();
  });

  it('answers in-flight requests correctly, stops claiming, hands back running work and exits in time', async () => {
    const env = {
      DATABASE_URL: testDb.url!,
      SHOPIFY_WEBHOOK_SECRET: RELIABILITY_SECRETS.shopify,
      HANDLER_DELAY_MS: '5000',
      SHUTDOWN_TIMEOUT_MS: '1000',
      WORKER_CONCURRENCY: '5',
    };
    gateway = await startGatewayProcess(env);
    const baseUrl = gateway.url;
    const port = gateway.port;
    let done = false;
    const load = runLoad({ concurrency: 8, maxRequests: 20_000, keyPrefix: 'term', until: () => done, timeoutMs: 5_000, request: (k) => shopifyDelivery(baseUrl, k) });
    await sleep(1500);
    const [{ processing }] = await db.sql!<[{ processing: number }]>`select count(*)::int as processing from webhook_events where status = 'processing'`;
    const signalled = Date.now();
    gateway.child.kill('SIGTERM');
    const exit = await gateway.exited;
    const exitMs = Date.now() - signalled;
    const [{ left }] = await db.sql!<[{ left: number }]>`select count(*)::int as left from webhook_events where status = 'processing'`;
    // Handlers still running at the timeout were aborted (their signal fired) and their attempts
    // recorded as retries, or handed back as abandoned if they ignored the signal.
    const [{ interrupted }] = await db.sql!<[{ interrupted: number }]>`
      select count(*)::int as interrupted from processing_log
      where error like '%worker shutting down%' or error like 'worker shut down%'`;
    await sleep(500);
    done = true;
    const result = await load;

    // Another instance finishes what the stopped one handed back.
    gateway = await startGatewayProcess({ ...env, HANDLER_DELAY_MS: '0' }, { port });
    const lost = await missing(db.sql!, 'shopify', [...result.acknowledged].map(shopifyWebhookId));
    const unresendable = await resendUntilAcknowledged(baseUrl, result.failed);
    await waitFor(async () => (await tally(db.sql!, 'shopify')).stuck === 0, 60_000, 'processing to finish').catch(() => {});
    const counts = await tally(db.sql!, 'shopify');
    recordSummary({ scenario: 'SIGTERM under load (handlers 2.5-7.5 s)', faults: 1, sent: result.sent, acknowledged: result.acknowledged.size, stored: counts.stored, lost: lost.length, duplicates: counts.duplicates, stuck: counts.stuck });

    expect(exit).toEqual({ code: 0, signal: null });
    expect(exitMs).toBeLessThan(1000 + 5_000);
    expect(processing).toBeGreaterThan(0); // handlers really were running when the signal came
    expect(left).toBe(0); // nothing left claimed by the stopped process
    const outcomes = await db.sql!`select outcome, left(error, 60) as error, count(*)::int from processing_log group by 1, 2`;
    expect(interrupted, JSON.stringify(outcomes)).toBeGreaterThan(0);
    expect(lost).toEqual([]);
    expect(unresendable).toEqual([]);
    expect(counts).toMatchObject({ duplicates: 0, stuck: 0 });
  });
});
