import { unauthorized } from '../src/errors';
import { contentDigest, credentialMatches, parseJsonObject, requireHeaders } from './signature';
import type { PushProvider } from './types';

const BEARER = /^Bearer\s+(.+)$/i;

/** Keycloak event-listener webhooks: a shared bearer secret; the payload's uid (or id) identifies the event. */
export const keycloak: PushProvider = {
  name: 'keycloak',
  keptHeaders: ['content-type', 'user-agent'],

  verify(request, secrets) {
    const { authorization } = requireHeaders(request.headers, ['authorization'], 'signature');
    const token = BEARER.exec(authorization)?.[1]?.trim();
    if (!token || !credentialMatches(token, secrets)) {
      throw unauthorized('invalid_credentials', 'Bearer token in authorization is not accepted');
    }
  },

  identify(request) {
    const event = parseJsonObject(request.rawBody, 'Keycloak');
    const id = [event.uid, event.id].find((v) => typeof v === 'string' && v.length > 0) as string | undefined;
    const realm = keycloakRealm(event);
    return {
      webhookId: id ?? contentDigest(request.rawBody),
      topic: keycloakTopic(event),
      account: realm,
    };
  },
};

/** User events carry `type` (LOGIN…, optionally "access."-prefixed); admin events carry `operationType`. */
export function keycloakTopic(event: Record<string, unknown>): string {
  if (typeof event.operationType === 'string') return `admin.${event.operationType}`;
  if (typeof event.type === 'string' && event.type) return event.type.replace(/^access\./, '');
  return 'unknown';
}

export function keycloakRealm(event: Record<string, unknown>): string | undefined {
  const auth = (event.authDetails ?? {}) as Record<string, unknown>;
  const realm = event.realmName ?? event.realmId ?? auth.realmId;
  return typeof realm === 'string' ? realm : undefined;
}
