import { z } from 'zod';
import { unauthorized } from '../src/errors';
import { assertHmac, contentDigest, credentialMatches, parseJsonObject, requireHeaders } from './signature';
import { defineProvider } from './types';

const BEARER = /^Bearer\s+(.+)$/i;
const SIGNATURE_HEADER = 'x-keycloak-signature';

/**
 * Keycloak event-listener webhooks: a shared bearer secret in `authorization`, or (the p2-inc
 * keycloak-events extension) `X-Keycloak-Signature: <hex HMAC-SHA256 of the body>` keyed with the
 * same secret. Every credential presented must verify. The payload's uid (or id) identifies the event.
 */
export const keycloak = defineProvider({
  name: 'keycloak',
  options: z.strictObject({}),
  create: () => ({
    name: 'keycloak',
    keptHeaders: ['content-type', 'user-agent'],

    verify(request, secrets) {
      const presented = (['authorization', SIGNATURE_HEADER] as const).filter((name) => request.headers[name]?.trim());
      // Bearer is what Keycloak's own listener sends, so that is the header asked for.
      if (presented.length === 0) throw unauthorized('missing_signature', 'Required headers missing: authorization');
      const values: Partial<Record<(typeof presented)[number], string>> = requireHeaders(
        request.headers,
        presented,
        'signature',
      );
      if (values.authorization !== undefined) {
        const token = BEARER.exec(values.authorization)?.[1]?.trim();
        if (!token || !credentialMatches(token, secrets)) {
          throw unauthorized('invalid_credentials', 'Bearer token in authorization is not accepted');
        }
      }
      if (values[SIGNATURE_HEADER] !== undefined) {
        assertHmac({
          header: SIGNATURE_HEADER,
          algorithm: 'sha256',
          encoding: 'hex',
          keys: secrets.map((secret) => Buffer.from(secret, 'utf8')),
          signed: request.rawBody,
          signatures: [values[SIGNATURE_HEADER]],
        });
      }
      return { signed: request.rawBody };
    },

    identify(request, verification) {
      const event = parseJsonObject(request.rawBody, 'Keycloak');
      const id = [event.uid, event.id].find((v) => typeof v === 'string' && v.length > 0) as string | undefined;
      return {
        webhookId: id ?? contentDigest(verification.signed),
        topic: keycloakTopic(event),
        account: keycloakRealm(event),
      };
    },
  }),
});

/** User events carry `type` (LOGIN…, optionally "access."-prefixed); admin events carry `operationType`. */
export function keycloakTopic(event: Record<string, unknown>): string {
  if (typeof event.operationType === 'string') return `admin.${event.operationType}`;
  if (typeof event.type === 'string' && event.type) return event.type.replace(/^access\./, '');
  return 'unknown';
}

/** The realm an event belongs to, wherever this Keycloak version puts it. */
export function keycloakRealm(event: Record<string, unknown>): string | undefined {
  const auth = (event.authDetails ?? {}) as Record<string, unknown>;
  const realm = event.realmName ?? event.realmId ?? auth.realmId;
  return typeof realm === 'string' ? realm : undefined;
}
