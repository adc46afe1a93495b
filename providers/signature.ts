import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { badRequest, unauthorized } from '../src/errors';
import { decodeUtf8Reversibly } from '../src/json/escaped-utf8';
import { repeatedAmong, repeatedHeader } from './repeated-headers';

export type HmacAlgorithm = 'sha1' | 'sha256' | 'sha512';
export type SignatureEncoding = 'hex' | 'base64';
export type KeyEncoding = 'utf8' | SignatureEncoding;

const HEX = /^(?:[0-9a-fA-F]{2})+$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Longest header value the verifiers look at. Real signature headers are well under 1 KiB (Stripe
 * with three v1 entries is ~250 characters); anything longer is refused before any work is done.
 */
export const MAX_HEADER_CHARS = 4096;

/**
 * Decodes text strictly. Buffer.from() silently skips invalid characters, which would let a
 * malformed header decode to something shorter; here anything malformed is null.
 */
export function decodeStrict(text: string, encoding: SignatureEncoding): Buffer | null {
  const trimmed = text.trim();
  if (trimmed.length === 0) return null;
  const valid = encoding === 'hex' ? HEX.test(trimmed) : BASE64.test(trimmed);
  return valid ? Buffer.from(trimmed, encoding) : null;
}

/** An HMAC key from a configured secret: UTF-8 bytes as written, or strictly decoded hex/base64. */
export function decodeKey(secret: string, encoding: KeyEncoding): Buffer | null {
  return encoding === 'utf8' ? Buffer.from(secret, 'utf8') : decodeStrict(secret, encoding);
}

/** The exact bytes to sign: text parts as UTF-8, byte parts (the raw body) untouched. */
export const signedBytes = (...parts: readonly (string | Buffer)[]): Buffer =>
  Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part, 'utf8') : part)));

/** Constant-time equality; different lengths are unequal without touching the contents. */
function constantTimeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Strictly decodes the presented signatures (prefixes already removed), dropping any that are not
 * valid `encoding`. Reads only a header, so it runs before the body is read (verifyHead) as well as
 * in verify. Throws 401 when none is valid.
 */
export function decodeSignatures(header: string, encoding: SignatureEncoding, signatures: readonly string[]): Buffer[] {
  const presented = signatures.map((text) => decodeStrict(text, encoding)).filter((b) => b !== null);
  if (presented.length === 0) {
    throw unauthorized('invalid_signature', `Signature in ${header} is not valid ${encoding}`);
  }
  return presented;
}

/**
 * The one signature header of GitHub, EasyPost and Shopify: present, within MAX_HEADER_CHARS,
 * starting with `prefix` ("sha256=", or "" for none), the rest decoded strictly. Header-only.
 */
export function prefixedSignature(
  headers: Readonly<Record<string, string>>,
  spec: { header: string; prefix: string; encoding: SignatureEncoding },
): Buffer[] {
  const value = requireHeaders(headers, [spec.header], 'signature')[spec.header]!;
  if (!value.startsWith(spec.prefix)) throw invalidSignature(spec.header);
  return decodeSignatures(spec.header, spec.encoding, [value.slice(spec.prefix.length)]);
}

/**
 * The one HMAC check every provider uses: HMAC of the exact signed bytes under each key, compared
 * in constant time with each presented signature (several keys during secret rotation, several
 * signatures when the provider sends more than one). Throws 401 unless one matches.
 */
export function assertHmac(spec: {
  /** Header the signatures came from, for the error message. */
  header: string;
  algorithm: HmacAlgorithm;
  keys: readonly Buffer[];
  signed: Buffer;
  /** Presented signatures, decoded (decodeSignatures). */
  presented: readonly Buffer[];
}): void {
  if (!hmacMatches(spec)) throw invalidSignature(spec.header);
}

