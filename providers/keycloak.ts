import { z } from 'zod';
import { unauthorized } from '../src/errors';
import { keycloakTopic, readKeycloakEvent } from './keycloak-event';
import { createJwtVerifier } from './keycloak-jwt';
import {
  assertHmac,
  basicCredentialMatches,
  contentDigest,
  credentialMatches,
  decodeSignatures,
  decodeStrict,
  parseJsonObject,
  requireHeaders,
  utf8SecretProblem,
} from './signature';
import { defineProvider } from './types';

const BEARER = /^Bearer\s+(.+)$/i;
const BASIC = /^Basic\s+(\S+)$/i;
const SIGNATURE_HEADER = 'x-keycloak-signature';

const httpUrl = z
  .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
  .refine((url) => !new URL(url).username && !new URL(url).password, 'must not contain credentials');

const options = z
  .strictObject({
    /** HMAC of X-Keycloak-Signature: p2's hmacAlgorithm HmacSHA256 (its default), HmacSHA1 or HmacSHA512. */
    algorithm: z.enum(['sha1', 'sha256', 'sha512']).default('sha256'),
    /** p2 bearer mode: the realm's JWKS (…/realms/<realm>/protocol/openid-connect/certs). */
    jwks_url: httpUrl.optional(),
    /** p2 bearer mode: the webhook's `audience`; the token's aud must contain it. */
    audience: z.string().min(1).optional(),
    /** p2 bearer mode, optional: the realm issuer the token's iss must equal. */
    issuer: z.string().min(1).optional(),
  })
  .superRefine((o, ctx) => {
    if (o.jwks_url && !o.audience)
      ctx.addIssue({ code: 'custom', path: ['audience'], message: 'required with jwks_url' });
    for (const key of ['audience', 'issuer'] as const) {
      if (o[key] && !o.jwks_url) ctx.addIssue({ code: 'custom', path: [key], message: 'only applies with jwks_url' });
    }
  });

/**
 * Keycloak event-listener webhooks, whichever extension sends them:
 * - `X-Keycloak-Signature: <hex HMAC of the body>` (p2-inc keycloak-events, HmacSHA256 or HmacSHA1);
 * - `Authorization: Bearer <JWT>` signed by the realm (p2's bearer mode; needs jwks_url);
 * - `Authorization: Bearer <secret>` (a shared bearer secret, when jwks_url is not set);
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
  secretsOptional: (o) => o.jwks_url !== undefined,
  // Every extension takes a secret its operator chose (p2's webhook secret, vymalo's password).
  checkSecret: utf8SecretProblem,
  create: (o) => {
    const verifyJwt = o.jwks_url
      ? createJwtVerifier({ jwksUrl: o.jwks_url, audience: o.audience!, issuer: o.issuer })
      : undefined;
    return {
      name: 'keycloak',
      keptHeaders: ['content-type', 'user-agent'],
      // As readKeycloakEvent reads them (providers/keycloak-event.ts).
      identityPaths: {
        webhookId: [['uid'], ['id']],
        topic: [['type'], ['operationType'], ['resourceType']],
        account: [['realmName'], ['realmId'], ['authDetails', 'realmId']],
      },
      verifiesWithoutSecrets: verifyJwt !== undefined,

      // Basic and a bearer secret are wholly in the headers: checked before the body is read, so a
      // sender without them never has its body buffered. A JWT (bound to the body's hash) and the
      // HMAC wait for the body; verify checks everything presented, the header credential first.
      verifyHead(request, secrets) {
        const { authorization } = presentedCredentials(request.headers);
        if (authorization !== undefined) checkAuthorization(authorization, secrets, verifyJwt !== undefined);
      },

      async verify(request, secrets) {
        const presented = presentedCredentials(request.headers);
        if (presented.authorization !== undefined) {
          const jwt = checkAuthorization(presented.authorization, secrets, verifyJwt !== undefined);
          if (jwt !== undefined) await verifyJwt!(jwt, request.rawBody);
        }
        if (presented.signature !== undefined) {
          assertHmac({
            header: SIGNATURE_HEADER,
            algorithm: o.algorithm,
            keys: secrets.map((secret) => Buffer.from(secret, 'utf8')),
            signed: request.rawBody,
            presented: decodeSignatures(SIGNATURE_HEADER, 'hex', [presented.signature]),
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

/**
 * The credentials a request presents (Authorization, X-Keycloak-Signature): at least one, each
 * within the header length bound. Throws 401 as requireHeaders does.
 */
function presentedCredentials(headers: Readonly<Record<string, string>>): {
  authorization?: string;
  signature?: string;
} {
  const presented = (['authorization', SIGNATURE_HEADER] as const).filter((name) => headers[name]?.trim());
  // Bearer is what Keycloak's listeners send most, so that is the header asked for.
  if (presented.length === 0) throw unauthorized('missing_signature', 'Required headers missing: authorization');
  const values: Partial<Record<(typeof presented)[number], string>> = requireHeaders(headers, presented, 'signature');
  return { authorization: values.authorization, signature: values[SIGNATURE_HEADER] };
}

/**
 * Checks what Authorization alone can prove: Basic and a bearer secret are compared with the
 * secrets here. With `jwt` (jwks_url set), a bearer token is a JWT bound to the body's hash and is
 * returned for verification once the body is read; otherwise nothing is returned.
 */
function checkAuthorization(header: string, secrets: readonly string[], jwt: boolean): string | undefined {
  const basic = BASIC.exec(header)?.[1];
  if (basic !== undefined) {
    const credential = decodeStrict(basic, 'base64');
    // Raw bytes as sent, compared with "user:password" secrets in UTF-8 or (OkHttp's) ISO-8859-1.
    if (!credential || !basicCredentialMatches(credential, secrets)) {
      throw unauthorized('invalid_credentials', 'Basic credentials in authorization are not accepted');
    }
    return undefined;
  }
  const token = BEARER.exec(header)?.[1]?.trim();
  if (!token) throw unauthorized('invalid_credentials', 'authorization must be Bearer or Basic');
  if (jwt) return token;
  if (!credentialMatches(token, secrets))
    throw unauthorized('invalid_credentials', 'Bearer token in authorization is not accepted');
  return undefined;
}
