// An operator's event search that no index serves (a payload search over every day kept) is stopped
// by DB_SEARCH_TIMEOUT_MS and answered 503 search_timeout, and the connection it held is free again:
// ingest goes on. PostgreSQL only (PGlite, single-threaded in this process, has no statement timer).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, type TestGateway } from './helpers/gateway';
import { post, shopifyHeaders } from './helpers/signers';

describe.each(databaseKinds().filter((k) => k === 'postgres'))('search timeout on %s', (kind) => {
  let gw: TestGateway;
  const ops = (path: string) => fetch(`${gw.url}${path}`, { headers: { authorization: `Bearer ${SECRETS.ops}` } });

  beforeAll(async () => {
    gw = await startTestGateway(kind, { database: { searchTimeoutMs: 50 }, worker: { cron: '0 0 1 1 *' } });
    // 60,000 stored events of 2 KB: reading them all for a text they do not hold takes longer than 50 ms.
    await gw.query(`
      with keyed as (
        insert into event_keys (source, webhook_id, event_id, content_hash, received_at)
        select 'shopify', 'bulk-' || n, nextval('webhook_events_id_seq'), '\\x00', now() from generate_series(1, 60000) n
        returning event_id, webhook_id, received_at)
      insert into webhook_events (id, source, webhook_id, topic, body, received_at, status)
      overriding system value
      select event_id, 'shopify', webhook_id, 'orders/create', convert_to(repeat('x', 2000), 'UTF8'), received_at, 'completed' from keyed`);
  }, 120_000);
  afterAll(() => gw?.stop());

  it('stops a search that reads every event, answers 503 search_timeout, and ingest goes on', async () => {
    const slow = await ops('/api/events?q=not-in-any-body');
    expect(slow.status).toBe(503);
    const body = (await slow.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('search_timeout');
    expect(body.error.message).toContain('since/until');
    // The same for the bulk replay's dry run (its count goes through the same search).
    const count = await fetch(`${gw.url}/api/events/replay`, {
      method: 'POST',
      headers: { authorization: `Bearer ${SECRETS.ops}`, 'content-type': 'application/json' },
      body: JSON.stringify({ filter: { q: 'not-in-any-body' }, dry_run: true }),
    });
    expect(count.status).toBe(503);
    expect(((await count.json()) as { error: { code: string } }).error.code).toBe('search_timeout');
    // A search an index serves still answers, and so does ingest.
    const byId = await ops('/api/events?webhook_id=bulk-7');
    expect(byId.status).toBe(200);
    expect(((await byId.json()) as { events: unknown[] }).events).toHaveLength(1);
    const sent = await post(
      `${gw.url}/api/webhooks/shopify/orders/create`,
      '{"id":1}',
      shopifyHeaders(SECRETS.shopify, '{"id":1}', 'after-timeout'),
    );
    expect(sent.status).toBe(200);
    expect(gw.logs.join('')).toContain('search stopped by DB_SEARCH_TIMEOUT_MS');
  });
});
