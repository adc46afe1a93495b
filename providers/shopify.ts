import { z } from 'zod';
import { assertHmac, requireHeaders } from './signature';
import { defineProvider } from './types';

const SIGNATURE_HEADER = 'x-shopify-hmac-sha256';

/** Shopify: base64 HMAC-SHA256 of the raw body; ids are unique per shop, so the key is scoped by shop. */
export const shopify = defineProvider({
  name: 'shopify',
  options: z.strictObject({}),
  // Shopify apps often register one URL per topic (/api/webhooks/shopify/orders/create).
  subPaths: true,
  create: () => ({
    name: 'shopify',
    keptHeaders: [
      'content-type',
      'user-agent',
      'x-shopify-topic',
      'x-shopify-shop-domain',
      'x-shopify-webhook-id',
      'x-shopify-event-id',
      'x-shopify-api-version',
      'x-shopify-triggered-at',
    ],

    verify(request, secrets) {
      const { [SIGNATURE_HEADER]: signature } = requireHeaders(request.headers, [SIGNATURE_HEADER], 'signature');
      assertHmac({
        header: SIGNATURE_HEADER,
        algorithm: 'sha256',
        encoding: 'base64',
        keys: secrets.map((secret) => Buffer.from(secret, 'utf8')),
        signed: request.rawBody,
        signatures: [signature],
      });
      return { signed: request.rawBody };
    },

    identify(request) {
      const ids = requireHeaders(request.headers, ['x-shopify-webhook-id', 'x-shopify-shop-domain'], 'identity');
      const shop = ids['x-shopify-shop-domain'].toLowerCase();
      return {
        webhookId: `${shop}/${ids['x-shopify-webhook-id']}`,
        topic: request.headers['x-shopify-topic']?.trim() || request.subPath || 'unknown',
        account: shop,
      };
    },
  }),
});
