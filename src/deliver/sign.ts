import { createHmac } from 'node:crypto';

/**
 * Standard Webhooks signing of an outgoing delivery: `v1,<base64 HMAC-SHA256>` over
 * `<id>.<timestamp>.<body>`, keyed with the base64 part of a `whsec_…` secret. Any Standard
 * Webhooks library (standardwebhooks, svix) verifies it.
 */
export function standardWebhooksHeaders(
  secret: string,
  id: string,
  body: string,
  now = new Date(),
): Record<string, string> {
  const timestamp = String(Math.floor(now.getTime() / 1000));
  const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64');
  const signature = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`, 'utf8').digest('base64');
  return { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': `v1,${signature}` };
}

/**
 * The headers of a delivery: the destination's configured ones, then the gateway's own, which win.
 * Header names are case-insensitive, so a configured one the gateway also sets (`Content-Type`,
 * `User-Agent`) is left out: sent next to the gateway's, fetch would join the two values into one
 * (`application/json, application/json`), which receivers' body parsers and signature checks refuse.
 */
export function deliveryHeaders(
  configured: Readonly<Record<string, string>> | undefined,
  own: Record<string, string>,
): Record<string, string> {
  const taken = new Set(Object.keys(own).map((name) => name.toLowerCase()));
  const kept = Object.entries(configured ?? {}).filter(([name]) => !taken.has(name.toLowerCase()));
  return { ...Object.fromEntries(kept), ...own };
}
