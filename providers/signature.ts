import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { badRequest, unauthorized } from '../src/errors';

export type HmacAlgorithm = 'sha1' | 'sha256' | 'sha512';
export type SignatureEncoding = 'hex' | 'base64';

const HEX = /^(?:[0-9a-fA-F]{2})+$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Decodes a presented signature strictly. Buffer.from() silently skips invalid characters, which
 * would let a malformed header decode to something shorter; here anything malformed is null.
 */
export function decodeSignature(text: string, encoding: SignatureEncoding): Buffer | null {
  const trimmed = text.trim();
  if (trimmed.length === 0) return null;
  const valid = encoding === 'hex' ? HEX.test(trimmed) : BASE64.test(trimmed);
  return valid ? Buffer.from(trimmed, encoding) : null;
}

/** HMAC of the exact signed bytes. */
export function computeHmac(algorithm: HmacAlgorithm, key: string | Buffer, signed: Buffer): Buffer {
  return createHmac(algorithm, key).update(signed).digest();
}

/** Constant-time equality; different lengths are unequal without touching the contents. */
export function constantTimeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The one HMAC check every provider uses: true when any presented signature equals the HMAC of
 * `signed` under any of the keys (several keys during secret rotation, several signatures when
 * the provider sends more than one).
 */
export function hmacMatches(options: {
  algorithm: HmacAlgorithm;
  keys: readonly (string | Buffer)[];
  signed: Buffer;
  presented: readonly Buffer[];
}): boolean {
  let matched = false;
  for (const key of options.keys) {
    const expected = computeHmac(options.algorithm, key, options.signed);
    // No early exit: every key is tried so timing does not reveal which one matched.
    for (const candidate of options.presented) matched = constantTimeEqual(expected, candidate) || matched;
  }
  return matched;
}

/**
 * Compares a presented credential (bearer token, API key, password) with the configured ones in
 * constant time. Both sides are hashed first so the comparison length never depends on the secret.
 */
export function credentialMatches(presented: string, accepted: readonly string[]): boolean {
  const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();
  const presentedDigest = digest(presented);
  let matched = false;
  for (const secret of accepted) matched = timingSafeEqual(presentedDigest, digest(secret)) || matched;
  return matched;
}

/** Reads required headers, failing with one message that lists every missing one. */
export function requireHeaders<K extends string>(
  headers: Readonly<Record<string, string>>,
  names: readonly K[],
  kind: 'signature' | 'identity',
): Record<K, string> {
  const missing = names.filter((name) => !headers[name]?.trim());
  if (missing.length > 0) {
    const message = `Required headers missing: ${missing.join(', ')}`;
    throw kind === 'signature' ? unauthorized('missing_signature', message) : badRequest('missing_header', message);
  }
  return Object.fromEntries(names.map((name) => [name, headers[name]!.trim()])) as Record<K, string>;
}

/** The standard 401 for a signature that does not verify under any configured secret. */
export const invalidSignature = (header: string) =>
  unauthorized('invalid_signature', `Signature in ${header} does not match the request body`);

/** Parses the raw body as a JSON object, for providers that carry the event id in the payload. */
export function parseJsonObject(rawBody: Buffer, provider: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(rawBody.toString('utf8'));
  } catch {
    throw badRequest('invalid_json', `${provider} payload must be a JSON object; the body is not valid JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw badRequest('invalid_json', `${provider} payload must be a JSON object`);
  }
  return value as Record<string, unknown>;
}

/** Stable dedupe key for providers that send no id: a retried delivery of the same bytes maps to it. */
export const contentDigest = (rawBody: Buffer) => `sha256:${createHash('sha256').update(rawBody).digest('hex')}`;
