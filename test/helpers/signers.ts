import { createHmac } from 'node:crypto';

// Independent signers: each computes what the provider would send, from the provider's documented
// scheme, with node:crypto directly (never through the gateway's own verification code).

export const shopifySignature = (secret: string, body: string | Buffer) =>
  createHmac('sha256', secret).update(body).digest('base64');

export const easypostSignature = (secret: string, body: string | Buffer) =>
  `hmac-sha256-hex=${createHmac('sha256', Buffer.from(secret.normalize('NFKD'), 'utf8'))
    .update(body)
    .digest('hex')}`;

/** POSTs a body with headers and returns status and parsed JSON. */
export async function post(url: string, body: string | Buffer, headers: Record<string, string> = {}) {
  const response = await fetch(url, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', ...headers },
  });
  const text = await response.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, json, headers: response.headers, text };
}

/** Headers of a Shopify delivery. */
export function shopifyHeaders(
  secret: string,
  body: string | Buffer,
  id: string,
  shop = 'acme.myshopify.com',
  topic = 'orders/create',
) {
  return {
    'x-shopify-hmac-sha256': shopifySignature(secret, body),
    'x-shopify-webhook-id': id,
    'x-shopify-shop-domain': shop,
    'x-shopify-topic': topic,
  };
}
