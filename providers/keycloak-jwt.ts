import { createHash, timingSafeEqual } from 'node:crypto';
import { createRemoteJWKSet, customFetch, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { GatewayError, unauthorized } from '../src/errors';

/**
 * p2-inc/keycloak-events' bearer mode: `Authorization: Bearer <JWT>` minted per send by
 * WebhookJwtSigner, signed with the realm's active key (RS256 unless the webhook names another
 * algorithm), with `iss` the realm issuer, `aud` the webhook's configured audience, `iat`/`exp`
 * (300 s by default) and `request_body_sha256`, the hex SHA-256 of the exact body. The keys are the
 * realm's published JWKS (…/realms/<realm>/protocol/openid-connect/certs).
 */
export interface JwtOptions {
  jwksUrl: string;
  audience: string;
  issuer?: string;
}

/** Asymmetric algorithms only: a JWKS holds public keys, and an HMAC alg must never be accepted. */
const ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
];
/** Leeway for exp/iat between Keycloak's clock and ours. */
const CLOCK_TOLERANCE_SECONDS = 30;
/** A realm JWKS is a few keys with certificate chains, ~3-10 KiB; 256 KiB is far beyond any real one. */
const MAX_JWKS_BYTES = 256 * 1024;
const JWKS_TIMEOUT_MS = 5_000;
/** Keys are cached this long; an unknown `kid` (key rotation) refetches, at most once per cooldown. */
const JWKS_CACHE_MS = 10 * 60_000;
const JWKS_COOLDOWN_MS = 30_000;

export const BODY_HASH_CLAIM = 'request_body_sha256';

/** Verifies a p2 webhook JWT for one source; keys are fetched lazily, cached, and refetched on rotation. */
export function createJwtVerifier(options: JwtOptions): (token: string, body: Buffer) => Promise<void> {
  const remote = createRemoteJWKSet(new URL(options.jwksUrl), {
    timeoutDuration: JWKS_TIMEOUT_MS,
    cacheMaxAge: JWKS_CACHE_MS,
    cooldownDuration: JWKS_COOLDOWN_MS,
    [customFetch]: boundedFetch,
  });
  // A key that cannot be had (JWKS down, slow, too big, not a JWKS) is our problem, not the
  // sender's: 503 so Keycloak retries. A token naming a key the realm does not publish is 401.
  const keyFor: JWTVerifyGetKey = async (header, token) => {
    try {
      return await remote(header, token);
    } catch (err) {
      if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) throw err;
      throw new GatewayError(
        503,
        'jwks_unavailable',
        `The realm's JWKS at ${options.jwksUrl} could not be read; retry later`,
        {
          internal: false,
          cause: err,
          headers: { 'retry-after': '30' },
        },
      );
    }
  };

  return async (token, body) => {
    let claims;
    try {
      ({ payload: claims } = await jwtVerify(token, keyFor, {
        audience: options.audience,
        issuer: options.issuer,
        algorithms: ALGORITHMS,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ['exp', BODY_HASH_CLAIM],
      }));
    } catch (err) {
      if (err instanceof GatewayError) throw err;
      throw unauthorized('invalid_token', `Bearer token in authorization is not accepted: ${reason(err)}`);
    }
    const claimed = claims[BODY_HASH_CLAIM];
    const expected = createHash('sha256').update(body).digest();
    const presented =
      typeof claimed === 'string' && /^[0-9a-fA-F]{64}$/.test(claimed) ? Buffer.from(claimed, 'hex') : null;
    if (!presented || !timingSafeEqual(presented, expected)) {
      throw unauthorized('invalid_token', `Bearer token's ${BODY_HASH_CLAIM} does not match the request body`);
    }
  };
}

/** What was wrong with a token, from jose's error class; never the token itself. */
function reason(err: unknown): string {
  if (err instanceof errors.JWTExpired) return 'it has expired (exp)';
  if (err instanceof errors.JWTClaimValidationFailed)
    return `claim ${err.claim} is ${err.reason === 'missing' ? 'missing' : 'not accepted'}`;
  if (err instanceof errors.JWKSNoMatchingKey) return "no key of the realm's JWKS matches its kid/alg";
  if (err instanceof errors.JOSEAlgNotAllowed) return `its alg is not one of ${ALGORITHMS.join(', ')}`;
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'its signature does not verify';
  return 'it is not a valid signed JWT';
}

/**
 * fetch with a bounded body: jose reads the JWKS response with response.json(), which would buffer
 * whatever the server sends. The time limit is jose's signal, which also aborts this read.
 */
async function boundedFetch(url: string, init: RequestInit): Promise<Response> {
  const response = await fetch(url, init);
  if (response.status !== 200 || Number(response.headers.get('content-length') ?? 0) > MAX_JWKS_BYTES) {
    await response.body?.cancel().catch(() => {});
    throw new Error(response.status !== 200 ? `JWKS answered HTTP ${response.status}` : tooBig());
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  // Throwing inside for-await cancels the stream (the iterator's return()).
  for await (const chunk of response.body ?? []) {
    size += chunk.byteLength;
    if (size > MAX_JWKS_BYTES) throw new Error(tooBig());
    chunks.push(chunk);
  }
  return new Response(Buffer.concat(chunks), { status: 200, headers: response.headers });
}

const tooBig = () => `JWKS response is larger than ${MAX_JWKS_BYTES} bytes`;
