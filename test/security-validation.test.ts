import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSourcesDocument } from '../src/config/file';
import { databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, type TestGateway } from './helpers/gateway';
import { easypostSignature, post, shopifyHeaders } from './helpers/signers';

// Security review #12.6 and #12.13: hostile values in ids and ops API filters, and payload search
// as an oracle for masked fields.

describe.each(databaseKinds())('hostile identifiers and filters on %s', (kind) => {
  let gw: TestGateway;
  const ops = async (path: string, init: RequestInit = {}) => {
    const res = await fetch(`${gw.url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${SECRETS.ops}`, 'content-type': 'application/json' },
    });
    return { status: res.status, json: (await res.json()) as any };
  };
  const replay = (filter: Record<string, unknown>) =>
    ops('/api/events/replay', { method: 'POST', body: JSON.stringify({ filter, dry_run: true }) });

  beforeAll(async () => {
    const sources = parseSourcesDocument(
      { sources: [{ name: 'orders', provider: 'shopify', secrets: [SECRETS.shopify], mask: ['customer.email'] }] },
      {},
    );
    gw = await startTestGateway(kind, { sources }, { role: 'web' });
    const order = JSON.stringify({ id: 77, customer: { email: 'alice.secret@example.com' } });
    expect(
      (await post(`${gw.url}/api/webhooks/orders`, order, shopifyHeaders(SECRETS.shopify, order, 'masked-1'))).json
        .status,
    ).toBe('accepted');
    expect(
      (await easypost('{"id":"evt_plain_1","description":"tracker.updated","note":"bob.visible@example.com"}')).json
        .status,
    ).toBe('accepted');
  });
  afterAll(() => gw?.stop());

  /** An EasyPost delivery whose body is exactly `body` (JSON escapes kept as written). */
  const easypost = (body: string) =>
    post(`${gw.url}/api/webhooks/easypost`, body, { 'x-hmac-signature': easypostSignature(SECRETS.easypost, body) });

  it('an id with a lone surrogate is keyed as stored: a new event is accepted, not answered duplicate', async () => {
    const first = await easypost('{"id":"evt_\\ud800_lone","description":"tracker.created"}');
    expect(first.status).toBe(200);
    expect(first.json).toEqual({ status: 'accepted', id: expect.any(Number) });
    const [row] = await gw.query<{ webhook_id: string }>('select webhook_id from webhook_events where id = $1', [
      first.json.id,
    ]);
    expect(row!.webhook_id).toBe('evt_\uFFFD_lone');
    // Ids are normalised once, at identification: one differing only in its lone surrogate is the same id.
    // Its bytes differ from the stored one's, so it is kept as a conflict of that event (#11), never a second event.
    const second = await easypost('{"id":"evt_\\udfff_lone","description":"tracker.created"}');
    expect(second.json).toEqual({ status: 'conflict', event_id: first.json.id });
    expect(await gw.query(`select 1 from webhook_events where webhook_id like 'evt_%_lone'`)).toHaveLength(1);
  });

  it('payload search cannot recover a masked value, one prefix at a time or by count', async () => {
    for (const guess of ['alice', 'alice.secret@', 'alice.secret@example.com']) {
      const listed = await ops(`/api/events?q=${encodeURIComponent(guess)}`);
      expect(listed.status).toBe(200);
      expect(listed.json.events).toEqual([]);
      expect((await replay({ q: guess })).json).toEqual({ dry_run: true, matched: 0, replayed: 0 });
    }
    const named = await ops('/api/events?source=orders&q=alice');
    expect(named.status).toBe(400);
    expect(named.json.error).toEqual({
      code: 'search_not_allowed',
      message:
        'Source orders masks payload fields, so its payloads cannot be searched with q; filter it by webhook_id, topic, status or time (since/until) instead',
    });
    expect((await replay({ source: 'orders', q: 'alice' })).status).toBe(400);
    // Its events are still listed without q, masked in the detail view; sources without masks are searched.
    expect((await ops('/api/events?source=orders')).json.events).toHaveLength(1);
    const plain = await ops('/api/events?q=bob.visible');
    expect(plain.json.events.map((e: { webhook_id: string }) => e.webhook_id)).toEqual(['evt_plain_1']);
  });

  it.each([
    ['webhook_id=%00', 'webhook_id: must not contain a NUL character'],
    ['q=%00', 'q: must not contain a NUL character'],
    ['source=a%00b', 'source: must not contain a NUL character'],
    ['topic=%00', 'topic: must not contain a NUL character'],
    ['since=0000-01-01T00:00:00Z', 'since: must be in the year 0001 or later'],
    ['until=0000-06-01T00:00:00Z', 'until: must be in the year 0001 or later'],
    ['since=0001-01-01T00:30:00%2B01:00', 'since: must be in the year 0001 or later'],
  ])('GET /api/events?%s answers 400 naming the parameter', async (query, message) => {
    const res = await ops(`/api/events?${query}`);
    expect(res.status).toBe(400);
    expect(res.json.error).toEqual({ code: 'invalid_request', message });
  });

  it('stats and bulk replay validate the same way', async () => {
    const stats = await ops('/api/stats?since=0000-01-01T00:00:00Z');
    expect(stats.status).toBe(400);
    expect(stats.json.error.message).toBe('since: must be in the year 0001 or later');
    const bulk = await replay({ webhook_id: 'x\u0000y' });
    expect(bulk.status).toBe(400);
    expect(bulk.json.error).toEqual({
      code: 'invalid_request',
      message: 'filter.webhook_id: must not contain a NUL character',
    });
    expect((await replay({ q: '\u0000' })).status).toBe(400);
  });
});
