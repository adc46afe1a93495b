import type { Context } from 'hono';
import type { EventIdentity, Verification } from '../../providers';
import { describeDatabaseError, isDataError } from '../db/errors';
import { badRequest, databaseUnavailable, unauthorized, type GatewayError } from '../errors';
import { shown } from '../ops/source-mask';
import type { InsertResult } from '../store/events';
import type { IngestDeps } from './routes';
import type { PushSource } from './sources';

/** The sender's error for an insert that failed or did not commit within the write timeout. */
export function insertFailure(err: unknown): GatewayError {
  // A value the database refuses fails the same way on every retry: the sender's 400, not a 503.
  if (isDataError(err)) {
    return badRequest(
      'unstorable_event',
      `The database refused a value of this event (${describeDatabaseError(err)}); it cannot be stored as sent`,
    );
  }
  return databaseUnavailable(err);
}

/**
 * The answer once the insert has committed: accepted (and the worker woken unless the event was
 * handed off to it), a conflicting copy, or a duplicate, all 200; a replayed nonce is refused (401).
 */
export function answerInsert(
  c: Context,
  deps: Pick<IngestDeps, 'logger' | 'onAccepted'>,
  source: PushSource,
  identity: EventIdentity,
  verification: Verification,
  result: InsertResult,
): Response {
  // Logs carry the identity only when it was not read from a masked payload path ("[masked]").
  const logged = source.logMask;
  const webhookId = shown(identity.webhookId, logged?.webhookId ?? false);
  if (result.status === 'replayed') {
    deps.logger.warn({ source: source.name, webhookId }, 'replayed nonce refused');
    throw unauthorized(
      'nonce_replayed',
      `Nonce in ${verification.nonce!.header} was already used; every delivery needs a fresh nonce`,
    );
  }
  if (result.status === 'accepted') {
    deps.logger.debug(
      { source: source.name, topic: shown(identity.topic, logged?.topic ?? false), eventId: result.id },
      'event accepted',
    );
    if (!result.claimed) deps.onAccepted?.(result.id);
    c.set('ingestOutcome', 'accepted');
    c.set('eventId', result.id);
    return c.json({ status: 'accepted', id: result.id });
  }
  if (result.status === 'conflict') {
    // Same key, other bytes: stored as a conflict of the original, so a 200 the sender must not
    // retry. Logged at warn: the sender reuses ids for different content, an operator should know.
    deps.logger.warn({ source: source.name, webhookId, eventId: result.eventId }, 'conflicting copy stored');
    c.set('ingestOutcome', 'conflict');
    return c.json({ status: 'conflict', event_id: result.eventId });
  }
  deps.logger.debug({ source: source.name, webhookId }, 'duplicate acknowledged');
  c.set('ingestOutcome', 'duplicate');
  return c.json({ status: 'duplicate' });
}
