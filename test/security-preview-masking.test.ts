import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSourcesDocument } from '../src/config/file';
import { databaseKinds } from './helpers/database';
import { DESTINATION_SECRET } from './helpers/destinations';
import { SECRETS, startTestGateway, type TestGateway } from './helpers/gateway';
import { post, shopifyHeaders } from './helpers/signers';

// A source's mask hides values from everything the ops API shows (docs/security.md, masking). The
// delivery preview (operator) of a stored event built the envelope from the raw stored bytes, so an
// operator read the masked values there, or guessed them through a draft filter or transformation.

const EMAIL = 'jane.secret@example.com';

describe.each(databaseKinds())('the delivery preview of a masked source on %s', (kind) => {
  let gw: TestGateway;
  let eventId: number;
  let operator: string;

  const preview = async (body: unknown) => {
    const res = await fetch(`${gw.url}/api/destinations/erp/preview`, {
      method: 'POST',
      headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, text: await res.text() };
  };

  beforeAll(async () => {
    const sources = parseSourcesDocument(
      { sources: [{ name: 'shopify', provider: 'shopify', secrets: [SECRETS.shopify], mask: ['customer.email'] }] },
      {},
    );
    gw = await startTestGateway(kind, {
      sources,
      worker: { cron: '0 0 1 1 *' },
      destinations: [
        {
          name: 'erp',
          url: 'http://127.0.0.1:9/hooks',
          secret: DESTINATION_SECRET,
          timeoutMs: 2000,
          sources: ['shopify'],
        },
      ],
    });
    const created = await fetch(`${gw.url}/api/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${SECRETS.ops}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'preview-operator', role: 'operator' }),
    });
    operator = ((await created.json()) as { token: string }).token;
    const body = JSON.stringify({ id: 1, customer: { email: EMAIL } });
    const res = await post(
      `${gw.url}/api/webhooks/shopify`,
      body,
      shopifyHeaders(SECRETS.shopify, body, 'mask-preview-1'),
    );
    expect(res.status).toBe(200);
    eventId = res.json.id as number;
  }, 120_000);

  afterAll(async () => {
    await gw?.stop();
  });

  it('shows the stored event masked, as GET /api/events/:id does', async () => {
    const shown = await preview({ event_id: eventId });
    expect(shown.status).toBe(200);
    expect(shown.text).not.toContain(EMAIL);
    expect(JSON.parse(JSON.parse(shown.text).body).data.customer.email).toBe('[masked]');
  });

  it('gives a draft transformation or filter only the masked values', async () => {
    const transformed = await preview({
      event_id: eventId,
      draft: {
        transform: {
          language: 'javascript',
          code: 'function transform(input) { return { leak: input.body.customer.email.split("").reverse().join("") }; }',
        },
      },
    });
    expect(transformed.status).toBe(200);
    expect(transformed.text).not.toContain(EMAIL.split('').reverse().join(''));
    const guessed = await preview({ event_id: eventId, draft: { filter: { body: { customer: { email: EMAIL } } } } });
    expect(guessed.status).toBe(200);
    expect(JSON.parse(guessed.text).matched).toBe(false);
  });
});
