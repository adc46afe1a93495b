import { randomUUID } from 'node:crypto';
import { parseSourceEntry } from '../../src/config/file';
import { SECRETS } from './gateway';
import { PROVIDER_SECRETS, githubSignature, hexHmac, nowSeconds } from './provider-signers';
import { SHOPIFY, at, event, standardHeaders } from './signature-head-cases';
import { shopifyHeaders } from './signers';

// Requests with a fresh, correct credential whose identity headers are missing or too long: the
// headers alone refuse them, with the answer identify and the identity limits give once the body is
// in (test/hmac-head-signatures.test.ts sends them before the body and checks identify).

/** An API-key source with its identity in headers: a credential wholly in the head, then the id. */
export const apiKeyWithIds = () =>
  parseSourceEntry(
    {
      name: 'apikey-ids',
      provider: 'api-key',
      secrets: [PROVIDER_SECRETS.apiKey],
      header: 'X-Api-Key',
      id_header: 'X-Event-Id',
      topic_header: 'X-Event-Type',
    },
    {},
  );

/** A refusal the head decides after the credential: where, with which headers, and the answer. */
export interface IdentityHeadCase {
  source: string;
  target: string;
  /** The body the credential covers (never sent by the head-first test). */
  body: Buffer;
  headers: Record<string, string>;
  status: number;
  code: string;
  message: string;
}

const long = (length: number) => 'i'.repeat(length);
const missing = (...names: string[]) => ({
  status: 400,
  code: 'missing_header',
  message: `Required headers missing: ${names.join(', ')}`,
});
const tooLong = (name: string) => ({
  status: 400,
  code: 'header_too_long',
  message: `Headers longer than 4096 characters: ${name}`,
});
const overLimit = (field: string, limit: number) => ({
  status: 400,
  code: 'invalid_identity',
  message: `The event's ${field} is longer than ${limit} characters`,
});

/** `headers` without `names`. */
const without = (headers: Record<string, string>, ...names: string[]) =>
  Object.fromEntries(Object.entries(headers).filter(([name]) => !names.includes(name)));

/** Every refusal, freshly signed. */
export function identityHeadCases(): IdentityHeadCase[] {
  const body = event();
  const github = {
    'x-hub-signature-256': githubSignature(PROVIDER_SECRETS.github, body),
    'x-github-delivery': randomUUID(),
    'x-github-event': 'push',
  };
  const shopify = shopifyHeaders(SECRETS.shopify, body, randomUUID());
  const ts = String(nowSeconds());
  const honey = {
    'x-honey-signature': `sha256=${hexHmac(PROVIDER_SECRETS.honey, `${ts}.`, body)}`,
    'x-honey-timestamp': ts,
    'x-honey-delivery-id': `dlv_${randomUUID()}`,
    'x-honey-event-type': 'inventory.stock_received',
  };
  const apikey = { 'x-api-key': PROVIDER_SECRETS.apiKey, 'x-event-id': randomUUID(), 'x-event-type': 'x' };
  // A long id in a fresh Standard Webhooks signature: the id is signed, so it is signed long.
  const standardLongId = (prefix: 'webhook' | 'svix') => {
    const headers = standardHeaders(prefix, body, nowSeconds(), long(513));
    return { ...at(prefix === 'webhook' ? 'standard' : 'svix'), body, headers, ...overLimit('webhookId', 512) };
  };
  return [
    { ...at('github'), body, headers: without(github, 'x-github-delivery'), ...missing('x-github-delivery') },
    {
      ...at('github'),
      body,
      headers: without(github, 'x-github-delivery', 'x-github-event'),
      ...missing('x-github-delivery', 'x-github-event'),
    },
    { ...at('github'), body, headers: { ...github, 'x-github-delivery': long(5000) }, ...tooLong('x-github-delivery') },
    { ...at('github'), body, headers: { ...github, 'x-github-delivery': long(513) }, ...overLimit('webhookId', 512) },
    // The topic is the event and the body's action: an event over the limit is over it whatever the body.
    { ...at('github'), body, headers: { ...github, 'x-github-event': long(257) }, ...overLimit('topic', 256) },
    { ...SHOPIFY, body, headers: without(shopify, 'x-shopify-webhook-id'), ...missing('x-shopify-webhook-id') },
    { ...SHOPIFY, body, headers: without(shopify, 'x-shopify-shop-domain'), ...missing('x-shopify-shop-domain') },
    { ...SHOPIFY, body, headers: { ...shopify, 'x-shopify-webhook-id': long(600) }, ...overLimit('webhookId', 512) },
    { ...SHOPIFY, body, headers: { ...shopify, 'x-shopify-topic': long(257) }, ...overLimit('topic', 256) },
    { ...SHOPIFY, body, headers: { ...shopify, 'x-shopify-shop-domain': long(257) }, ...overLimit('account', 256) },
    standardLongId('webhook'),
    standardLongId('svix'),
    { ...at('honey'), body, headers: without(honey, 'x-honey-delivery-id'), ...missing('x-honey-delivery-id') },
    { ...at('honey'), body, headers: { ...honey, 'x-honey-delivery-id': long(513) }, ...overLimit('webhookId', 512) },
    { ...at('honey'), body, headers: { ...honey, 'x-honey-event-type': long(257) }, ...overLimit('topic', 256) },
    { ...at('apikey-ids'), body, headers: without(apikey, 'x-event-id'), ...missing('x-event-id') },
    { ...at('apikey-ids'), body, headers: { ...apikey, 'x-event-id': long(5000) }, ...tooLong('x-event-id') },
    { ...at('apikey-ids'), body, headers: { ...apikey, 'x-event-type': long(257) }, ...overLimit('topic', 256) },
  ];
}

/**
 * Requests missing both the credential (or presenting a wrong one) and the identity: the credential
 * is checked first, so these stay 401.
 */
export function credentialFirstCases(): IdentityHeadCase[] {
  const body = event();
  const unauthorized = (code: string, message: string) => ({ status: 401, code, message });
  return [
    {
      ...at('github'),
      body,
      headers: {},
      ...unauthorized('missing_signature', 'Required headers missing: x-hub-signature-256'),
    },
    {
      ...SHOPIFY,
      body,
      headers: {},
      ...unauthorized('missing_signature', 'Required headers missing: x-shopify-hmac-sha256'),
    },
    {
      ...at('honey'),
      body,
      headers: {},
      ...unauthorized('missing_signature', 'Required headers missing: x-honey-signature, x-honey-timestamp'),
    },
    {
      ...at('apikey-ids'),
      body,
      headers: { 'x-api-key': 'not-the-key-at-all' },
      ...unauthorized('invalid_credentials', 'API key in x-api-key is not accepted'),
    },
  ];
}