/** assertHmac's check, as a boolean: for schemes where an HMAC is one of several ways to pass. */
export function hmacMatches(spec: {
  algorithm: HmacAlgorithm;
  keys: readonly Buffer[];
  signed: Buffer;
  presented: readonly Buffer[];
}): boolean {
  let matched = false;
  for (const key of spec.keys) {
    const expected = createHmac(spec.algorithm, key).update(spec.signed).digest();
    // No early exit: every key is tried so timing does not reveal which one matched.
    for (const candidate of spec.presented) matched = constantTimeEqual(expected, candidate) || matched;
  }
  return matched;
}

/**
 * Compares a presented credential (bearer token, API key, password) with the configured ones in
 * constant time. Both sides are hashed first so the comparison length never depends on the secret.
 */
export function credentialMatches(presented: string | Buffer, accepted: readonly (string | Buffer)[]): boolean {
  const digest = (value: string | Buffer) => createHash('sha256').update(value).digest();
  const presentedDigest = digest(presented);
  let matched = false;
  for (const secret of accepted) matched = timingSafeEqual(presentedDigest, digest(secret)) || matched;
  return matched;
}

/**
 * HTTP Basic: the decoded `user:password` bytes presented, compared with each configured secret's
 * UTF-8 bytes and, for a secret written wholly in Latin-1 but not wholly in ASCII, its ISO-8859-1
 * bytes too. RFC 7617 leaves the charset to the client, and they differ: curl sends the bytes it is
 * given (UTF-8), while OkHttp's Credentials.basic defaults to ISO-8859-1 (square/okhttp
 * okhttp/src/main/kotlin/okhttp3/Credentials.kt), which is what vymalo/keycloak-webhook's generated
 * client calls. Either encoding of the same secret is the same credential.
 */
export function basicCredentialMatches(presented: Buffer, secrets: readonly string[]): boolean {
  const latin1 = secrets.filter((secret) => isLatin1NotAscii(secret)).map((secret) => Buffer.from(secret, 'latin1'));
  return credentialMatches(presented, [...secrets, ...latin1]);
}

/** True when every character fits one ISO-8859-1 byte and some are not ASCII (else both encodings agree or Latin-1 cannot say it). */
function isLatin1NotAscii(text: string): boolean {
  let nonAscii = false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0xff) return false;
    if (code > 0x7f) nonAscii = true;
  }
  return nonAscii;
}

/**
 * Replay window for schemes that sign a timestamp: rejects in both directions, with distinct
 * messages so an operator can tell a replayed or long-queued request from a skewed clock. Either
 * clock may be the skewed one: Stripe's and the Standard Webhooks senders are NTP-synced services,
 * so a future timestamp from them usually means this gateway's clock is behind (stripe-node itself
 * refuses only old timestamps, Webhooks.ts validateComputedSignature).
 */
export function checkTimestamp(
  text: string,
  spec: { header: string; toleranceSeconds: number; unit?: 's' | 'ms'; now?: number },
): void {
  const unit = spec.unit ?? 's';
  if (!/^\d{1,16}$/.test(text)) {
    const expected = unit === 's' ? 'Unix time in seconds' : 'Unix time in milliseconds';
    throw unauthorized('invalid_timestamp', `Timestamp in ${spec.header} must be a ${expected}`);
  }
  // Exact (fractional) age: rounding first would let a timestamp up to half a second past the
  // tolerance through, depending on where in the current second the request arrives.
  const age = ((spec.now ?? Date.now()) - Number(text) * (unit === 's' ? 1000 : 1)) / 1000;
  const shown = Math.ceil(Math.abs(age));
  if (age > spec.toleranceSeconds) {
    throw unauthorized(
      'stale_timestamp',
      `Timestamp in ${spec.header} is stale: ${shown} s old, beyond the ${spec.toleranceSeconds} s tolerance; send a freshly signed request, or check this gateway's clock`,
    );
  }
  if (-age > spec.toleranceSeconds) {
    throw unauthorized(
      'future_timestamp',
      `Timestamp in ${spec.header} is in the future: ${shown} s ahead, beyond the ${spec.toleranceSeconds} s tolerance; check the sender's clock and this gateway's`,
    );
  }
}

