// A rolling restart behind a load balancer: on SIGTERM the process first says it is unready
// (/readyz 503) while it still stores webhooks, for SHUTDOWN_DRAIN_MS, and only then stops
// accepting. Before, the listener closed at the signal: the balancer's first sign was a refused
// connection, and requests it had already routed here failed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/db/client';
import { createTestDatabase, databaseKinds } from './helpers/database';
import { freePort, waitUntilHealthy } from './helpers/process';
import { shopifyHeaders } from './helpers/signers';
import { answers, killAllStarted, startBuilt } from './helpers/started-process';

const SECRET = 'drain-shopify-secret';

/** A signed Shopify delivery (signature computed with node:crypto in the signers helper). */
function deliver(url: string, id: string) {
  const body = JSON.stringify({ id, total_price: '1.00' });
  return fetch(`${url}/api/webhooks/shopify/orders/create`, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', ...shopifyHeaders(SECRET, body, id, 'drain.myshopify.com') },
  });
}

afterEach(() => killAllStarted());

describe.each(databaseKinds())('shutdown drain (%s)', (kind) => {
  it('on SIGTERM /readyz answers 503 while webhooks are still stored, then the port closes', async () => {
    const testDb = await createTestDatabase(kind);
    const dataDir = mkdtempSync(join(tmpdir(), 'gw-drain-'));
    const database: Record<string, string> = testDb.url ? { DATABASE_URL: testDb.url } : { DATA_DIR: dataDir };
    try {
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      const gateway = startBuilt(['start'], {
        ...database,
        PORT: String(port),
        HOST: '127.0.0.1',
        SHOPIFY_WEBHOOK_SECRET: SECRET,
        // Long enough for the requests below on a loaded machine; the test waits for evidence, not for it.
        SHUTDOWN_DRAIN_MS: '8000',
      });
      await waitUntilHealthy(`${url}/healthz`);
      expect((await fetch(`${url}/readyz`)).status).toBe(200);

      process.kill(gateway.pid, 'SIGTERM');
      await gateway.waitForOutput('draining: /readyz answers 503', 30_000);
      const readiness = await fetch(`${url}/readyz`);
      expect(readiness.status).toBe(503);
      expect(await readiness.json()).toEqual({ status: 'unavailable', checks: { shutdown: 'stopping' } });
      // Still accepting: a webhook routed here before the balancer noticed is stored and acknowledged.
      const late = await deliver(url, 'routed-during-drain');
      expect(late.status).toBe(200);
      expect(await late.json()).toMatchObject({ status: 'accepted' });

      expect(await gateway.exited).toEqual({ code: 0, signal: null });
      expect(await answers(`${url}/healthz`)).toBe(false);
      expect(gateway.output()).toContain('"msg":"stopped');
      expect(gateway.output()).not.toMatch(/\n\s+at /);

      const db = await openDatabase(testDb.url ? { url: testDb.url } : { dataDir });
      try {
        const rows = await db.rows<{ webhook_id: string }>(sql`select webhook_id from webhook_events`);
        expect(rows.map((r) => r.webhook_id)).toEqual(['drain.myshopify.com/routed-during-drain']);
      } finally {
        await db.close();
      }
    } finally {
      killAllStarted();
      await testDb.drop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);

  it('a SIGTERM as soon as /healthz answers (start-up still running) stops gracefully, not by the signal', async () => {
    const testDb = await createTestDatabase(kind);
    const dataDir = mkdtempSync(join(tmpdir(), 'gw-drain-'));
    const database: Record<string, string> = testDb.url ? { DATABASE_URL: testDb.url } : { DATA_DIR: dataDir };
    try {
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      const gateway = startBuilt(['start'], { ...database, PORT: String(port), HOST: '127.0.0.1' });
      // The listener opens before start-up ends (alerts, the week of partitions ahead on PostgreSQL).
      await waitUntilHealthy(`${url}/healthz`);
      process.kill(gateway.pid, 'SIGTERM');
      expect(await gateway.exited).toEqual({ code: 0, signal: null });
      expect(gateway.output()).toContain('"msg":"stopped');
    } finally {
      killAllStarted();
      await testDb.drop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
