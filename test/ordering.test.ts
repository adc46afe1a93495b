import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKeyring } from '../src/control/crypto';
import { PermanentError } from '../src/worker/handlers';
import { databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { post, shopifyHeaders } from './helpers/signers';

// Per-key ordering through the real gateway (docs/ordering.md) on each database kind: sources
// created through the API, events signed and sent over HTTP, a handler that records what ran.
// Several worker processes on PostgreSQL: test/reliability/ordering-processes.test.ts.
const auth = { authorization: `Bearer ${SECRETS.ops}`, 'content-type': 'application/json' };

describe.each(databaseKinds())('per-key ordering (%s)', (kind) => {
  let gw: TestGateway;
  const secrets = new Map<string, string>();
  /** Every handler run: event id, key (from the body) and whether it was still running. */
  const runs: { id: number; key: string }[] = [];
  /** Handler behaviour per key: fail the first attempt (retry) or for good. */
  const failing = new Map<string, 'retry-once' | 'permanent' | 'retry-forever'>();
  const running = new Set<string>();
  let overlaps = 0;

  const api = async (path: string, init: { method?: string; body?: unknown } = {}) => {
    const response = await fetch(`${gw.url}${path}`, {
      method: init.method ?? 'GET',
      headers: auth,
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    return { status: response.status, json: (await response.json()) as any };
  };
  let n = 0;
  /** Sends one signed event; resolves with its id once acknowledged (so keys are sent in order). */
  const send = async (source: string, body: string) => {
    const answer = await post(
      `${gw.url}/api/webhooks/${source}`,
      body,
      shopifyHeaders(secrets.get(source)!, body, `e-${++n}`),
    );
    expect(answer.status).toBe(200);
    return (answer.json as { id: number }).id;
  };
  const event = async (id: number) => (await api(`/api/events/${id}`)).json;

  beforeAll(async () => {
    gw = await startTestGateway(kind, {
      control: { keyring: loadKeyring({ key: randomBytes(32).toString('base64') }), refreshMs: 5000 },
    });
    const handler = async (e: { id: number; rawText: string | undefined; attempt: number }) => {
      const key = /"order_id":\s*"?([^",}]*)/.exec(e.rawText ?? '')?.[1] ?? '';
      if (running.has(key)) overlaps++;
      running.add(key);
      try {
        await new Promise((r) => setTimeout(r, 5));
        runs.push({ id: e.id, key });
        const mode = failing.get(key);
        if (mode === 'permanent' || e.rawText?.includes('"fail":"permanent"'))
          throw new PermanentError('refused for good');
        if (mode === 'retry-forever' || (mode === 'retry-once' && e.attempt === 1)) throw new Error('not yet');
      } finally {
        running.delete(key);
      }
    };
    for (const [name, ordering] of [
      ['orders', { key: { jsonPath: '$.order_id' } }],
      ['strict', { key: { jsonPath: '$.order_id' }, onFailure: 'block' }],
    ] as const) {
      const created = await api('/api/sources', { method: 'POST', body: { name, provider: 'shopify', ordering } });
      expect(created.status).toBe(201);
      secrets.set(name, created.json.secret);
      gw.gateway.on(name, '*', handler);
    }
  }, 120_000);
  afterAll(async () => {
    await gw?.stop();
  });

  it('refuses an unusable ordering at save time, saying what is wrong', async () => {
    const bad = await api('/api/sources', {
      method: 'POST',
      body: { name: 'bad1', provider: 'shopify', ordering: { key: { jsonPath: 'order_id' } } },
    });
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toMatch(/ordering\.key.*must start with \$/);
    const both = await api('/api/sources', {
      method: 'POST',
      body: { name: 'bad2', provider: 'shopify', ordering: { key: { header: 'x a' } } },
    });
    expect(both.status).toBe(400);
    expect(both.json.error.message).toMatch(/ordering/);
    const mode = await api('/api/sources', {
      method: 'POST',
      body: { name: 'bad3', provider: 'shopify', ordering: { key: { header: 'x-k' }, onFailure: 'skip' } },
    });
    expect(mode.status).toBe(400);
    expect(mode.json.error.message).toMatch(/ordering\.onFailure/);
  });

  it('shows the ordering of a source, and changes it with PATCH', async () => {
    const source = await api('/api/sources/orders');
    expect(source.json.ordering).toEqual({
      key: { jsonPath: '$.order_id' },
      onFailure: 'continue',
      missingKey: 'own_lane',
    });
    await api('/api/sources', {
      method: 'POST',
      body: { name: 'tmp', provider: 'shopify', ordering: { key: { header: 'X-Key' } } },
    });
    const bad = await api('/api/sources/tmp', {
      method: 'PATCH',
      body: { ordering: { key: { header: 'x-key' }, missingKey: 'lane' } },
    });
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toMatch(/ordering\.missingKey/);
    const patched = await api('/api/sources/tmp', {
      method: 'PATCH',
      body: { ordering: { key: { header: 'x-key' }, onFailure: 'block' } },
    });
    expect(patched.status).toBe(200);
    expect(patched.json.ordering).toEqual({ key: { header: 'x-key' }, onFailure: 'block', missingKey: 'own_lane' });
    expect((await api('/api/sources/tmp', { method: 'PATCH', body: { ordering: null } })).json.ordering).toBeNull();
  });

  it('runs each key in receive order, one at a time, keeping ids beyond 2^53 exact', async () => {
    const big = '12345678901234567890123';
    const ids: number[] = [];
    for (let i = 0; i < 4; i++) {
      for (const key of ['a', 'b', big]) {
        ids.push(await send('orders', key === big ? `{"order_id":${big},"i":${i}}` : `{"order_id":"${key}","i":${i}}`));
      }
    }
    await waitFor(() => ids.every((id) => runs.some((r) => r.id === id)), 20_000, 'every event handled');
    for (const key of ['a', 'b', big]) {
      const order = runs.filter((r) => r.key === key).map((r) => r.id);
      expect(order).toEqual([...order].sort((x, y) => x - y));
      expect(order).toHaveLength(4);
    }
    expect(overlaps).toBe(0);
    expect((await event(ids[2]!)).orderingKey).toBe(big);
  });

  it('a key holding a NUL (text cannot) is stored with U+FFFD in its place, not refused with its event', async () => {
    // The key is derived, not sent as an identity: refusing it refused the whole delivery with a
    // 400 the sender does not retry, and failed a same-id copy written in the same batch with it.
    const id = await send('orders', '{"order_id":"nul\\u0000key"}');
    expect((await event(id)).orderingKey).toBe('nul\uFFFDkey');
    await waitFor(() => runs.some((r) => r.id === id), 20_000, 'the event handled');
  });

  it('a failing head blocks only its key, visibly, until its retry succeeds', async () => {
    failing.set('slow', 'retry-forever');
    const head = await send('orders', '{"order_id":"slow","i":0}');
    const next = await send('orders', '{"order_id":"slow","i":1}');
    const other = await send('orders', '{"order_id":"fast","i":0}');
    await waitFor(() => runs.some((r) => r.id === other), 10_000, 'the other key');
    await waitFor(async () => (await event(head)).attempts >= 2, 10_000, 'a retry of the head');
    const waiting = await event(next);
    expect(waiting).toMatchObject({ status: 'received', attempts: 0, blockedBy: head, orderingKey: 'slow' });
    expect(
      (await api('/api/events?source=orders&limit=50')).json.events.find((e: { id: number }) => e.id === next)
        .blockedBy,
    ).toBe(head);
    failing.delete('slow');
    await waitFor(async () => (await event(next)).status === 'completed', 20_000, 'the key to move on');
    expect(
      runs
        .filter((r) => r.key === 'slow')
        .map((r) => r.id)
        .at(-1),
    ).toBe(next);
    expect((await event(next)).blockedBy).toBeNull();
  });

  it("onFailure 'continue': a head failed for good lets the rest of its key proceed", async () => {
    const head = await send('orders', '{"order_id":"dead","i":0,"fail":"permanent"}');
    const next = await send('orders', '{"order_id":"dead","i":1}');
    await waitFor(async () => (await event(head)).status === 'failed', 10_000, 'the head to fail');
    await waitFor(async () => (await event(next)).status === 'completed', 10_000, 'the next event');
  });

  it("onFailure 'block': the key waits until an operator skips the head", async () => {
    failing.set('stuck', 'permanent');
    const head = await send('strict', '{"order_id":"stuck","i":0}');
    const next = await send('strict', '{"order_id":"stuck","i":1}');
    const other = await send('strict', '{"order_id":"free","i":0}');
    await waitFor(async () => (await event(head)).status === 'failed', 10_000, 'the head to fail');
    await waitFor(async () => (await event(other)).status === 'completed', 10_000, 'the other key');
    failing.delete('stuck');
    expect(await event(next)).toMatchObject({ status: 'received', attempts: 0, blockedBy: head });
    // The blocked head and the event behind it: neither due nor a scheduled retry.
    expect((await api('/api/stats')).json.queue.waiting_in_order).toBeGreaterThanOrEqual(2);

    const refused = await api(`/api/events/${other}/skip`, { method: 'POST' });
    expect(refused.status).toBe(409);
    expect(refused.json.error.code).toBe('event_not_queued');
    const skipped = await api(`/api/events/${head}/skip`, { method: 'POST' });
    expect(skipped.status).toBe(200);
    expect(skipped.json).toMatchObject({
      id: head,
      status: 'failed',
      last_error: expect.stringMatching(/^skipped by /),
    });
    await waitFor(async () => (await event(next)).status === 'completed', 10_000, 'the key to move on after the skip');
    const audit = await api('/api/audit?limit=5');
    expect(JSON.stringify(audit.json)).toContain('event.skip');
  });

  it('a replayed blocked head runs again in place; a replayed finished event goes to the end of its key', async () => {
    failing.set('again', 'permanent');
    const head = await send('strict', '{"order_id":"again","i":0}');
    const next = await send('strict', '{"order_id":"again","i":1}');
    await waitFor(async () => (await event(head)).status === 'failed', 10_000, 'the head to fail');
    failing.delete('again');
    expect((await api(`/api/events/${head}/replay`, { method: 'POST' })).status).toBe(200);
    await waitFor(async () => (await event(next)).status === 'completed', 10_000, 'the key after the replay');
    const order = runs.filter((r) => r.key === 'again').map((r) => r.id);
    expect(order).toEqual([head, head, next]);
    // Replay of the finished head: it runs after anything still queued for the key.
    expect((await api(`/api/events/${head}/replay`, { method: 'POST' })).status).toBe(200);
    await waitFor(async () => (await event(head)).status === 'completed', 10_000, 'the replayed event');
  });
});
