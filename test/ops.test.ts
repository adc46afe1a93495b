import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { post, shopifyHeaders } from './helpers/signers';

describe.each(databaseKinds())('ops API on %s', (kind) => {
  let gw: TestGateway;
  const ids: number[] = [];
  type JsonResponse = Omit<Response, 'json'> & { json(): Promise<any> };
  const ops = (path: string, init: RequestInit = {}, token = SECRETS.ops) =>
    fetch(`${gw.url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${token}`, ...init.headers },
    }) as Promise<JsonResponse>;

  beforeAll(async () => {
    gw = await startTestGateway(kind, { worker: { cron: '0 0 1 1 *' }, opsTokens: [SECRETS.ops, 'second-token'] });
    gw.gateway.on('shopify', 'orders/fail', () => {
      throw new Error('always fails');
    });
    for (let i = 0; i < 7; i++) {
      const topic = i % 2 === 0 ? 'orders/create' : 'orders/fail';
      const body = JSON.stringify({ n: i, card: { number: '4242' } });
      const res = await post(
        `${gw.url}/api/webhooks/shopify/${topic}`,
        body,
        shopifyHeaders(SECRETS.shopify, body, `ops-${i}`, 'acme.myshopify.com', topic),
      );
      ids.push(res.json.id);
    }
    await waitFor(
      async () => {
        await gw.gateway.worker.tick();
        const rows = await gw.query(`select 1 from webhook_events where status in ('completed','failed')`);
        return rows.length === 7;
      },
      20_000,
      'all processed',
    );
  });
  afterAll(() => gw?.stop());

  it('refuses requests without a token, with a wrong token, and with a non-bearer scheme', async () => {
    const none = await fetch(`${gw.url}/api/events`);
    expect(none.status).toBe(401);
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe('missing_token');
    const wrong = await ops('/api/events', {}, 'nope');
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual({
      error: { code: 'invalid_token', message: 'The ops API token is not accepted' },
    });
    const basic = await fetch(`${gw.url}/api/events/1`, { headers: { authorization: `Basic ${SECRETS.ops}` } });
    expect(basic.status).toBe(401);
    const replay = await fetch(`${gw.url}/api/events/${ids[0]}/replay`, { method: 'POST' });
    expect(replay.status).toBe(401);
  });

  it('accepts any configured token (rotation)', async () => {
    expect((await ops('/api/events', {}, 'second-token')).status).toBe(200);
  });

  it('lists newest first and filters by source, status and topic', async () => {
    const all = await (await ops('/api/events')).json();
    expect(all.events.map((e: { id: number }) => e.id)).toEqual([...ids].reverse());
    expect(all.events[0]).not.toHaveProperty('body');
    const failed = await (await ops('/api/events?status=failed')).json();
    expect(failed.events.map((e: { id: number }) => e.id)).toEqual([ids[5], ids[3], ids[1]]);
    const created = await (await ops('/api/events?source=shopify&topic=orders/create&status=completed')).json();
    expect(created.events).toHaveLength(4);
    expect((await (await ops('/api/events?source=easypost')).json()).events).toEqual([]);
  });

  it('pages with a stable cursor until next_cursor is null', async () => {
    const seen: number[] = [];
    let cursor: string | null = '';
    let pages = 0;
    while (cursor !== null) {
      const page: { events: { id: number }[]; next_cursor: string | null } = await (
        await ops(`/api/events?limit=3${cursor ? `&cursor=${cursor}` : ''}`)
      ).json();
      seen.push(...page.events.map((e) => e.id));
      cursor = page.next_cursor;
      pages += 1;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual([...ids].reverse());
  });

  it('rejects bad filters with 400 and says what was wrong', async () => {
    const status = await ops('/api/events?status=done');
    expect(status.status).toBe(400);
    expect((await status.json()).error.message).toContain('status');
    const cursor = await ops('/api/events?cursor=abc');
    expect((await cursor.json()).error.message).toBe('cursor: cursor must be the next_cursor value of a previous page');
    expect((await ops('/api/events?limit=0')).status).toBe(400);
    expect((await ops('/api/events/not-a-number')).status).toBe(400);
  });

  it('shows one event with headers, payload and attempt log; no signature header is kept', async () => {
    const res = await ops(`/api/events/${ids[1]}`);
    const event = await res.json();
    expect(event).toMatchObject({
      id: ids[1],
      status: 'failed',
      attempts: 8,
      topic: 'orders/fail',
      payload: { n: 1, card: { number: '4242' } },
    });
    expect(event.headers['x-shopify-webhook-id']).toBe('ops-1');
    expect(event.headers).not.toHaveProperty('x-shopify-hmac-sha256');
    expect(JSON.stringify(event)).not.toContain(SECRETS.shopify);
    expect(event.attempt_log).toHaveLength(8);
    expect(event.attempt_log[7]).toMatchObject({
      attempt: 8,
      outcome: 'failed',
      error: 'always fails',
      worker: gw.gateway.worker.id,
    });
    expect((await ops('/api/events/999999')).status).toBe(404);
  });

  it('replays a failed event with a fresh set of attempts and keeps its history', async () => {
    const res = await ops(`/api/events/${ids[3]}/replay`, { method: 'POST' });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: ids[3], status: 'received', attempts: 8, max_attempts: 16 });
    // Still failing: it runs 8 more attempts and fails again, with all 16 in its log.
    await waitFor(
      async () => {
        await gw.gateway.worker.tick();
        return (
          (await gw.query(`select 1 from webhook_events where id = $1 and status = 'failed'`, [ids[3]])).length === 1
        );
      },
      20_000,
      'replayed event to fail again',
    );
    const detail = await (await ops(`/api/events/${ids[3]}`)).json();
    expect(detail.attempt_log.map((a: { attempt: number }) => a.attempt)).toEqual(
      Array.from({ length: 16 }, (_, i) => i + 1),
    );
  });

  it('replays a completed event back to due and processes it again', async () => {
    const res = await ops(`/api/events/${ids[0]}/replay`, { method: 'POST' });
    expect(res.status).toBe(200);
    await waitFor(
      async () =>
        (
          await gw.query(`select 1 from webhook_events where id = $1 and status = 'completed' and attempts = 2`, [
            ids[0],
          ])
        ).length === 1,
    );
    expect((await ops('/api/events/424242/replay', { method: 'POST' })).status).toBe(404);
  });

  it('shows a running attempt (from its claim) while the handler runs, then the finished row in its place', async () => {
    let release!: () => void;
    const blocked = new Promise<void>((resolve) => (release = resolve));
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    gw.gateway.on('shopify', 'orders/slow', async () => {
      started();
      await blocked;
    });
    const body = JSON.stringify({ n: 'slow' });
    const res = await post(
      `${gw.url}/api/webhooks/shopify/orders/slow`,
      body,
      shopifyHeaders(SECRETS.shopify, body, 'ops-slow', 'acme.myshopify.com', 'orders/slow'),
    );
    const id: number = res.json.id;
    let during: any;
    try {
      await gw.gateway.worker.tick();
      await running;
      during = await (await ops(`/api/events/${id}`)).json();
    } finally {
      release();
    }
    expect(during.status).toBe('processing');
    expect(during.attempt_log).toEqual([
      expect.objectContaining({
        attempt: 1,
        worker: gw.gateway.worker.id,
        outcome: 'running',
        finished_at: null,
        duration_ms: null,
      }),
    ]);
    await waitFor(
      async () => (await (await ops(`/api/events/${id}`)).json()).status === 'completed',
      10_000,
      'the slow event to complete',
    );
    const after = await (await ops(`/api/events/${id}`)).json();
    expect(after.attempt_log).toEqual([
      expect.objectContaining({
        attempt: 1,
        worker: gw.gateway.worker.id,
        outcome: 'completed',
        started_at: during.attempt_log[0].started_at,
      }),
    ]);
  });
});
