import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSourcesDocument } from '../src/config/file';
import { createRetention } from '../src/store/retention';
import { databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { post, shopifyHeaders } from './helpers/signers';

type JsonResponse = Omit<Response, 'json'> & { json(): Promise<any> };

describe.each(databaseKinds())('ops API: search, bulk replay, stats, masking, metrics on %s', (kind) => {
  let gw: TestGateway;
  const ops = (path: string, init: RequestInit = {}) =>
    fetch(`${gw.url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${SECRETS.ops}`, 'content-type': 'application/json', ...init.headers },
    }) as Promise<JsonResponse>;
  const ids: Record<string, number> = {};

  beforeAll(async () => {
    const sources = parseSourcesDocument(
      {
        sources: [
          {
            name: 'shopify',
            provider: 'shopify',
            secrets: [SECRETS.shopify],
            mask: ['customer.email', 'line_items.*.price'],
          },
        ],
      },
      {},
    );
    gw = await startTestGateway(kind, { sources, worker: { cron: '0 0 1 1 *' } });
    gw.gateway.on('shopify', 'orders/fail', () => {
      throw new Error('nope');
    });
    const send = async (key: string, topic: string, payload: object) => {
      const body = JSON.stringify(payload);
      const res = await post(
        `${gw.url}/api/webhooks/shopify/${topic}`,
        body,
        shopifyHeaders(SECRETS.shopify, body, key, 'acme.myshopify.com', topic),
      );
      ids[key] = res.json.id;
    };
    await send('a', 'orders/create', {
      id: 1,
      note: 'needle in a haystack',
      customer: { email: 'jane@example.com' },
      line_items: [
        { sku: 'A', price: '9.99' },
        { sku: 'B', price: '1.00' },
      ],
    });
    await send('b', 'orders/create', { id: 2, note: 'plain' });
    await send('c', 'orders/fail', { id: 3 });
    await send('d', 'orders/fail', { id: 4 });
    // A rejected request, for the metrics.
    await post(`${gw.url}/api/webhooks/shopify/orders/create`, '{}', shopifyHeaders('wrong', '{}', 'x'));
    await waitFor(
      async () => {
        await gw.gateway.worker.tick();
        return (await gw.query(`select 1 from webhook_events where status in ('completed', 'failed')`)).length === 4;
      },
      20_000,
      'processing',
    );
  });
  afterAll(() => gw?.stop());

  it('finds events by webhook id and time range; a source with masked fields is not searched by payload text', async () => {
    // Searching raw bytes would reveal masked values (test/security-validation.test.ts).
    const byText = await (await ops('/api/events?q=needle%20in')).json();
    expect(byText.events).toEqual([]);
    const byWebhookId = await (
      await ops(`/api/events?webhook_id=${encodeURIComponent('acme.myshopify.com/b')}`)
    ).json();
    expect(byWebhookId.events.map((e: { id: number }) => e.id)).toEqual([ids.b]);
    const future = new Date(Date.now() + 60_000).toISOString();
    expect((await (await ops(`/api/events?since=${future}`)).json()).events).toEqual([]);
    expect((await (await ops(`/api/events?until=${future}`)).json()).events).toHaveLength(4);
    const bad = await ops('/api/events?since=yesterday');
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.message).toContain('since: must be an ISO 8601 time');
  });

  it('masks configured fields in the payload and the shown body, and never shows signatures', async () => {
    const detail = await (await ops(`/api/events/${ids.a}`)).json();
    expect(detail.payload.customer.email).toBe('[masked]');
    expect(detail.payload.line_items).toEqual([
      { sku: 'A', price: '[masked]' },
      { sku: 'B', price: '[masked]' },
    ]);
    expect(detail.body.masked).toBe(true);
    expect(detail.body.data).not.toContain('jane@example.com');
    expect(JSON.stringify(detail)).not.toContain('jane@example.com');
    expect(Object.keys(detail.headers)).not.toContain('x-shopify-hmac-sha256');
    // The stored bytes are untouched: masking is a view, not a rewrite.
    const [row] = await gw.query<{ body: Uint8Array }>('select body from webhook_events where id = $1', [ids.a]);
    expect(Buffer.from(row!.body).toString()).toContain('jane@example.com');
  });

  it('bulk replay counts first (dry run) and replays only when asked', async () => {
    const dry = await (
      await ops('/api/events/replay', { method: 'POST', body: JSON.stringify({ filter: { status: 'failed' } }) })
    ).json();
    expect(dry).toEqual({ dry_run: true, matched: 2, replayed: 0 });
    expect(await gw.query(`select 1 from webhook_events where status = 'failed'`)).toHaveLength(2);
    const run = await (
      await ops('/api/events/replay', {
        method: 'POST',
        body: JSON.stringify({ filter: { status: 'failed' }, dry_run: false }),
      })
    ).json();
    expect(run).toEqual({ dry_run: false, matched: 2, replayed: 2 });
    const rows = await gw.query<{ status: string; max_attempts: number }>(
      `select status, max_attempts from webhook_events where id in ($1, $2)`,
      [ids.c, ids.d],
    );
    expect(rows.every((r) => r.status !== 'failed' && r.max_attempts === 16)).toBe(true);
    const invalid = await ops('/api/events/replay', {
      method: 'POST',
      body: JSON.stringify({ filter: { status: 'dead' } }),
    });
    expect(invalid.status).toBe(400);
    await waitFor(
      async () => {
        await gw.gateway.worker.tick();
        return (await gw.query(`select 1 from webhook_events where status = 'failed'`)).length === 2;
      },
      20_000,
      'replayed events to fail again',
    );
  });

  it('reports counts, success rate, latency percentiles, retries and queue depth', async () => {
    const stats = await (await ops('/api/stats')).json();
    expect(stats.by_status).toMatchObject({ completed: 2, failed: 2 });
    expect(stats.by_source.shopify).toEqual({ completed: 2, failed: 2 });
    expect(stats.success_rate).toBe(0.5);
    expect(stats.latency_ms.p50).toBeGreaterThanOrEqual(0);
    expect(stats.latency_ms.p99).toBeGreaterThanOrEqual(stats.latency_ms.p50);
    expect(stats.retries).toEqual({ events_retried: 2, extra_attempts: 30 });
    expect(stats.queue).toEqual({
      due: 0,
      scheduled_retries: 0,
      waiting_in_order: 0,
      processing: 0,
      oldest_due_age_seconds: null,
    });
    expect((await ops('/api/stats?since=not-a-date')).status).toBe(400);
  });

  it('serves Prometheus metrics (behind the ops token) with ingest and processing counters', async () => {
    expect((await fetch(`${gw.url}/metrics`)).status).toBe(401);
    const text = await (await ops('/metrics')).text();
    expect(text).toContain('webhook_gateway_requests_total{source="shopify",outcome="accepted",reason="ok"} 4');
    expect(text).toContain(
      'webhook_gateway_requests_total{source="shopify",outcome="rejected",reason="invalid_signature"} 1',
    );
    expect(text).toMatch(/webhook_gateway_processing_attempts_total\{source="shopify",outcome="completed"\} 2/);
    expect(text).toMatch(/webhook_gateway_retries_scheduled_total\{source="shopify"\} \d+/);
    expect(text).toContain('webhook_gateway_queue_depth 0');
    expect(text).toContain('webhook_gateway_ingest_duration_seconds_bucket');
  });

  it('describes the API in an OpenAPI document with an offline reference page', async () => {
    const doc = (await (await fetch(`${gw.url}/api/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, unknown>;
    };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/api/events',
        '/api/events/{id}',
        '/api/events/{id}/replay',
        '/api/events/replay',
        '/api/stats',
        '/api/stats/series',
      ]),
    );
    const page = await fetch(`${gw.url}/api/docs`);
    expect(await page.text()).toContain('/api/docs/assets/start.js');
    expect(await (await fetch(`${gw.url}/api/docs/assets/start.js`)).text()).toContain('/api/openapi.json');
    const asset = await fetch(`${gw.url}/api/docs/assets/swagger-ui-bundle.js`);
    expect(asset.status).toBe(200);
    expect((await fetch(`${gw.url}/api/docs/assets/..%2Fpackage.json`)).status).toBe(404);
  });

  it('/readyz is ready with the database up and every migration applied', async () => {
    const res = await fetch(`${gw.url}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ready', checks: { database: 'ok', migrations: 'ok' } });
  });

  it('retention deletes old finished events in batches, never due or processing ones', async () => {
    // Received and processed 40 days ago, its attempts too (an event is processed after it was
    // received, and after its attempts started: the purge relies on both).
    await gw.query(
      `update webhook_events set received_at = now() - interval '40 days', processed_at = now() - interval '40 days' where id = $1`,
      [ids.b],
    );
    await gw.query(`update processing_log set started_at = now() - interval '40 days' where event_id = $1`, [ids.b]);
    const old = `insert into webhook_events (source, webhook_id, topic, body, status, next_attempt_at, received_at, processed_at)
                 values ('old', $1, 't', '\\x7b7d', $2, now() - interval '50 days', now() - interval '120 days', $3)`;
    await gw.query(old, ['due-old', 'received', null]);
    await gw.query(old, ['processing-old', 'processing', null]);
    await gw.query(old, ['failed-60', 'failed', new Date(Date.now() - 60 * 86400_000).toISOString()]);
    await gw.query(old, ['failed-100', 'failed', new Date(Date.now() - 100 * 86400_000).toISOString()]);
    const purged = await createRetention(gw.gateway.database).purge({
      completedDays: 30,
      failedDays: 90,
      batchSize: 1,
    });
    expect(purged).toEqual({ completed: 1, failed: 1 });
    const left = await gw.query<{ webhook_id: string }>(
      `select webhook_id from webhook_events where source = 'old' order by webhook_id`,
    );
    expect(left.map((r) => r.webhook_id)).toEqual(['due-old', 'failed-60', 'processing-old']);
    expect(await gw.query('select 1 from webhook_events where id = $1', [ids.b])).toHaveLength(0);
    expect(await gw.query('select 1 from processing_log where event_id = $1', [ids.b])).toHaveLength(0);
  });

  it('retention also forgets nonces too old to verify and old finished poll runs', async () => {
    await gw.query(
      `insert into seen_nonces (source, nonce, seen_at) values ('x', 'old', now() - interval '3 days'), ('x', 'fresh', now())`,
    );
    const purged = await createRetention(gw.gateway.database).purgeBookkeeping({
      completedDays: 30,
      expiringNonceSources: ['x'],
    });
    expect(purged.nonces).toBe(1);
    expect((await gw.query<{ nonce: string }>('select nonce from seen_nonces')).map((r) => r.nonce)).toEqual(['fresh']);
  });
});

describe('readiness without a database', () => {
  // Opens a fresh in-memory PGlite inside the test (initdb: ~5 s of CPU, 30 s and more seen on a
  // loaded 2-core machine), so it gets 90 s rather than the default 30 s.
  it('/readyz answers 503 when the database is gone', async () => {
    const gw = await startTestGateway('pglite', {}, { role: 'web' });
    await gw.gateway.database.close();
    const res = await fetch(`${gw.url}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({
      status: 'unavailable',
      checks: { database: 'unreachable', migrations: 'unknown' },
    });
    await gw.gateway.stop();
  }, 90_000);
});
