import http from 'node:http';
import type { AddressInfo } from 'node:net';
import '@shopify/shopify-api/adapters/node';
import { ApiVersion, LogSeverity, shopifyApi, type WebhookValidation } from '@shopify/shopify-api';
import { getHmac } from '@shopify/shopify-api/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIGNERS } from '../src/senders/signers';
import { parseSourcesDocument } from '../src/config/file';
import { startTestGateway, type TestGateway } from './helpers/gateway';
import { post } from './helpers/signers';

// Shopify's own validator (@shopify/shopify-api webhooks.validate, Node adapter) judges the same
// requests the gateway receives: whatever it accepts, in either header spelling, the gateway
// accepts and keys on the shop and webhook id it reports; a bad HMAC is refused by both. The
// requests are signed with the library's own test helper (getHmac).
const SECRET = 'shpss_interop_client_secret_000001';
const SHOP = 'interop-shop.myshopify.com';

describe("interop with Shopify's webhook validator", () => {
  let gw: TestGateway;
  let validator: http.Server;
  let validatorUrl: string;

  beforeAll(async () => {
    const sources = parseSourcesDocument({ sources: [{ name: 'shop', provider: 'shopify', secrets: [SECRET] }] }, {});
    gw = await startTestGateway('pglite', { sources }, { role: 'web' });
    const shopify = shopifyApi({
      apiKey: 'interop-api-key',
      apiSecretKey: SECRET,
      apiVersion: ApiVersion.January25,
      isEmbeddedApp: false,
      hostName: 'localhost',
      logger: { level: LogSeverity.Error, log: async () => {} },
    });
    validator = http.createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const result = await shopify.webhooks.validate({
        rawBody: Buffer.concat(chunks).toString('utf8'),
        rawRequest: req,
        rawResponse: res,
      });
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(result));
    });
    await new Promise<void>((resolve) => validator.listen(0, '127.0.0.1', resolve));
    validatorUrl = `http://127.0.0.1:${(validator.address() as AddressInfo).port}/`;
  });
  afterAll(async () => {
    await new Promise((resolve) => validator?.close(resolve));
    await gw?.stop();
  });

  const judge = async (body: string, headers: Record<string, string>) => {
    const shopify = (await post(validatorUrl, body, headers)).json as WebhookValidation;
    const gateway = await post(`${gw.url}/api/webhooks/shop`, body, headers);
    return { shopify, gateway };
  };
  const webhookIdOf = async (id: number) =>
    (await gw.query<{ webhook_id: string }>('select webhook_id from webhook_events where id = $1', [id]))[0]!
      .webhook_id;

  const body = '{"id":820982911946154508,"email":"jon@example.com","total_price":"199.00"}';
  const deliveries: [string, Record<string, string>][] = [
    [
      'a classic X-Shopify-* delivery',
      {
        'X-Shopify-Hmac-Sha256': getHmac(body, SECRET),
        'X-Shopify-Topic': 'orders/create',
        'X-Shopify-Shop-Domain': SHOP,
        'X-Shopify-API-Version': '2025-01',
        'X-Shopify-Webhook-Id': 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043',
        'X-Shopify-Event-Id': '98880550-7158-44d4-b7cd-2c97c8a091b5',
        'X-Shopify-Triggered-At': '2025-01-15T10:00:00.000Z',
      },
    ],
    [
      'an unprefixed Shopify-* delivery',
      {
        'shopify-hmac-sha256': getHmac(body, SECRET),
        'shopify-topic': 'Order',
        'shopify-action': 'create',
        'shopify-shop-domain': SHOP,
        'shopify-api-version': 'unstable',
        'shopify-webhook-id': '0b5cf1a5-6b8d-4f61-9f33-0e3b3c9f1a10',
        'shopify-event-id': '5d1a3d77-2a1c-4f0a-8f80-6c4bb2f0a0d2',
        'shopify-handle': 'order-sync',
      },
    ],
  ];

  it.each(deliveries)(
    '%s: Shopify validates it, the gateway stores it under the same shop and webhook id',
    async (_name, headers) => {
      const { shopify, gateway } = await judge(body, headers);
      expect(shopify.valid, JSON.stringify(shopify)).toBe(true);
      expect(gateway.json.status).toBe('accepted');
      const valid = shopify as Extract<WebhookValidation, { valid: true }>;
      expect(await webhookIdOf(gateway.json.id)).toBe(`${valid.domain}/${valid.webhookId}`);
    },
  );

  it.each(deliveries)('%s with a wrong HMAC: both refuse it', async (_name, headers) => {
    const hmacHeader = Object.keys(headers).find((name) => /hmac/i.test(name))!;
    const { shopify, gateway } = await judge(body, {
      ...headers,
      [hmacHeader]: getHmac(body, 'not-the-client-secret'),
    });
    expect(shopify).toMatchObject({ valid: false, reason: 'invalid_hmac' });
    expect(gateway.status).toBe(401);
  });

  it("what `webhook-gateway send` signs as Shopify is valid for Shopify's validator", async () => {
    const signed = SIGNERS.shopify.sign({
      secret: SECRET,
      body: Buffer.from(body),
      path: '/api/webhooks/shop',
      id: 'send-interop-1',
      account: SHOP,
      now: new Date(),
      options: {},
    });
    const { shopify, gateway } = await judge(body, signed.headers);
    expect(shopify).toMatchObject({ valid: true, domain: SHOP, webhookId: 'send-interop-1' });
    expect(gateway.json.status).toBe('accepted');
  });
});
