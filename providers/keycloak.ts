import { z } from 'zod';
import { unauthorized } from '../src/errors';
import { keycloakTopic, readKeycloakEvent } from './keycloak-event';
import { assertHmac, contentDigest, credentialMatches, decodeStrict, parseJsonObject, requireHeaders } from './signature';
import { defineProvider, type InboundRequest } from './types';

const BEARER = /^Bearer\s+(.+)$/i;
const BASIC = /^Basic\s+(\S+)$/i;
const SIGNATURE_HEADER = 'x-keycloak-signature';

const options = z.strictObject({
  /** HMAC of X-Keycloak-Signature: p2's hmacAlgorithm HmacSHA256 (its default), HmacSHA1 or HmacSHA512. */
  algorithm: z.enum(['sha1', 'sha256', 'sha512']).default('sha256'),
});

/**
 * Keycloak event-listener webhooks, whichever extension sends them:
 * - `X-Keycloak-Signature: <hex HMAC of the body>` (p2-inc keycloak-events, HmacSHA256 or HmacSHA1);
 * - `Authorization: Bearer <secret>` (a shared bearer secret);
 * - `Authorization: Basic <user:password>` (vymalo/keycloak-webhook).
 * Every credential presented must verify. The payload's uid (p2, per delivery) or id (Keycloak's
 * event id) identifies the event; the topic is the event type (see keycloak-event.ts).
 */
export const keycloak = defineProvider({
  name: 'keycloak',
  options,
  // vymalo's generated client posts to WEBHOOK_HTTP_BASE_PATH plus "/" (OkHttp's
  // addPathSegments("") adds an empty segment), so /api/webhooks/<name>/ must be served too.
  subPaths: true,
  create: (o) => {
    return {
      name: 'keycloak',
      keptHeaders: ['content-type', 'user-agent'],

      async verify(request, secrets) {
        const presented = (['authorization', SIGNATURE_HEADER] as const).filter((name) => request.headers[name]?.trim());
        // Bearer is what Keycloak's listeners send most, so that is the header asked for.
        if (presented.length === 0) throw unauthorized('missing_signature', 'Required headers missing: authorization');
        const values: Partial<Record<(typeof presented)[number], string>> = requireHeaders(request.headers, presented, 'signature');
        if (values.authorization !== undefined) await checkAuthorization(values.authorization, request, secrets);
        if (values[SIGNATURE_HEADER] !== undefined) {
          assertHmac({
            header: SIGNATURE_HEADER,
            algorithm: o.algorithm,
            encoding: 'hex',
            keys: secrets.map((secret) => Buffer.from(secret, 'utf8')),
            signed: request.rawBody,
            signatures: [values[SIGNATURE_HEADER]],
          });
        }
        return { signed: request.rawBody };
      },

      identify(request, verification) {
        const event = readKeycloakEvent(parseJsonObject(request.rawBody, 'Keycloak'));
        return {
          webhookId: event.deliveryId ?? contentDigest(verification.signed),
          topic: keycloakTopic(event),
          account: event.realm,
        };
      },
    };
  },
});

async function checkAuthorization(
  header: string,
  request: InboundRequest,
  secrets: readonly string[],
): Promise<void> {
  const basic = BASIC.exec(header)?.[1];
  if (basic !== undefined) {
    const credential = decodeStrict(basic, 'base64');
    // Raw bytes as sent, compared with "user:password" secrets.
    if (!credential || !credentialMatches(credential, secrets)) {
      throw unauthorized('invalid_credentials', 'Basic credentials in authorization are not accepted');
    }
    return;
  }
  const token = BEARER.exec(header)?.[1]?.trim();
  if (!token) throw unauthorized('invalid_credentials', 'authorization must be Bearer or Basic');
  if (!credentialMatches(token, secrets)) throw unauthorized('invalid_credentials', 'Bearer token in authorization is not accepted');
}
