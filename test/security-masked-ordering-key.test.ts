import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSourcesDocument } from '../src/config/file';
import { databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, type TestGateway } from './helpers/gateway';
import { post, shopifyHeaders } from './helpers/signers';

// A source's mask hides values from everything the ops API shows (docs/security.md, masking). An
// ordering key read from the body (docs/ordering.md) is a payload value: the event list, the event
// and the export showed it as `orderingKey`, masked path or not.

const EMAIL = 'jane.secret@example.com';

describe.each(databaseKinds())('the ordering key of a masked source on %s', (kind) => {
  let gw: TestGateway;
  let id: number;
  const get = async (path: string) =>
    (await fetch(`${gw.url}${path}`, { headers: { authorization: `Bearer ${SECRETS.ops}` } })).text();

  beforeAll(async () => {
    const sources = parseSourcesDocument(
      {
        sources: [
          {
            name: 'shopify',
            provider: 'shopify',
            secrets: [SECRETS.shopify],
            mask: ['customer.email'],
            ordering: { key: { jsonPath: '$.customer.email' } },
          },
        ],
      },
      {},
    );
    gw = await startTestGateway(kind, { sources, worker: { cron: '0 0 1 1 *' } });
    const body = JSON.stringify({ id: 1, customer: { email: EMAIL } });
    const res = await post(`${gw.url}/api/webhooks/shopify`, body, shopifyHeaders(SECRETS.shopify, body, 'ordered-1'));
    expect(res.status).toBe(200);
    id = res.json.id as number;
  }, 120_000);

  afterAll(async () => {
    await gw?.stop();
  });

  it('is shown masked in the list, the event and the export', async () => {
    const [list, one, exported] = await Promise.all([
      get('/api/events'),
      get(`/api/events/${id}`),
      get('/api/events/export?format=ndjson'),
    ]);
    for (const text of [list, one, exported]) expect(text).not.toContain(EMAIL);
    expect(JSON.parse(one).orderingKey).toBe('[masked]');
    expect(JSON.parse(list).events[0].orderingKey).toBe('[masked]');
  });
});
