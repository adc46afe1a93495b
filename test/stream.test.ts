import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, waitFor } from './helpers/gateway';
import { freePort, spawnGateway, waitUntilHealthy } from './helpers/process';
import { post, shopifyHeaders } from './helpers/signers';
import { openEventStream } from './helpers/sse';

describe('live stream', () => {
  it('pushes received and finished events, filtered, to an authenticated viewer', async () => {
    const gw = await startTestGateway('pglite');
    try {
      expect((await fetch(`${gw.url}/api/events/stream`)).status).toBe(401);
      const all = await openEventStream(`${gw.url}/api/events/stream`, SECRETS.ops);
      const onlyEasypost = await openEventStream(`${gw.url}/api/events/stream?source=easypost`, SECRETS.ops);
      expect(all.status).toBe(200);
      expect(all.contentType).toContain('text/event-stream');
      await waitFor(() => all.events.some((e) => e.event === 'ready'));
      const body = '{"n":1}';
      const res = await post(
        `${gw.url}/api/webhooks/shopify/orders/create`,
        body,
        shopifyHeaders(SECRETS.shopify, body, 'live-1'),
      );
      await waitFor(
        () => all.events.some((e) => e.event === 'completed' && e.data.id === res.json.id),
        10_000,
        'completed event',
      );
      // due: false when the insert claimed it for this process's worker (a hand-off).
      expect(all.events.find((e) => e.event === 'received')?.data).toMatchObject({
        id: res.json.id,
        source: 'shopify',
        topic: 'orders/create',
        status: 'received',
        due: expect.any(Boolean),
      });
      expect(onlyEasypost.events.filter((e) => e.event !== 'ready')).toEqual([]);
      await all.close();
      await onlyEasypost.close();
      expect(
        (
          await fetch(`${gw.url}/api/events/stream?status=bogus`, {
            headers: { authorization: `Bearer ${SECRETS.ops}` },
          })
        ).status,
      ).toBe(400);
    } finally {
      await gw.stop();
    }
  });

  describe.runIf(databaseKinds().includes('postgres'))('across processes', () => {
    const cleanup: (() => Promise<unknown>)[] = [];
    afterAll(async () => {
      for (const step of cleanup.reverse()) await step();
    });

    it('a viewer on one instance sees an event another process received', async () => {
      const testDb = await createTestDatabase('postgres');
      cleanup.push(() => testDb.drop());
      const viewerSide = await startTestGateway('postgres', {}, { testDb });
      cleanup.push(() => viewerSide.stop());
      const port = await freePort();
      const receiver = spawnGateway(['start', '--role', 'web'], {
        PORT: String(port),
        DATABASE_URL: testDb.url!,
        SHOPIFY_WEBHOOK_SECRET: SECRETS.shopify,
        LOG_LEVEL: 'warn',
      });
      cleanup.push(async () => {
        receiver.child.kill('SIGTERM');
        await receiver.exited;
      });
      await waitUntilHealthy(`http://127.0.0.1:${port}/healthz`);
      const stream = await openEventStream(`${viewerSide.url}/api/events/stream`, SECRETS.ops);
      cleanup.push(() => stream.close());
      await waitFor(() => stream.events.some((e) => e.event === 'ready'));

      const body = '{"n":2}';
      const res = await post(
        `http://127.0.0.1:${port}/api/webhooks/shopify/orders/create`,
        body,
        shopifyHeaders(SECRETS.shopify, body, 'cross-1'),
      );
      expect(res.json.status).toBe('accepted');
      // Received by the other process, processed by this one's worker (woken by NOTIFY), seen live here.
      await waitFor(
        () => stream.events.some((e) => e.event === 'completed' && e.data.id === res.json.id),
        15_000,
        'cross-process events',
      );
      expect(stream.events.map((e) => e.event)).toEqual(['ready', 'received', 'completed']);
    });
  });
});
