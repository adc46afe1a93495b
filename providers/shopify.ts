import { decodeSignature, hmacMatches, invalidSignature, requireHeaders } from './signature';
import type { PushProvider } from './types';

const SIGNATURE_HEADER = 'x-shopify-hmac-sha256';

/** Shopify: base64 HMAC-SHA256 of the raw body; ids are unique per shop, so the key is scoped by shop. */
export const shopify: PushProvider = {
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
    const { [SIGNATURE_HEADER]: header } = requireHeaders(request.headers, [SIGNATURE_HEADER], 'signature');
    const presented = decodeSignature(header, 'base64');
    const ok =
      presented !== null &&
      hmacMatches({ algorithm: 'sha256', keys: secrets, signed: request.rawBody, presented: [presented] });
    if (!ok) throw invalidSignature(SIGNATURE_HEADER);
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
};
