import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { post, shopifyHeaders } from './helpers/signers';
import { freePort, spawnGateway, waitUntilHealthy } from './helpers/process';

// What a newcomer does: `npm start` with no database server, data under DATA_DIR.
describe('the gateway process', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'gw-data-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('starts on embedded PGlite, stores and completes a signed webhook, survives a restart, and stops on SIGTERM', async () => {
    const port = await freePort();
    const env = {
      PORT: String(port),
      DATA_DIR: dataDir,
      SHOPIFY_WEBHOOK_SECRET: 'proc-secret',
      OPS_API_TOKEN: 'proc-ops',
      LOG_LEVEL: 'info',
    };
    const first = spawnGateway([], env);
    await waitUntilHealthy(`http://127.0.0.1:${port}/healthz`);
    const body = '{"id":77}';
    const res = await post(
      `http://127.0.0.1:${port}/api/webhooks/shopify/orders/paid`,
      body,
      shopifyHeaders('proc-secret', body, 'proc-1', 'acme.myshopify.com', 'orders/paid'),
    );
    expect(res.json, first.output()).toMatchObject({ status: 'accepted' });
    first.child.kill('SIGTERM');
    expect((await first.exited).code).toBe(0);
    expect(first.output()).toContain('"msg":"gateway listening"');
    expect(first.output()).not.toContain('proc-secret');

    // Data persists in DATA_DIR: the event is still there after a restart, and a resend is a duplicate.
    const second = spawnGateway([], env);
    await waitUntilHealthy(`http://127.0.0.1:${port}/healthz`);
    const again = await post(
      `http://127.0.0.1:${port}/api/webhooks/shopify/orders/paid`,
      body,
      shopifyHeaders('proc-secret', body, 'proc-1', 'acme.myshopify.com', 'orders/paid'),
    );
    expect(again.json).toEqual({ status: 'duplicate' });
    const list = await fetch(`http://127.0.0.1:${port}/api/events`, { headers: { authorization: 'Bearer proc-ops' } });
    const { events } = (await list.json()) as { events: Record<string, unknown>[] };
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ topic: 'orders/paid', status: 'completed' });
    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
  }, 180_000); // two cold starts of a real process; slow when the machine is busy

  it('refuses to start on invalid configuration and names the field', async () => {
    const proc = spawnGateway([], { PORT: 'eighty', DATA_DIR: dataDir });
    expect((await proc.exited).code).toBe(2);
    expect(proc.output()).toMatch(/Invalid configuration: PORT: /);
  });

  it('rejects an invalid worker cron expression at start-up', async () => {
    const proc = spawnGateway([], { WORKER_CRON: 'every second', DATA_DIR: dataDir });
    expect((await proc.exited).code).toBe(2);
    expect(proc.output()).toContain('WORKER_CRON: not a valid cron expression');
  });

  it('npm run migrate applies migrations and exits', async () => {
    const proc = spawnGateway(['migrate'], { DATA_DIR: join(dataDir, 'migrate-only') });
    expect((await proc.exited).code).toBe(0);
    expect(proc.output()).toContain('migrations applied');
  }, 90_000); // a cold PGlite initdb plus twelve migrations; slow when the machine is busy
});
