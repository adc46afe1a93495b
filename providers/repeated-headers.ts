import { badRequest, unauthorized, type GatewayError } from '../src/errors';

/**
 * Which headers of a request were sent more than once. The header record providers read joins a
 * repeated header's values with ", " (as Fetch does), which cannot be told from one value holding
 * ", ": ingest marks the names it saw repeated on Node's raw header list here, keyed by the record
 * itself, so the readers of signature and identity headers (requireHeaders) can refuse them
 * without every provider's head growing a field. Before this, two X-Shopify-Webhook-Id headers
 * were stored as one event with the id "a, b" — neither of the ids the sender meant.
 */
const repeatedByRecord = new WeakMap<object, ReadonlySet<string>>();

/** Records that the lower-case `names` were sent more than once in the request `headers` was read from. */
export function markRepeatedHeaders(headers: object, names: ReadonlySet<string>): void {
  if (names.size > 0) repeatedByRecord.set(headers, names);
}

/** The ones among `names` sent more than once (none when nothing was marked). */
export function repeatedAmong<K extends string>(headers: object, names: readonly K[]): K[] {
  const repeated = repeatedByRecord.get(headers);
  return repeated ? names.filter((name) => repeated.has(name)) : [];
}

/**
 * For an optional header that is part of the dedupe key (GitHub's X-GitHub-Hook-ID, Shopify's
 * X-Shopify-Event-Id): 400 `repeated_header` when it was sent more than once, as requireHeaders
 * answers for a required one.
 */
export function refuseRepeatedIdentity(headers: object, names: readonly string[]): void {
  const repeated = repeatedAmong(headers, names);
  if (repeated.length > 0) throw repeatedHeader('identity', repeated);
}

/** The answer to repeated signature (401, the code a bad signature has) or identity headers (400). */
export function repeatedHeader(kind: 'signature' | 'identity', names: readonly string[]): GatewayError {
  const message = `Headers sent more than once: ${names.join(', ')}; send each exactly once`;
  return kind === 'signature' ? unauthorized('invalid_signature', message) : badRequest('repeated_header', message);
}
