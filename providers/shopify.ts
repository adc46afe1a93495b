import { z } from 'zod';
import { refuseRepeatedIdentity } from './repeated-headers';
import { assertHmac, prefixedSignature, requireHeaders } from './signature';
import { defineProvider, type EventIdentity, type RequestHead } from './types';

/**
 * Shopify's two header spellings, as @shopify/shopify-api's webhook validator reads them
 * (`WEBHOOK_HEADER_NAMES` in lib/webhooks/types.ts, v13.1.0): the classic `X-Shopify-*` names, and
 * the unprefixed `Shopify-*` names of its "events" deliveries. Like that validator, the spelling is
 * chosen once per request by which HMAC header is present (the unprefixed one wins) and every other
 * header is read in the same spelling, never a mix.
 */
const SPELLINGS = {
  prefixed: {
    hmac: 'x-shopify-hmac-sha256',
    topic: 'x-shopify-topic',
    domain: 'x-shopify-shop-domain',
    webhookId: 'x-shopify-webhook-id',
    eventId: 'x-shopify-event-id',
  },
  unprefixed: {
    hmac: 'shopify-hmac-sha256',
    topic: 'shopify-topic',
    domain: 'shopify-shop-domain',
    webhookId: 'shopify-webhook-id',
    eventId: 'shopify-event-id',
  },
} as const;

const spellingOf = (headers: Readonly<Record<string, string>>) =>
  headers[SPELLINGS.unprefixed.hmac] !== undefined ? SPELLINGS.unprefixed : SPELLINGS.prefixed;

/**
 * What the HMAC header alone decides, in the request's spelling (present, within the length bound,
 * valid base64): the header's name and the presented signature. Called before the body is read
 * (verifyHead) and again by verify.
 */
function readSignature(request: RequestHead): { header: string; presented: Buffer[] } {
  const { hmac } = spellingOf(request.headers);
  return {
    header: hmac,
    presented: prefixedSignature(request.headers, { header: hmac, prefix: '', encoding: 'base64' }),
  };
}

/** Headers worth keeping, in both spellings (signatures are never kept). */
const KEPT = ['topic', 'shop-domain', 'webhook-id', 'event-id', 'api-version', 'triggered-at', 'sub-topic', 'name'];
const KEPT_UNPREFIXED_ONLY = ['shopify-handle', 'shopify-action', 'shopify-resource-id'];

const options = z.strictObject({
  /**
   * What a repeat is. `webhook_id` (default): the same delivery retried (X-Shopify-Webhook-Id).
   * `event_id`: the same shop event, however many subscriptions delivered it (X-Shopify-Event-Id,
   * which Shopify documents as the value shared by duplicate webhooks of one event).
   */
  dedupe: z.enum(['webhook_id', 'event_id']).default('webhook_id'),
});

/** Shopify: base64 HMAC-SHA256 of the raw body; ids are unique per shop, so the key is scoped by shop. */
export const shopify = defineProvider({
  name: 'shopify',
  options,
  // Shopify apps often register one URL per topic (/api/webhooks/shopify/orders/create).
  subPaths: true,
  // No length check: Shopify issues the secret (the app's client secret, or the signing key shown
  // under Settings → Notifications), and whatever it issues has to be accepted as it is.
  create: (o) => ({
    name: 'shopify',
    keptHeaders: [
      'content-type',
      'user-agent',
      ...KEPT.flatMap((name) => [`x-shopify-${name}`, `shopify-${name}`]),
      ...KEPT_UNPREFIXED_ONLY,
    ],
    // Every identity field comes from headers (or the sub-path).
    identityPaths: {},

    // The HMAC header alone is checked before the body is read; the HMAC itself needs the body.
    verifyHead(request) {
      readSignature(request);
    },

    verify(request, secrets) {
      const { header, presented } = readSignature(request);
      assertHmac({
        header,
        algorithm: 'sha256',
        keys: secrets.map((secret) => Buffer.from(secret, 'utf8')),
        signed: request.rawBody,
        presented,
      });
      return { signed: request.rawBody };
    },

    // Every identity field comes from headers and the sub-path: all of it is decided, and checked,
    // before the body is read, and again once the request is verified.
    identifyHead: (request) => identifyDelivery(request, o.dedupe),
    identify: (request) => identifyDelivery(request, o.dedupe),
  }),
});

/**
 * The delivery's identity, from its headers (webhook id and shop domain present and within the
 * length bound, else 400) and sub-path; ids are unique per shop, so the key is scoped by shop.
 */
function identifyDelivery(request: RequestHead, dedupe: 'webhook_id' | 'event_id'): EventIdentity {
  const names = spellingOf(request.headers);
  const ids = requireHeaders(request.headers, [names.webhookId, names.domain], 'identity');
  const shop = ids[names.domain].toLowerCase();
  // Without an event id (Shopify's newer deliveries may not send one) the delivery id is used,
  // so nothing is ever refused for lack of it.
  if (dedupe === 'event_id') refuseRepeatedIdentity(request.headers, [names.eventId]);
  const eventId = dedupe === 'event_id' ? request.headers[names.eventId]?.trim() : undefined;
  return {
    webhookId: eventId ? `${shop}/event/${eventId}` : `${shop}/${ids[names.webhookId]}`,
    topic: request.headers[names.topic]?.trim() || request.subPath || 'unknown',
    account: shop,
  };
}
