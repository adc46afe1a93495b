import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKeyring } from '../src/control/crypto';
import { databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { startReceiver } from './helpers/receiver';
import { post, shopifyHeaders } from './helpers/signers';

// A filter's own numbers, end to end: written in the API request, stored, read back by every
// instance, shown by GET and compared against the event's digits. Shopify's ids (~8e17) are beyond
// 2^53: 820982911946154508 and 820982911946154510 are both the double 820982911946154496, so a
// filter read with JSON.parse could not tell one customer from the other. Real server, real signed
// webhooks, a real receiver; the API's answers are read as text, so nothing here rounds them either.

const MASTER_KEY = randomBytes(32).toString('base64');
const SOURCE_SECRET = `shop-${randomBytes(12).toString('hex')}`;
const auth = { authorization: `Bearer ${SECRETS.ops}`, 'content-type': 'application/json' };
const CUSTOMER = '820982911946154508';
const NEIGHBOUR = '820982911946154510';

describe.each(databaseKinds())('exact numbers in saved filters and pasted payloads (%s)', (kind) => {
  let gw: TestGateway;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let n = 0;
  /** The answer as text: JSON.parse here would round the very digits under test. */
  const api = async (path: string, method = 'GET', body?: string) => {
    const res = await fetch(`${gw.url}${path}`, { method, headers: auth, body });
    return { status: res.status, text: await res.text() };
  };
  const send = async (body: string) => {
    const res = await post(
      `${gw.url}/api/webhooks/shop`,
      body,
      shopifyHeaders(SOURCE_SECRET, body, `op-${++n}-${Date.now()}`),
    );
    expect(res.status).toBe(200);
    return res.json.id as number;
  };
  const outcome = async (id: number) => {
    await waitFor(
      async () => JSON.parse((await api(`/api/events/${id}`)).text).status === 'completed',
      15_000,
      `event ${id} completed`,
    );
    return (JSON.parse((await api(`/api/events/${id}`)).text).deliveries as { destination: string; outcome: string }[])
      .map((d) => `${d.destination}:${d.outcome}`)
      .sort();
  };

  beforeAll(async () => {
    receiver = await startReceiver();
    gw = await startTestGateway(kind, { control: { keyring: loadKeyring({ key: MASTER_KEY }), refreshMs: 60_000 } });
    const source = await api(
      '/api/sources',
      'POST',
      JSON.stringify({ name: 'shop', provider: 'shopify', secrets: [SOURCE_SECRET] }),
    );
    expect(source.status).toBe(201);
  }, 120_000);
  afterAll(async () => {
    await gw?.stop();
    await receiver?.close();
  });

  it("a filter on one customer's id beyond 2^53 gets that customer's events only, and GET shows its digits", async () => {
    const fields = `"url": "${receiver.url}", "sources": ["shop"]`;
    const created = await api(
      '/api/destinations',
      'POST',
      `{"name": "one", ${fields}, "filter": {"body": {"customer_id": ${CUSTOMER}}}}`,
    );
    expect(created.status).toBe(201);
    expect(created.text).toContain(`"filter":{"body":{"customer_id":${CUSTOMER}}}`);
    await api(
      '/api/destinations',
      'POST',
      `{"name": "listed", ${fields}, "filter": {"body": {"customer_id": {"$in": [1, ${CUSTOMER}]}}}}`,
    );
    await api(
      '/api/destinations',
      'POST',
      `{"name": "above", ${fields}, "filter": {"body": {"customer_id": {"$gt": ${CUSTOMER}}}}}`,
    );
    const patched = await api(
      '/api/destinations/above',
      'PATCH',
      `{"filter": {"body": {"customer_id": {"$gte": ${NEIGHBOUR}}}}}`,
    );
    expect(patched.text).toContain(`"$gte":${NEIGHBOUR}`);

    const mine = await send(`{"id":1,"customer_id":${CUSTOMER}}`);
    const theirs = await send(`{"id":2,"customer_id":${NEIGHBOUR}}`);
    expect(await outcome(mine)).toEqual(['above:ignored', 'listed:delivered', 'one:delivered']);
    expect(await outcome(theirs)).toEqual(['above:delivered', 'listed:ignored', 'one:ignored']);

    const shown = await api('/api/destinations/one');
    expect(shown.text).toContain(`"filter":{"body":{"customer_id":${CUSTOMER}}}`);
    expect((await api('/api/destinations')).text).toContain(`"customer_id":{"$in":[1,${CUSTOMER}]}`);
    // The audit entry of the creation records the filter with its digits too.
    const [audit] = await gw.query<{ after: string }>(
      `select after::text as after from audit_log where target = 'destination:one'`,
    );
    expect(audit!.after).toContain(`"customer_id": ${CUSTOMER}`);
  });

  it('a body repeating a key with different values has no exact reading: 400 invalid_json, nothing created', async () => {
    const twice = `{"name": "twice", "url": "${receiver.url}", "filter": {"body": {"id": 1, "id": 2}}}`;
    const refused = await api('/api/destinations', 'POST', twice);
    expect(refused.status).toBe(400);
    expect(JSON.parse(refused.text).error).toMatchObject({
      code: 'invalid_json',
      message: expect.stringMatching(/repeats a key/),
    });
    expect((await api('/api/destinations/twice')).status).toBe(404);
  });

  it('a pasted payload and a draft filter keep their digits in a preview', async () => {
    const preview = async (payload: string, draft = '') =>
      JSON.parse(
        (
          await api(
            '/api/destinations/one/preview',
            'POST',
            `{"payload": ${payload}, "topic": "orders/create"${draft}}`,
          )
        ).text,
      ) as {
        matched: boolean;
        body: string;
      };
    const mine = await preview(`{"customer_id":${CUSTOMER}}`);
    expect(mine.matched).toBe(true);
    expect(mine.body).toContain(`"data":{"customer_id":${CUSTOMER}}`);
    expect((await preview(`{"customer_id":${NEIGHBOUR}}`)).matched).toBe(false);
    const draft = `, "draft": {"filter": {"body": {"customer_id": ${NEIGHBOUR}}}}`;
    expect((await preview(`{"customer_id":${NEIGHBOUR}}`, draft)).matched).toBe(true);
    expect((await preview(`{"customer_id":${CUSTOMER}}`, draft)).matched).toBe(false);
  });

  it('a filter saved before exact operands holds rounded digits: it still matches every id that rounds to them', async () => {
    await api(
      '/api/destinations',
      'POST',
      `{"name": "legacy", "url": "${receiver.url}", "sources": ["shop"], "filter": {"topic": "never"}}`,
    );
    // What JSON.parse made of 820982911946154508 when the filter was saved, as the column held it.
    await gw.query(
      `update destinations set filter = '{"body": {"customer_id": 820982911946154500}}'::jsonb where name = 'legacy'`,
    );
    // Any change through the API re-reads the row and tells every instance (the filter kept as stored).
    expect((await api('/api/destinations/legacy', 'PATCH', '{"timeout_ms": 5000}')).status).toBe(200);
    const id = await send(`{"id":3,"customer_id":${NEIGHBOUR}}`);
    expect(await outcome(id)).toContain('legacy:delivered');
    expect((await api('/api/destinations/legacy')).text).toContain('"customer_id":820982911946154500');
  });
});