/** Reads required headers, failing with one message that lists every missing one. */
export function requireHeaders<K extends string>(
  headers: Readonly<Record<string, string>>,
  names: readonly K[],
  kind: 'signature' | 'identity',
): Record<K, string> {
  // Runs on every webhook: one plain object built in a loop. Object.fromEntries over mapped pairs
  // was ~1 % of the gateway's CPU in an end-to-end burst (--cpu-prof line ticks, 2026-12-04).
  const found = {} as Record<K, string>;
  const missing: K[] = [];
  const tooLong: K[] = [];
  for (const name of names) {
    const raw = headers[name];
    const value = raw?.trim();
    if (!value) missing.push(name);
    else if (raw!.length > MAX_HEADER_CHARS) tooLong.push(name);
    else found[name] = value;
  }
  const repeated = repeatedAmong(headers, names);
  if (missing.length === 0 && tooLong.length === 0 && repeated.length === 0) return found;
  const fail = (code: string, message: string) =>
    kind === 'signature' ? unauthorized(code, message) : badRequest(code, message);
  // A missing header is reported first: the sender's setup is wrong, whatever else is.
  if (missing.length > 0) {
    throw fail(
      kind === 'signature' ? 'missing_signature' : 'missing_header',
      `Required headers missing: ${missing.join(', ')}`,
    );
  }
  if (tooLong.length > 0) {
    throw fail('header_too_long', `Headers longer than ${MAX_HEADER_CHARS} characters: ${tooLong.join(', ')}`);
  }
  // Two signatures, or two ids, joined into one value: which one the sender meant is unknowable.
  throw repeatedHeader(kind, repeated);
}

/** The standard 401 for a signature that does not verify under any configured secret. */
export const invalidSignature = (header: string) =>
  unauthorized('invalid_signature', `Signature in ${header} does not match the request body`);

/** Parses the raw body as a JSON object, for providers that carry the event id in the payload. */
export function parseJsonObject(rawBody: Buffer, provider: string): Record<string, unknown> {
  const value = tryParseJson(rawBody);
  if (value === undefined) {
    throw badRequest('invalid_json', `${provider} payload must be a JSON object; the body is not valid JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw badRequest('invalid_json', `${provider} payload must be a JSON object`);
  }
  return value as Record<string, unknown>;
}

/**
 * The body as JSON, or undefined when it is not JSON (for ids, and optional lookups such as a
 * topic). Bytes that are not UTF-8 are escaped, not replaced (decodeUtf8Reversibly): Stripe ids
 * differing only in them are two events.
 */
export function tryParseJson(rawBody: Buffer): unknown {
  try {
    return JSON.parse(decodeUtf8Reversibly(rawBody));
  } catch {
    return undefined;
  }
}

/**
 * Shortest secret accepted, in bytes of key material: 16 bytes (128 bits). An HMAC secret can be
 * brute-forced offline from a single captured request, and a bearer, Basic or API-key secret
 * guessed online; 16 random bytes put both out of reach.
 */
export const MIN_SECRET_BYTES = 16;

/** The start-up complaint about a secret of `bytes` bytes, or undefined when it is long enough. */
export function secretLengthProblem(bytes: number, what = 'secret'): string | undefined {
  if (bytes >= MIN_SECRET_BYTES) return undefined;
  return (
    `${what} is shorter than ${MIN_SECRET_BYTES} bytes, short enough to be guessed; ` +
    'generate one with `openssl rand -hex 32` and set the same value at the sender'
  );
}

/** Secrets used as written: their UTF-8 bytes are the key or the credential. */
export const utf8SecretProblem = (secret: string) => secretLengthProblem(Buffer.byteLength(secret, 'utf8'));

/** Stable dedupe key for events that carry no id: a retried delivery of the same signed bytes maps to it. */
export const contentDigest = (signed: Buffer) => `sha256:${createHash('sha256').update(signed).digest('hex')}`;
