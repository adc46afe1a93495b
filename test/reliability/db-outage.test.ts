import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/gateway';
import { proxyDatabase } from '../helpers/tcp-proxy';
import {
  RELIABILITY_SECRETS,
  missing,
  processOutput,
  recordSummary,
  resendUntilAcknowledged,
  runLoad,
  secretsInOutput,
  shopifyDelivery,
  shopifyWebhookId,
  sleep,
  useScenarioDatabase,
  tally,
} from './harness';

describe('database outage under load', () => {
  const scenario = useScenarioDatabase();
  let routed: Awaited<ReturnType<typeof proxyDatabase>>;
  beforeAll(async () => {
    routed = await proxyDatabase(scenario.testDb.url!);
  });
  afterAll(() => routed?.proxy.close());

  it('answers 503 quickly while the database is gone, never 200, and resumes by itself with nothing lost', async () => {
    const { proxy } = routed;
    const gateway = await scenario.start({
      DATABASE_URL: routed.url,
      DB_CONNECT_TIMEOUT_SECONDS: '2',
      DB_WRITE_TIMEOUT_MS: '3000',
      SHOPIFY_WEBHOOK_SECRET: RELIABILITY_SECRETS.shopify,
      OPS_API_TOKEN: RELIABILITY_SECRETS.ops,
      WORKER_CRON: '* * * * * *',
      WORKER_LEASE_SECONDS: '5',
      // The worker's failed claims are logged at debug while the outage log tells the outage once.
      LOG_LEVEL: 'debug',
    });
    const baseUrl = gateway.url;
    let done = false;
    const load = runLoad({
      concurrency: 8,
      maxRequests: 50_000,
      keyPrefix: 'outage',
      until: () => done,
      timeoutMs: 10_000,
      request: (key) => shopifyDelivery(baseUrl, key),
    });

    await sleep(1500);
    const outputBefore = processOutput.join('').length;
    await proxy.cut();
    await sleep(500);
    const readyDuring = await fetch(`${baseUrl}/readyz`);
    const duringStarted = Date.now();
    const during = await shopifyDelivery(baseUrl, 'during-outage');
    const duringMs = Date.now() - duringStarted;
    await sleep(3000);
    const outageLog = processOutput.join('').slice(outputBefore);
    await proxy.restore();
    await waitFor(async () => (await fetch(`${baseUrl}/readyz`)).status === 200, 20_000, 'readiness after the outage');
    await sleep(1500);
    done = true;
    const result = await load;

    expect(readyDuring.status).toBe(503);
    expect(during.status).toBe(503);
    expect(duringMs).toBeLessThan(5_000); // bounded by the connect timeout, not hanging
    expect(result.slowestMs).toBeLessThan(10_000);
    expect(result.statuses.get(503) ?? 0).toBeGreaterThan(0);
    // The worker backs off to the cron tick while the database is down: about one failed claim a
    // second, not a hot loop.
    const claimFailures = outageLog.split('claiming due events failed').length - 1;
    expect(claimFailures).toBeLessThan(15);
    expect(gateway.child.exitCode).toBeNull();

    const lost = await missing(scenario.db.sql!, 'shopify', [...result.acknowledged].map(shopifyWebhookId));
    const unresendable = await resendUntilAcknowledged(baseUrl, [...result.failed, 'during-outage']);
    await waitFor(
      async () => (await tally(scenario.db.sql!, 'shopify')).stuck === 0,
      60_000,
      'processing to resume',
    ).catch(() => {});
    const counts = await tally(scenario.db.sql!, 'shopify');
    recordSummary({
      scenario: 'PostgreSQL connection cut for 3.5 s under load',
      faults: 1,
      sent: result.sent + 1,
      acknowledged: result.acknowledged.size,
      stored: counts.stored,
      lost: lost.length,
      duplicates: counts.duplicates,
      stuck: counts.stuck,
    });
    expect(lost).toEqual([]);
    expect(unresendable).toEqual([]);
    expect(counts).toMatchObject({ duplicates: 0, stuck: 0 });
    expect(counts.completed).toBe(counts.stored);
    expect(secretsInOutput(Object.values(RELIABILITY_SECRETS))).toEqual([]);
  });
});
