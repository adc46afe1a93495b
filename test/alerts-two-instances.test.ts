import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../src/db/client';
import { createTestDatabase, postgresUrl, type TestDatabase } from './helpers/database';
import { waitFor } from './helpers/gateway';
import { spawnHealthyGateway, stopGateways, type GatewayProcess } from './helpers/process';
import { post, shopifyHeaders } from './helpers/signers';

// Two real gateway processes on one PostgreSQL database, both running the alert evaluator with the
// same rule (from the same config file). The evaluator's claim row (alert_evaluator_lease) lets one
// of them act at a time: a local HTTP receiver gets exactly one notice when the condition starts
// and exactly one when it clears, however many evaluations both instances run.

const ALERT_SECRET = `whsec_${Buffer.from('two-instance-alert-signing-key-01').toString('base64')}`;
const SHOPIFY_SECRET = 'env-shopify-secret-0123456789';
/**
 * Longer than an evaluation interval: without the claim row, the other instance would find the
 * notice still unsent while the first is waiting for this answer, and send it again.
 */
const ANSWER_DELAY_MS = 2_500;

/** A local HTTP receiver that keeps every notice and answers 200 slowly. */
async function startSlowReceiver() {
  const deliveries: { bytes: Buffer; headers: Record<string, string> }[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      deliveries.push({ bytes: Buffer.concat(chunks), headers: request.headers as Record<string, string> });
      setTimeout(() => response.writeHead(200).end(), ANSWER_DELAY_MS);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/alerts`,
    deliveries,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe.skipIf(!postgresUrl())('one alert from two gateway processes on one PostgreSQL', () => {
  let testDb: TestDatabase;
  let db: Database;
  let receiver: Awaited<ReturnType<typeof startSlowReceiver>>;
  let dir: string;
  const procs: GatewayProcess[] = [];
  const bases: string[] = [];

  const lease = async () =>
    (await db.rows<{ holder: string; expires_at: Date }>(sql`select holder, expires_at from alert_evaluator_lease`))[0];
  /** Resolves after the lease was renewed twice: at least one whole evaluation ran after the call. */
  const twoEvaluations = async () => {
    let after = (await lease())!.expires_at;
    for (const _ of [0, 1]) {
      after = (await waitFor<Date | false>(
        async () => {
          const now = await lease();
          return now !== undefined && now.expires_at > after && now.expires_at;
        },
        30_000,
        'another evaluation',
      )) as Date;
    }
  };
  const notices = () =>
    receiver.deliveries.map((d) => new Webhook(ALERT_SECRET).verify(d.bytes.toString('utf8'), d.headers) as any);
  const badSignature = async (base: string, i: number) => {
    const body = JSON.stringify({ id: i });
    const headers = shopifyHeaders('a-secret-rotated-on-one-side-only', body, `two-alert-${i}`);
    expect((await post(`${base}/api/webhooks/shopify/orders/create`, body, headers)).status).toBe(401);
  };

  beforeAll(async () => {
    receiver = await startSlowReceiver();
    testDb = await createTestDatabase('postgres');
    db = await testDb.open({ poolSize: 1 });
    dir = mkdtempSync(join(tmpdir(), 'gw-alerts-two-'));
    const config = join(dir, 'gateway.json');
    writeFileSync(
      config,
      JSON.stringify({
        alerts: {
          evaluate_every_seconds: 1,
          channels: [{ name: 'ops-hook', type: 'webhook', url: receiver.url, secret: ALERT_SECRET }],
          rules: [
            {
              name: 'shopify-signatures',
              kind: 'signature_failures',
              // The shortest window: the condition clears by itself a minute after the failures.
              params: { source: 'shopify', count: 4, minutes: 1 },
              channels: ['ops-hook'],
            },
          ],
        },
      }),
    );
    const env = {
      DATABASE_URL: testDb.url!,
      GATEWAY_CONFIG: config,
      OPS_API_TOKEN: 'ops-token-two-alerts',
      SHOPIFY_WEBHOOK_SECRET: SHOPIFY_SECRET,
      GATEWAY_MASTER_KEY: randomBytes(32).toString('base64'),
      LOG_LEVEL: 'info',
    };
    // One after the other: the first applies the migrations, the second finds them done.
    for (const _ of [0, 1]) {
      bases.push(await spawnHealthyGateway(procs, [], env, 90_000));
    }
  }, 200_000);

  afterAll(async () => {
    await stopGateways(procs);
    await receiver?.close();
    await testDb?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('both run the evaluator; the claim row names one of them', async () => {
    const held = await waitFor(lease, 30_000, 'the evaluator lease');
    const pids = procs.map((p) => String(p.child.pid));
    expect(pids).toContain(held!.holder.split(':')[1]);
    for (const base of bases) expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  it('failures sent to both instances open one alert: exactly one notice reaches the receiver', async () => {
    // Half through each instance: both record rejections, the condition sums them.
    for (let i = 0; i < 6; i++) await badSignature(bases[i % 2]!, i);
    await waitFor(() => receiver.deliveries.length >= 1, 30_000, 'the alert notice');
    await twoEvaluations();
    // More failures while it is open change nothing either.
    for (let i = 6; i < 10; i++) await badSignature(bases[i % 2]!, i);
    await twoEvaluations();
    expect(notices().map((n) => [n.type, n.data.condition])).toEqual([['alert.opened', 'shopify']]);
    const alerts = await db.rows<{ status: string }>(sql`select status from alerts`);
    expect(alerts).toEqual([{ status: 'open' }]);
  }, 120_000);

  it('when the failures leave the one-minute window, exactly one resolve notice follows', async () => {
    await waitFor(() => receiver.deliveries.length >= 2, 150_000, 'the resolve notice');
    await twoEvaluations();
    const [opened, resolved, ...more] = notices();
    expect(more).toEqual([]);
    expect(resolved).toMatchObject({ type: 'alert.resolved', data: { condition: 'shopify', status: 'resolved' } });
    expect(resolved.data.alert_id).toBe(opened.data.alert_id);
    expect(await db.rows(sql`select status from alerts`)).toEqual([{ status: 'resolved' }]);
  }, 200_000);
});
