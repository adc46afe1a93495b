import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { decodeStrict } from './signature';

/** An ed25519 public key is 32 bytes, a signature 64 (RFC 8032). */
export const ED25519_PUBLIC_KEY_BYTES = 32;
export const ED25519_SIGNATURE_BYTES = 64;

// Public keys built from configured secrets, by their text: creating a KeyObject costs ~10 µs and
// the same few keys verify every request. Bounded, as sources and secrets can change at runtime.
const keys = new Map<string, KeyObject>();
const MAX_CACHED_KEYS = 256;

/**
 * The ed25519 public key of a Standard Webhooks `whpk_<base64 of 32 bytes>` secret, or null when the
 * secret is not one (or malformed).
 */
export function whpkPublicKey(secret: string): KeyObject | null {
  const cached = keys.get(secret);
  if (cached) return cached;
  if (!secret.startsWith('whpk_')) return null;
  const raw = decodeStrict(secret.slice('whpk_'.length), 'base64');
  if (raw?.length !== ED25519_PUBLIC_KEY_BYTES) return null;
  const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
  if (keys.size >= MAX_CACHED_KEYS) keys.clear();
  keys.set(secret, key);
  return key;
}

/**
 * True when one of the presented signatures is a valid ed25519 signature of `signed` under one of
 * the keys. Every pair is tried: the keys are public, but the loop's time then says nothing either.
 */
export function ed25519Matches(
  publicKeys: readonly KeyObject[],
  signed: Buffer,
  presented: readonly Buffer[],
): boolean {
  let matched = false;
  for (const key of publicKeys) {
    for (const signature of presented) {
      if (signature.length === ED25519_SIGNATURE_BYTES) matched = verify(null, signed, key, signature) || matched;
    }
  }
  return matched;
}
