import { z } from 'zod';
import { BodyTooLargeError, readJsonLimited } from '../../http/bounded-body';
import { fetchWithRetry, type RetryPolicy } from './http-retry';

export interface ClientCredentials {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  audience?: string | null;
  scope?: string;
}

const tokenResponse = z.object({
  access_token: z.string().min(1),
  token_type: z.string().optional(),
  // Some identity providers send it as a string.
  expires_in: z.coerce.number().positive().optional(),
});

/** A token answer is a few KiB at most (a JWT access token included). */
const MAX_TOKEN_BODY_BYTES = 64 * 1024;

/** Used when the token endpoint does not say how long a token lives. */
const DEFAULT_LIFETIME_S = 300;

/** The token endpoint refused or failed; the message never contains the secret or a token. */
export class TokenError extends Error {
  override name = 'TokenError';
}

/**
 * An OAuth 2.0 client-credentials token (RFC 6749 §4.4), fetched when first needed and cached until
 * shortly before it expires. Concurrent callers share one request. `invalidate` drops a token the
 * API refused (revoked or expired early), so the next caller fetches a fresh one.
 */
export function createTokenCache(
  credentials: ClientCredentials,
  options: { retry: RetryPolicy; fetch?: typeof fetch; now?: () => number },
) {
  const doFetch = options.fetch ?? fetch;
  const now = options.now ?? Date.now;
  let cached: { token: string; refreshAt: number } | undefined;
  let pending: Promise<string> | undefined;

  async function request(signal: AbortSignal): Promise<string> {
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: credentials.clientId,
      client_secret: credentials.clientSecret,
    });
    if (credentials.audience) form.set('audience', credentials.audience);
    if (credentials.scope) form.set('scope', credentials.scope);
    const requestedAt = now();
    const response = await fetchWithRetry(
      (s) =>
        doFetch(credentials.tokenUrl, {
          method: 'POST',
          body: form,
          signal: s,
          headers: { accept: 'application/json', 'user-agent': 'webhook-gateway' },
        }),
      options.retry,
      signal,
      'token request',
    );
    if (!response.ok) {
      // An OAuth error body names the problem (invalid_client…); nothing else of it is repeated.
      const code = await readJsonLimited(response, MAX_TOKEN_BODY_BYTES, 'token endpoint')
        .then((body: unknown) => (body as { error?: unknown })?.error)
        .catch(() => undefined);
      const detail = typeof code === 'string' && /^[\w.-]{1,64}$/.test(code) ? ` (${code})` : '';
      throw new TokenError(
        `token endpoint answered HTTP ${response.status}${detail}: check client_id and client_secret`,
      );
    }
    const body = await readJsonLimited(response, MAX_TOKEN_BODY_BYTES, 'token endpoint').catch((err: unknown) => {
      if (err instanceof BodyTooLargeError) throw new TokenError(err.message);
      return undefined;
    });
    const parsed = tokenResponse.safeParse(body);
    if (!parsed.success) throw new TokenError('token endpoint answered without an access_token');
    const lifetimeMs = (parsed.data.expires_in ?? DEFAULT_LIFETIME_S) * 1000;
    // Refresh a little early (a tenth of the lifetime, at most a minute) so a token never expires
    // between being handed out and reaching the API.
    cached = {
      token: parsed.data.access_token,
      refreshAt: requestedAt + lifetimeMs - Math.min(60_000, lifetimeMs / 10),
    };
    return cached.token;
  }

  return {
    /** A valid bearer token, from the cache when it has one. */
    get(signal: AbortSignal): Promise<string> {
      if (cached && now() < cached.refreshAt) return Promise.resolve(cached.token);
      pending ??= request(signal).finally(() => {
        pending = undefined;
      });
      return pending;
    },

    /** Forgets `token` if it is the cached one (another caller may already have replaced it). */
    invalidate(token: string): void {
      if (cached?.token === token) cached = undefined;
    },
  };
}

export type TokenCache = ReturnType<typeof createTokenCache>;
