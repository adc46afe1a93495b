import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, type TestGateway } from './helpers/gateway';
import { post, shopifyHeaders } from './helpers/signers';

// Same dedupe key, other bytes: a conflict kept byte for byte next to the original, never a
// "duplicate" whose payload is lost. The comparison runs in the database, so both engines.
describe.each(databaseKinds())('conflicting deliveries on %s', (kind) => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway(kind, {}, { role: 'web' });
  }, 180_000); // PGlite's cold start and migrations are slow when the machine is busy
  afterAll(() => gw?.stop());

  const deliver = (body: string | Buffer, id: string) =>
    post(`${gw.url}/api/webhooks/shopify`, body, shopifyHeaders(SECRETS.shopify, body, id));
  const ops = async (path: string, token: string | null = SECRETS.ops) => {
    const response = await fetch(`${gw.url}${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
    return { status: response.status, json: (await response.json()) as any };
  };
  const storedConflicts = (eventId: number) =>
    gw.query<{ id: string; body: Buffer; content_hash: Buffer; body_size: number; webhook_id: string }>(
      'select id, body, content_hash, body_size, webhook_id from event_conflicts where event_id = $1 order by id',
      [eventId],
    );
  const eventCount = async (webhookId: string) =>
    Number(
      (await gw.query<{ n: string }>('select count(*) as n from webhook_events where webhook_id = $1', [webhookId]))[0]!
        .n,
    );
  const sha256 = (body: string | Buffer) => createHash('sha256').update(body).digest('hex');

  it('a repeat with identical bytes is a plain duplicate: one event, no conflict', async () => {
    const id = randomUUID();
    const body = '{"id":820982911946154508,"total_price":"10.00"}';
    const first = await deliver(body, id);
    const again = await deliver(body, id);
    expect([first.json.status, again.json.status]).toEqual(['accepted', 'duplicate']);
    expect(await eventCount(`acme.myshopify.com/${id}`)).toBe(1);
    expect(await storedConflicts(first.json.id)).toEqual([]);
    const [stored] = await gw.query<{ content_hash: Buffer }>('select content_hash from webhook_events where id = $1', [
      first.json.id,
    ]);
    expect(Buffer.from(stored!.content_hash).toString('hex')).toBe(sha256(body));
  });

  it('other bytes under the same id are stored as a conflict with the exact bytes, listed, linked and counted', async () => {
    const id = randomUUID();
    const original = '{"id":820982911946154508,"total_price":"10.00"}';
    // Not UTF-8 on purpose: the bytes must survive exactly, whatever they are.
    const other = Buffer.concat([
      Buffer.from('{"id":820982911946154509,"note":"'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('"}'),
    ]);
    const first = await deliver(original, id);
    const conflict = await deliver(other, id);
    expect(conflict.status).toBe(200);
    expect(conflict.json).toEqual({ status: 'conflict', event_id: first.json.id });
    // The sender retries the conflicting delivery (our answer was lost): still a conflict, stored once.
    expect((await deliver(other, id)).json).toEqual({ status: 'conflict', event_id: first.json.id });

    expect(await eventCount(`acme.myshopify.com/${id}`)).toBe(1);
    const rows = await storedConflicts(first.json.id);
    expect(rows).toHaveLength(1);
    expect(Buffer.from(rows[0]!.body).equals(other)).toBe(true);
    expect(Buffer.from(rows[0]!.content_hash).toString('hex')).toBe(sha256(other));
    expect(rows[0]!.body_size).toBe(other.length);

    const list = await ops(`/api/conflicts?event_id=${first.json.id}`);
    expect(list.status).toBe(200);
    expect(list.json.conflicts).toEqual([
      expect.objectContaining({
        id: Number(rows[0]!.id),
        event_id: first.json.id,
        event_href: `/api/events/${first.json.id}`,
        source: 'shopify',
        webhook_id: `acme.myshopify.com/${id}`,
        content_sha256: sha256(other),
        size_bytes: other.length,
      }),
    ]);
    expect(list.json.next_cursor).toBeNull();
    const detail = await ops(`/api/conflicts/${rows[0]!.id}`);
    expect(detail.json.body).toEqual({ encoding: 'base64', data: other.toString('base64'), masked: false });
    expect(detail.json.headers['x-shopify-webhook-id']).toBe(id);
    expect(detail.json.headers['x-shopify-hmac-sha256']).toBeUndefined();

    const event = await ops(`/api/events/${first.json.id}`);
    expect(event.json.conflicts).toEqual({ count: 1, href: `/api/conflicts?event_id=${first.json.id}` });

    const metrics = await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${SECRETS.ops}` } });
    const text = await metrics.text();
    expect(text).toMatch(/^webhook_gateway_conflicts_total\{source="shopify"\} [1-9]\d*$/m);
    expect(text).toMatch(
      /^webhook_gateway_requests_total\{source="shopify",outcome="conflict",reason="ok"\} [1-9]\d*$/m,
    );
  });

  it('concurrent copies with three different bodies: one event, the other two bodies kept once each', async () => {
    const id = randomUUID();
    const bodies = ['{"v":1}', '{"v":2}', '{"v":3}'];
    const sent = Array.from({ length: 18 }, (_, i) => bodies[i % 3]!);
    const answers = await Promise.all(sent.map((body) => deliver(body, id)));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    const accepted = answers.filter((a) => a.json.status === 'accepted');
    expect(accepted).toHaveLength(1);
    const eventId = accepted[0]!.json.id;
    const [stored] = await gw.query<{ body: Buffer }>('select body from webhook_events where id = $1', [eventId]);
    const storedBody = Buffer.from(stored!.body).toString();
    // Every copy of the stored bytes is a duplicate; every other copy a conflict of that event.
    answers.forEach((answer, i) => {
      if (answer.json.status === 'accepted') return;
      expect(answer.json).toEqual(
        sent[i] === storedBody ? { status: 'duplicate' } : { status: 'conflict', event_id: eventId },
      );
    });
    const kept = (await storedConflicts(eventId)).map((r) => Buffer.from(r.body).toString()).sort();
    expect(kept).toEqual(bodies.filter((b) => b !== storedBody));
  });

  it('events stored before content hashes existed are compared by their body', async () => {
    const id = randomUUID();
    const body = '{"legacy":true}';
    const first = await deliver(body, id);
    await gw.query('update webhook_events set content_hash = null where id = $1', [first.json.id]);
    expect((await deliver(body, id)).json).toEqual({ status: 'duplicate' });
    expect((await deliver('{"legacy":false}', id)).json).toEqual({ status: 'conflict', event_id: first.json.id });
  });

  it('the conflicts list filters by source and time, pages with a cursor, and needs an ops token', async () => {
    const id = randomUUID();
    const first = await deliver('{"page":0}', id);
    for (let i = 1; i <= 3; i++) expect((await deliver(`{"page":${i}}`, id)).json.status).toBe('conflict');
    const page1 = await ops(`/api/conflicts?event_id=${first.json.id}&limit=2`);
    expect(page1.json.conflicts).toHaveLength(2);
    const page2 = await ops(`/api/conflicts?event_id=${first.json.id}&limit=2&cursor=${page1.json.next_cursor}`);
    expect(page2.json.conflicts).toHaveLength(1);
    expect(page2.json.next_cursor).toBeNull();
    expect((await ops(`/api/conflicts?event_id=${first.json.id}&source=easypost`)).json.conflicts).toEqual([]);
    expect((await ops(`/api/conflicts?event_id=${first.json.id}&since=2999-01-01T00:00:00Z`)).json.conflicts).toEqual(
      [],
    );
    expect((await ops('/api/conflicts', null)).status).toBe(401);
    const bad = await ops('/api/conflicts?event_id=abc');
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toContain('event_id');
    expect((await ops('/api/conflicts/999999999')).status).toBe(404);
    const doc = await ops('/api/openapi.json');
    expect(Object.keys(doc.json.paths)).toEqual(expect.arrayContaining(['/api/conflicts', '/api/conflicts/{id}']));
  });
});
