import type { EventIdentity, Verification } from '../../providers';
import { wellFormed } from '../db/statements';
import { badRequest } from '../errors';

const LIMITS = { webhookId: 512, topic: 256, account: 256 } as const;

/**
 * Longest nonce accepted. Nonces are a primary-key column: a 4,000-character random one (still under the
 * 4 KiB header limit) overflows the btree's 2,704-byte row limit and fails the insert on every
 * retry. Real nonces are UUIDs or random tokens well under 100 characters.
 */
export const MAX_NONCE_CHARS = 400;

/**
 * The identity as it will be stored and deduplicated. Lone surrogates (a JSON id such as
 * "evt_\ud800") cannot be stored as UTF-8 and become U+FFFD on the way in; doing that here, once,
 * makes the dedupe key the value the unique index sees. Otherwise two ids differing only there are
 * distinct keys in memory and one row in the table, and a new event can be answered `duplicate`.
 */
export function normaliseIdentity(identity: EventIdentity): EventIdentity {
  return {
    webhookId: wellFormed(identity.webhookId),
    topic: wellFormed(identity.topic),
    ...(identity.account === undefined ? {} : { account: wellFormed(identity.account) }),
  };
}

/**
 * Ids and topics come from hostile headers and payloads. PostgreSQL text cannot hold NUL, and a
 * megabyte "id" has no business in a unique index: refuse both as the sender's mistake (400)
 * rather than letting the insert fail (which would read as a storage outage, 503). Also run before
 * the body on the fields the head decides (provider.identifyHead), where a field may be the start
 * of the stored value: too long there is too long once complete.
 */
export function checkIdentity(identity: Partial<EventIdentity>): void {
  for (const field of ['webhookId', 'topic', 'account'] as const) {
    const value = identity[field];
    if (value === undefined) continue;
    if (value.includes('\u0000')) throw badRequest('invalid_identity', `The event's ${field} contains a NUL character`);
    if (value.length > LIMITS[field]) {
      throw badRequest('invalid_identity', `The event's ${field} is longer than ${LIMITS[field]} characters`);
    }
  }
}

/** A signed nonce longer than MAX_NONCE_CHARS is refused before it reaches the index. */
export function checkNonce(nonce: Verification['nonce']): void {
  if (nonce && nonce.value.length > MAX_NONCE_CHARS) {
    throw badRequest(
      'invalid_nonce',
      `Nonce in ${nonce.header} is longer than ${MAX_NONCE_CHARS} characters; send a shorter random value`,
    );
  }
}
