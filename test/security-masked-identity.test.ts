import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSourcesDocument } from '../src/config/file';
import { databaseKinds } from './helpers/database';
import { DESTINATION_SECRET } from './helpers/destinations';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { stripeHeader } from './helpers/provider-signers';
import { post } from './helpers/signers';
import { openEventStream } from './helpers/sse';

// A source's mask hides values from everything the ops API shows (docs/security.md, masking). The
// webhook id, topic and account stored beside the body may be read from a masked path (id_path,
// topic_path, Stripe's `account`): the views showed them in clear. And the ordering key was
// "[masked]" for every source with a mask, even when read from a path no mask covers.

const API_KEY = 'api-key-for-masked-identity-tests';
const STRIPE_SECRET = 'whsec_masked_identity_stripe';
const REF = 'ORD-REF-7f3e9c';
const KIND = 'kind-secret-41b2';
const ACCOUNT = 'acct_masked9Q2x';
const CUSTOMER = 'cus-lane-5d8a1e';

describe.each(databaseKinds())('identity read from a masked path on %s', (kind) => {
  let gw: TestGateway;
  let stream: Awaited<ReturnType<typeof openEventStream>>;
  let keyed: number;
  let charged: number;
  const get = async (path: string) => {
    const res = await fetch(`${gw.url}${path}`, { headers: { authorization: `Bearer ${SECRETS.ops}` } });
    expect(res.status, path).toBe(200);
    return res.text();
  };
  const sendKeyed = (body: string) =>
    post(`${gw.url}/api/webhooks/keyed`, body, { 'x-api-key': API_KEY, 'content-type': 'application/json' });

  beforeAll(async () => {
    const sources = parseSourcesDocument(
      {
        sources: [
          {
            name: 'keyed',
            provider: 'api-key',
            secrets: [API_KEY],
            header: 'x-api-key',
            id_path: 'order.ref',
            topic_path: 'meta.kind',
            // `order` covers order.ref (a masked ancestor); `region`, the ordering key, is not masked.
            mask: ['order', 'meta.kind'],
            ordering: { key: { jsonPath: '$.region' } },
          },
          { name: 'stripe', provider: 'stripe', secrets: [STRIPE_SECRET], mask: ['account'] },
          {
            name: 'laned',
            provider: 'api-key',
            secrets: [API_KEY],
            header: 'x-api-key',
            mask: ['customer'],
            ordering: { key: { jsonPath: '$.customer.id' } },
          },
        ],
      },
      {},
    );
    // No worker: the events stay queued (a skip needs one waiting in its lane).
    gw = await startTestGateway(
      kind,
      {
        sources,
        destinations: [
          {
            name: 'erp',
            url: 'http://127.0.0.1:9/hooks',
            secret: DESTINATION_SECRET,
            timeoutMs: 2000,
            sources: ['keyed'],
          },
        ],
      },
      { role: 'web' },
    );
    stream = await openEventStream(`${gw.url}/api/events/stream`, SECRETS.ops);
    await waitFor(() => stream.events.some((e) => e.event === 'ready'), 10_000, 'the stream to be ready');
    const sent = await sendKeyed(JSON.stringify({ order: { ref: REF, total: 5 }, meta: { kind: KIND }, region: 'eu' }));
    expect(sent.status).toBe(200);
    keyed = sent.json.id as number;
    // The same id with other bytes: a conflict.
    expect(
      (await sendKeyed(JSON.stringify({ order: { ref: REF, total: 6 }, meta: { kind: KIND }, region: 'eu' }))).status,
    ).toBe(200);
    const charge = JSON.stringify({ id: 'evt_masked_1', type: 'charge.succeeded', account: ACCOUNT });
    const res = await post(`${gw.url}/api/webhooks/stripe`, charge, {
      'stripe-signature': stripeHeader(STRIPE_SECRET, charge),
      'content-type': 'application/json',
    });
    expect(res.status).toBe(200);
    charged = res.json.id as number;
  }, 120_000);

  afterAll(async () => {
    await stream?.close();
    await gw?.stop();
  });

  it('hides them in the list, the event, both exports and the conflicts', async () => {
    const texts = await Promise.all([
      get('/api/events'),
      get(`/api/events/${keyed}`),
      get(`/api/events/${charged}`),
      get('/api/events/export?format=ndjson'),
      get('/api/events/export?format=csv'),
      get('/api/conflicts'),
    ]);
    for (const text of texts) {
      expect(text).not.toContain(REF);
      expect(text).not.toContain(KIND);
      expect(text).not.toContain(ACCOUNT);
    }
    const one = JSON.parse(texts[1]!);
    expect(one).toMatchObject({ webhook_id: '[masked]', topic: '[masked]' });
    // Stripe's id and type are not under `account`: shown.
    expect(JSON.parse(texts[2]!)).toMatchObject({
      webhook_id: 'evt_masked_1',
      topic: 'charge.succeeded',
      account: '[masked]',
    });
    expect(JSON.parse(texts[5]!).conflicts[0].webhook_id).toBe('[masked]');
  });

  it('shows an ordering key read from a path no mask covers', async () => {
    const one = JSON.parse(await get(`/api/events/${keyed}`));
    expect(one.orderingKey).toBe('eu');
    const list = JSON.parse(await get('/api/events?source=keyed'));
    expect(list.events[0].orderingKey).toBe('eu');
  });

  it('hides the topic on the live stream', async () => {
    const arrival = await waitFor(
      () => stream.events.find((e) => e.event === 'received' && e.data.id === keyed),
      10_000,
      'the arrival on the stream',
    );
    expect(arrival!.data.topic).toBe('[masked]');
    expect(JSON.stringify(stream.events)).not.toContain(KIND);
  });

  it('hides them in the delivery preview', async () => {
    const res = await fetch(`${gw.url}/api/destinations/erp/preview`, {
      method: 'POST',
      headers: { authorization: `Bearer ${SECRETS.ops}`, 'content-type': 'application/json' },
      body: JSON.stringify({ event_id: keyed }),
    });
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(text).not.toContain(REF);
    expect(text).not.toContain(KIND);
  });

  it('hides a masked ordering key in the lane a skip writes to the audit log', async () => {
    const sent = await post(`${gw.url}/api/webhooks/laned`, JSON.stringify({ customer: { id: CUSTOMER } }), {
      'x-api-key': API_KEY,
    });
    expect(sent.status).toBe(200);
    const skipped = await fetch(`${gw.url}/api/events/${sent.json.id}/skip`, {
      method: 'POST',
      headers: { authorization: `Bearer ${SECRETS.ops}` },
    });
    const answer = await skipped.text();
    expect(skipped.status, answer).toBe(200);
    expect(JSON.parse(answer).orderingKey).toBe('[masked]');
    const audit = await get('/api/audit?action=event.skip');
    expect(JSON.parse(audit).entries[0].after.lane).toBe('laned:[masked]');
    expect(audit + (await get('/api/audit/export?format=ndjson'))).not.toContain(CUSTOMER);
  });
});
