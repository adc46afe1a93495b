/**
 * Headers shown in clear in the rejected-request log: what helps to tell a misconfigured sender
 * from a scanner (content type and length, the sender's product, the provider's event and
 * delivery ids) and nothing that authenticates. Any other header keeps its name and loses its value.
 */
const SHOWN = new Set([
  'accept',
  'accept-encoding',
  'content-encoding',
  'content-length',
  'content-type',
  'host',
  'user-agent',
  'webhook-id',
  'webhook-timestamp',
  'svix-id',
  'svix-timestamp',
  'x-github-delivery',
  'x-github-event',
  'x-github-hook-id',
  'x-shopify-topic',
  'x-shopify-shop-domain',
  'x-shopify-webhook-id',
  'x-shopify-event-id',
  'x-shopify-api-version',
  'x-easypost-event-id',
  'x-request-id',
]);

/** Headers that always lose their value, even if a future allow-list entry matched them. */
const NEVER = /authorization|cookie|signature|secret|token|key|hmac|password|credential/i;

export const REDACTED = '[redacted]';
const MAX_HEADERS = 40;
const MAX_VALUE = 200;

/**
 * The recorded form of a request's headers: allow-listed names in clear (cut to 200 characters),
 * every other value replaced by "[redacted]", at most 40 headers (the rest are counted under
 * `…`), so a hostile request cannot make its row large.
 */
export function redactHeaders(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  let kept = 0;
  let left = 0;
  headers.forEach((value, name) => {
    if (kept >= MAX_HEADERS) {
      left += 1;
      return;
    }
    kept += 1;
    const shown = SHOWN.has(name) && !NEVER.test(name);
    out[name.slice(0, MAX_VALUE)] = shown ? value.slice(0, MAX_VALUE) : REDACTED;
  });
  if (left > 0) out['…'] = `${left} more headers not recorded`;
  return out;
}
