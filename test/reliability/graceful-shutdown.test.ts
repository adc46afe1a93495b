import { describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/gateway';
import {
  RELIABILITY_SECRETS,
  missing,
  recordSummary,
  resendUntilAcknowledged,
  runLoad,
  shopifyDelivery,
  shopifyWebhookId,
  sleep,
  useScenarioDatabase,
  tally,
} from './harness';

describe('SIGTERM under load', () => {
  const scenario = useScenarioDatabase();

  it('answers in-flight requests correctly, stops claiming, hands back running work and exits in time', async () => {
    const env = {
      DATABASE_URL: scenario.testDb.url!,
      SHOPIFY_WEBHOOK_SECRET: RELIABILITY_SECRETS.shopify,
      HANDLER_DELAY_MS: '5000',
      SHUTDOWN_TIMEOUT_MS: '1000',
      WORKER_CONCURRENCY: '5',
    };
    const gateway = await scenario.start(env);
    const baseUrl = gateway.url;
    const port = gateway.port;
    let done = false;
    const load = runLoad({
      concurrency: 8,
      maxRequests: 20_000,
      keyPrefix: 'term',
      until: () => done,
      timeoutMs: 5_000,
      request: (k) => shopifyDelivery(baseUrl, k),
    });
    await sleep(1500);
    const [{ processing }] = await scenario.db.sql!<
      [{ processing: number }]
    >`select count(*)::int as processing from event_queue where claim_token is not null`;
    const signalled = Date.now();
    gateway.child.kill('SIGTERM');
    const exit = await gateway.exited;
    const exitMs = Date.now() - signalled;
    const [{ left }] = await scenario.db.sql!<
      [{ left: number }]
    >`select count(*)::int as left from event_queue where claim_token is not null`;
    // Handlers still running at the timeout were aborted (their signal fired) and their attempts
    // recorded as retries, or handed back as abandoned if they ignored the signal.
    const [{ interrupted }] = await scenario.db.sql!<[{ interrupted: number }]>`
      select count(*)::int as interrupted from processing_log
      where error like '%worker shutting down%' or error like 'worker shut down%'`;
    await sleep(500);
    done = true;
    const result = await load;

    // Another instance finishes what the stopped one handed back.
    await scenario.start({ ...env, HANDLER_DELAY_MS: '0' }, { port });
    const lost = await missing(scenario.db.sql!, 'shopify', [...result.acknowledged].map(shopifyWebhookId));
    const unresendable = await resendUntilAcknowledged(baseUrl, result.failed);
    await waitFor(
      async () => (await tally(scenario.db.sql!, 'shopify')).stuck === 0,
      60_000,
      'processing to finish',
    ).catch(() => {});
    const counts = await tally(scenario.db.sql!, 'shopify');
    recordSummary({
      scenario: 'SIGTERM under load (handlers 2.5-7.5 s)',
      faults: 1,
      sent: result.sent,
      acknowledged: result.acknowledged.size,
      stored: counts.stored,
      lost: lost.length,
      duplicates: counts.duplicates,
      stuck: counts.stuck,
    });

    expect(exit).toEqual({ code: 0, signal: null });
    expect(exitMs).toBeLessThan(1000 + 5_000);
    expect(processing).toBeGreaterThan(0); // handlers really were running when the signal came
    expect(left).toBe(0); // nothing left claimed by the stopped process
    const outcomes = await scenario.db
      .sql!`select outcome, left(error, 60) as error, count(*)::int from processing_log group by 1, 2`;
    expect(interrupted, JSON.stringify(outcomes)).toBeGreaterThan(0);
    expect(lost).toEqual([]);
    expect(unresendable).toEqual([]);
    expect(counts).toMatchObject({ duplicates: 0, stuck: 0 });
  });
});
