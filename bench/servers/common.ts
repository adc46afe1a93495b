// What the two baseline servers share: the same Hono + @hono/node-server stack as the gateway and
// the same Shopify check (HMAC-SHA256 of the raw body, base64, constant-time comparison), so the
// only difference between them and the gateway is what happens after verification.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { serve } from '@hono/node-server';
import { Hono, type Context } from 'hono';

export interface VerifiedWebhook {
  webhookId: string;
  shop: string;
  topic: string;
  body: Buffer;
  contentType: string;
}

/** True when `signature` is the base64 HMAC-SHA256 of `body` under `secret`. */
export function shopifySignatureValid(secret: string, body: Buffer, signature: string | undefined): boolean {
  if (!signature) return false;
  const presented = Buffer.from(signature, 'base64');
  const expected = createHmac('sha256', secret).update(body).digest();
  return presented.length === expected.length && timingSafeEqual(presented, expected);
}

/**
 * Serves POST /api/webhooks/shopify/* on PORT: reads the raw body, verifies it, then hands the
 * webhook to `accept` for the answer. Prints "ready" when listening.
 */
export function serveShopify(accept: (c: Context, webhook: VerifiedWebhook) => Promise<Response> | Response): void {
  const secret = process.env.SHOPIFY_WEBHOOK_SECRET ?? '';
  const app = new Hono();
  app.get('/healthz', (c) => c.text('ok'));
  app.post('/api/webhooks/shopify/*', async (c) => {
    const body = Buffer.from(await c.req.arrayBuffer());
    if (!shopifySignatureValid(secret, body, c.req.header('x-shopify-hmac-sha256'))) {
      return c.json({ error: { code: 'invalid_signature', message: 'Signature does not verify' } }, 401);
    }
    const webhookId = c.req.header('x-shopify-webhook-id');
    const shop = c.req.header('x-shopify-shop-domain');
    if (!webhookId || !shop)
      return c.json({ error: { code: 'missing_header', message: 'Required headers missing' } }, 400);
    return accept(c, {
      webhookId,
      shop,
      topic: c.req.header('x-shopify-topic') ?? 'unknown',
      body,
      contentType: c.req.header('content-type') ?? '',
    });
  });
  const port = Number(process.env.PORT ?? 3000);
  serve({ fetch: app.fetch, port, hostname: '127.0.0.1' }, () => process.stdout.write('ready\n'));
  process.on('SIGTERM', () => process.exit(0));
}
