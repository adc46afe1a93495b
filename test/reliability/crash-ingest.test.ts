import { describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/gateway';
import {
  RELIABILITY_SECRETS,
  missing,
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

describe('kill -9 of the gateway during ingest', () => {
  const scenario = useScenarioDatabase();

  it('every acknowledged request is stored exactly once; every failed one can be resent and is stored once', async () => {
    const env = {
      DATABASE_URL: scenario.testDb.url!,
      SHOPIFY_WEBHOOK_SECRET: RELIABILITY_SECRETS.shopify,
      OPS_API_TOKEN: RELIABILITY_SECRETS.ops,
    };
    let gateway = await scenario.start(env);
    const port = gateway.port;
    const baseUrl = gateway.url;
    let done = false;
    const load = runLoad({
      concurrency: 16,
      maxRequests: 20_000,
      keyPrefix: 'ingest',
      until: () => done,
      timeoutMs: 5_000,
      request: (key) => shopifyDelivery(baseUrl, key),
    });

    // Three SIGKILLs at random moments under load, each followed by a restart on the same port.
    let kills = 0;
    for (let i = 0; i < 3; i++) {
      await sleep(800 + Math.random() * 1200);
      gateway.child.kill('SIGKILL');
      await gateway.exited;
      kills += 1;
      gateway = await scenario.start(env, { port });
    }
    await sleep(1000);
    done = true;
    const result = await load;
    expect(kills).toBe(3);
    expect(result.failed.size).toBeGreaterThan(0); // the kills really cut requests off
    expect(result.acknowledged.size).toBeGreaterThan(100);

    const lostAfterCrashes = await missing(scenario.db.sql!, 'shopify', [...result.acknowledged].map(shopifyWebhookId));
    const unresendable = await resendUntilAcknowledged(baseUrl, result.failed);
    // The last killed process's claims come back after its lease (60 s) and the next look for
    // expired leases (every 5 s).
    await waitFor(
      async () => (await tally(scenario.db.sql!, 'shopify')).stuck === 0,
      90_000,
      'processing to finish',
    ).catch(() => {});
    const counts = await tally(scenario.db.sql!, 'shopify');
    recordSummary({
      scenario: 'kill -9 gateway under ingest load',
      faults: kills,
      sent: result.sent,
      acknowledged: result.acknowledged.size,
      stored: counts.stored,
      lost: lostAfterCrashes.length,
      duplicates: counts.duplicates,
      stuck: counts.stuck,
    });
    expect(lostAfterCrashes).toEqual([]);
    expect(unresendable).toEqual([]);
    // Everything sent is now stored, once: acknowledged ones plus the resent failures.
    expect(counts.stored).toBe(new Set([...result.acknowledged, ...result.failed]).size);
    expect(counts.duplicates).toBe(0);
    expect(counts.stuck).toBe(0);
    expect(secretsInOutput(Object.values(RELIABILITY_SECRETS))).toEqual([]);
    // Four gateway starts, a resend pass and a drain: on a loaded 2-core machine that can pass 120 s.
  }, 270_000);
});
