import { randomUUID } from 'node:crypto';
import { PROVIDER_SECRETS, nowSeconds, standardSignature, stripeHeader } from './provider-signers';

// Requests that the headers alone refuse, for every provider that signs the body, with the answer
// verify gives (test/hmac-head-signatures.test.ts sends them before the body and checks verify).

const STALE = () => nowSeconds() - 3600;
const HEX = 'ab'.repeat(32);
/** A JSON event with a fresh id, as Stripe and EasyPost need one. */
export const event = () =>
  Buffer.from(JSON.stringify({ id: `evt_${randomUUID()}`, type: 'test.event', description: 'x' }));
const stale = (header: string) =>
  new RegExp(`^Timestamp in ${header} is stale: \\d+ s old, beyond the 300 s tolerance`);

/** A refusal the head alone decides: where, with which headers, and the answer verify gives. */
export interface HeadCase {
  source: string;
  target: string;
  headers: Record<string, string>;
  code: string;
  message: string | RegExp;
}

/** A source and the path it is served at. */
export const at = (source: string, target = `/api/webhooks/${source}`) => ({ source, target });
export const SHOPIFY = at('shopify', '/api/webhooks/shopify/orders/create');

/** Every refusal, built fresh (timestamps are relative to now). */
export function headCases(): HeadCase[] {
  const body = event();
  const fresh = String(nowSeconds());
  const missing = (...names: string[]) => ({
    code: 'missing_signature',
    message: `Required headers missing: ${names.join(', ')}`,
  });
  const invalid = (message: string) => ({ code: 'invalid_signature', message });
  const ids = { 'x-github-delivery': randomUUID(), 'x-github-event': 'push' };
  return [
    // No signature header at all.
    { ...at('stripe'), headers: {}, ...missing('stripe-signature') },
    { ...at('github'), headers: ids, ...missing('x-hub-signature-256') },
    {
      ...SHOPIFY,
      headers: { 'x-shopify-webhook-id': 'w1', 'x-shopify-shop-domain': 'acme.myshopify.com' },
      ...missing('x-shopify-hmac-sha256'),
    },
    { ...at('easypost'), headers: {}, ...missing('x-hmac-signature') },
    { ...at('standard'), headers: { 'webhook-id': 'msg_1' }, ...missing('webhook-timestamp', 'webhook-signature') },
    { ...at('svix'), headers: {}, ...missing('webhook-id', 'webhook-timestamp', 'webhook-signature') },
    { ...at('honey'), headers: { 'x-honey-delivery-id': 'd1' }, ...missing('x-honey-signature', 'x-honey-timestamp') },
    {
      ...at('opsiq'),
      headers: { 'x-opsiq-signature': `sha256=${HEX}`, 'x-opsiq-timestamp': fresh },
      ...missing('x-opsiq-nonce'),
    },
    { ...at('plain'), headers: {}, ...missing('x-signature') },
    // Malformed or over-long signature headers.
    {
      ...at('stripe'),
      headers: { 'stripe-signature': `v1=${HEX}` },
      ...invalid('stripe-signature is malformed; expected t=<unix time>,v1=<hex>[,v1=<hex>…]'),
    },
    {
      ...at('stripe'),
      headers: { 'stripe-signature': `t=${fresh},v0=${HEX}` },
      ...invalid('No v1 signature in stripe-signature'),
    },
    {
      ...at('stripe'),
      headers: { 'stripe-signature': `t=${fresh},v1=xyz` },
      ...invalid('Signature in stripe-signature is not valid hex'),
    },
    {
      ...at('github'),
      headers: { ...ids, 'x-hub-signature-256': `sha1=${HEX}` },
      ...invalid('Signature in x-hub-signature-256 does not match the request body'),
    },
    {
      ...at('github'),
      headers: { ...ids, 'x-hub-signature-256': `sha256=${'a'.repeat(5000)}` },
      code: 'header_too_long',
      message: 'Headers longer than 4096 characters: x-hub-signature-256',
    },
    {
      ...SHOPIFY,
      headers: { 'x-shopify-hmac-sha256': 'not*base64' },
      ...invalid('Signature in x-shopify-hmac-sha256 is not valid base64'),
    },
    {
      ...at('easypost'),
      headers: { 'x-hmac-signature': 'hmac-sha256-hex=zz' },
      ...invalid('Signature in x-hmac-signature is not valid hex'),
    },
    {
      ...at('standard'),
      headers: { 'webhook-id': 'msg_2', 'webhook-timestamp': fresh, 'webhook-signature': 'v2,abcd' },
      ...invalid('No v1 or v1a signature in webhook-signature'),
    },
    {
      ...at('honey'),
      headers: { 'x-honey-signature': `md5=${HEX}`, 'x-honey-timestamp': fresh },
      ...invalid('Signature in x-honey-signature does not match the request body'),
    },
    { ...at('plain'), headers: { 'x-signature': '@@@@' }, ...invalid('Signature in x-signature is not valid base64') },
    // Timestamps outside the tolerance, with signatures that are otherwise right.
    {
      ...at('stripe'),
      headers: { 'stripe-signature': stripeHeader(PROVIDER_SECRETS.stripe, body, STALE()) },
      code: 'stale_timestamp',
      message: stale('stripe-signature'),
    },
    {
      ...at('stripe'),
      headers: { 'stripe-signature': `t=${nowSeconds() + 3600},v1=${HEX}` },
      code: 'future_timestamp',
      message: /^Timestamp in stripe-signature is in the future/,
    },
    {
      ...at('stripe'),
      headers: { 'stripe-signature': `t=soon,v1=${HEX}` },
      code: 'invalid_timestamp',
      message: 'Timestamp in stripe-signature must be a Unix time in seconds',
    },
    {
      ...at('standard'),
      headers: standardHeaders('webhook', body, STALE()),
      code: 'stale_timestamp',
      message: stale('webhook-timestamp'),
    },
    {
      ...at('svix'),
      headers: standardHeaders('svix', body, STALE()),
      code: 'stale_timestamp',
      message: stale('svix-timestamp'),
    },
    {
      ...at('honey'),
      headers: { 'x-honey-signature': `sha256=${HEX}`, 'x-honey-timestamp': String(STALE()) },
      code: 'stale_timestamp',
      message: stale('x-honey-timestamp'),
    },
  ];
}

/** A Standard Webhooks delivery's headers in either spelling, signed independently. */
export function standardHeaders(
  prefix: 'webhook' | 'svix',
  body: Buffer,
  timestamp = nowSeconds(),
  id = `msg_${randomUUID()}`,
): Record<string, string> {
  return {
    [`${prefix}-id`]: id,
    [`${prefix}-timestamp`]: String(timestamp),
    [`${prefix}-signature`]: standardSignature(PROVIDER_SECRETS.standard, id, timestamp, body),
  };
}
