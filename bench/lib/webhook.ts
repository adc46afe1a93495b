import { createHmac } from 'node:crypto';

export const SHOPIFY_SECRET = 'bench-shopify-secret';
export const SHOP = 'bench.myshopify.com';
export const INGEST_PATH = '/api/webhooks/shopify/orders/create';
export const ID_HEADER = 'x-shopify-webhook-id';

/** A Shopify-like orders/create payload of about 1.5 KB. */
export function orderBody(targetBytes = 1536): string {
  const order = {
    id: 820982911946154500,
    email: 'jon@example.com',
    created_at: '2026-11-23T10:15:00-05:00',
    currency: 'USD',
    total_price: '199.00',
    line_items: [] as object[],
  };
  for (let i = 0; JSON.stringify(order).length < targetBytes - 120; i++) {
    order.line_items.push({
      id: 466157049 + i,
      sku: `SKU-${1000 + i}`,
      quantity: 1 + (i % 3),
      price: '19.99',
      title: 'IPod Nano - 8gb',
    });
  }
  return JSON.stringify(order);
}

/** The headers Shopify sends, signed once: the signature covers only the body, so one body serves every request. */
export function shopifyHeaders(body: string): Record<string, string> {
  return {
    'content-type': 'application/json',
    'x-shopify-hmac-sha256': createHmac('sha256', SHOPIFY_SECRET).update(body).digest('base64'),
    'x-shopify-shop-domain': SHOP,
    'x-shopify-topic': 'orders/create',
  };
}
