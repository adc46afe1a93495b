import type { EventIdentity } from '../../providers';
import { badRequest } from '../errors';

const LIMITS = { webhookId: 512, topic: 256, account: 256 } as const;

/**
 * Ids and topics come from hostile headers and payloads. PostgreSQL text cannot hold NUL, and a
 * megabyte "id" has no business in a unique index: refuse both as the sender's mistake (400)
 * rather than letting the insert fail (which would read as a storage outage, 503).
 */
export function checkIdentity(identity: EventIdentity): void {
  for (const field of ['webhookId', 'topic', 'account'] as const) {
    const value = identity[field];
    if (value === undefined) continue;
    if (value.includes('\u0000')) throw badRequest('invalid_identity', `The event's ${field} contains a NUL character`);
    if (value.length > LIMITS[field]) {
      throw badRequest('invalid_identity', `The event's ${field} is longer than ${LIMITS[field]} characters`);
    }
  }
}
