import { createHmac, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKeyring } from '../src/control/crypto';
import { databaseKinds } from './helpers/database';
import { SECRETS, opsCall, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { post } from './helpers/signers';
import { openEventStream } from './helpers/sse';

// The live stream's include=request names each arrival's provider (what `listen` signs a forward
// with). It used to know only GATEWAY_CONFIG and env sources: a source created with the ops API
// came with provider null, so `listen` forwarded its events unsigned.

const SECRET = 'runtime-source-stream-secret';

describe.each(databaseKinds())('the live stream names the provider of a runtime source, on %s', (kind) => {
  let gw: TestGateway;

  beforeAll(async () => {
    const keyring = loadKeyring({ key: randomBytes(32).toString('base64') });
    gw = await startTestGateway(kind, { control: { keyring, refreshMs: 5000 } }, { role: 'web' });
    const created = await opsCall(gw, 'POST', '/api/sources', { name: 'acme', provider: 'shopify', secrets: [SECRET] });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
  }, 120_000);
  afterAll(async () => {
    await gw?.stop();
  });

  it('provider is the source’s, not null', async () => {
    const stream = await openEventStream(`${gw.url}/api/events/stream?include=request`, SECRETS.ops);
    try {
      await waitFor(() => stream.events.some((e) => e.event === 'ready'), 10_000, 'the stream to be ready');
      const body = '{"id":1}';
      // Shopify's scheme, computed here: base64 HMAC-SHA256 of the raw body.
      const sent = await waitFor(
        async () => {
          const answer = await post(`${gw.url}/api/webhooks/acme`, body, {
            'x-shopify-hmac-sha256': createHmac('sha256', SECRET).update(body).digest('base64'),
            'x-shopify-topic': 'orders/create',
            'x-shopify-webhook-id': `wh-${Date.now()}`,
            'x-shopify-shop-domain': 'acme.myshopify.com',
          });
          return answer.status === 200 ? answer : undefined;
        },
        15_000,
        'the runtime source to accept a delivery',
      );
      const arrival = await waitFor(
        () => stream.events.find((e) => e.event === 'received' && e.data.id === sent!.json.id),
        10_000,
        'the arrival on the stream',
      );
      expect(arrival!.data.request.provider).toBe('shopify');
    } finally {
      await stream.close();
    }
  });
});
