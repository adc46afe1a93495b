import { wellFormed } from '../db/statements';

/**
 * The path and query string an event was received at, as stored with it (webhook_events
 * .request_target) so destination filters on `path` and `query` match in real deliveries.
 *
 * A query string may carry a credential (api-key sources read their key from one; senders put
 * tokens in URLs), and the stored row is shown in the ops API and UI. So the query is stored
 * without the parameters the source's own verification reads and without any whose name looks
 * like a credential, and both parts are cut at a bound: the row's size never depends on the sender.
 */

/** At most this many bytes of query string are kept (whole parameters only). */
export const MAX_STORED_QUERY_BYTES = 2048;
/** At most this many bytes of path are kept (cut, never an error: the request was verified). */
export const MAX_STORED_PATH_BYTES = 1024;

/**
 * Names that look like a credential: the same rule as delivery error redaction, as substrings
 * ("access_token", "x-api-key", "hub.signature", "sig", "auth", "password", "secret").
 */
const CREDENTIAL_NAME = /token|key|secret|signature|sig|passw|pwd|auth|credential|session|cookie|jwt/i;

export function isCredentialParam(name: string, verifiedWith: readonly string[] = []): boolean {
  return CREDENTIAL_NAME.test(name) || verifiedWith.includes(name);
}

/** Cuts a string to at most `max` UTF-8 bytes without splitting a character. */
function cutUtf8(text: string, max: number): string {
  if (Buffer.byteLength(text) <= max) return text;
  let out = '';
  let bytes = 0;
  for (const ch of text) {
    const size = Buffer.byteLength(ch);
    if (bytes + size > max) break;
    out += ch;
    bytes += size;
  }
  return out;
}

/**
 * `path?query` as stored: the query keeps its parameters in their order and encoding, minus the
 * credential ones, and as many whole parameters as fit in MAX_STORED_QUERY_BYTES.
 */
export function storedRequestTarget(path: string, query: string, verifiedWith: readonly string[] = []): string {
  const kept: string[] = [];
  let bytes = 0;
  if (query) {
    for (const part of query.split('&')) {
      if (!part) continue;
      const rawName = part.includes('=') ? part.slice(0, part.indexOf('=')) : part;
      let name: string;
      try {
        name = decodeURIComponent(rawName.replaceAll('+', ' '));
      } catch {
        continue; // a name that does not decode cannot be checked: left out
      }
      if (isCredentialParam(name, verifiedWith)) continue;
      const size = Buffer.byteLength(part) + (kept.length ? 1 : 0);
      if (bytes + size > MAX_STORED_QUERY_BYTES) break;
      kept.push(part);
      bytes += size;
    }
  }
  // A decoded "?" in the path stays encoded, so the first "?" of the stored text starts the query.
  const storedPath = cutUtf8(path, MAX_STORED_PATH_BYTES).replaceAll('?', '%3F');
  const target = kept.length ? `${storedPath}?${kept.join('&')}` : storedPath;
  // The path arrives percent-decoded: PostgreSQL text holds neither NUL nor a lone surrogate, and
  // one such row would fail the whole group-committed batch.
  return wellFormed(target.replaceAll('\u0000', '\uFFFD'));
}

/**
 * What a filter sees of a stored target: the path, and the query as name → value (the first value
 * of a repeated name, decoded). Undefined parts for events stored before migration 0018.
 */
export function parseRequestTarget(target: string | null | undefined): {
  path?: string;
  query?: Record<string, string>;
} {
  if (target === null || target === undefined) return {};
  const at = target.indexOf('?');
  const path = at < 0 ? target : target.slice(0, at);
  const query: Record<string, string> = {};
  if (at >= 0)
    for (const [name, value] of new URLSearchParams(target.slice(at + 1)))
      if (!Object.hasOwn(query, name)) Object.defineProperty(query, name, { value, enumerable: true });
  return { path, query };
}
