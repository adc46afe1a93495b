import type { MiddlewareHandler } from 'hono';
import { credentialMatches } from '../../providers/signature';
import type { ApiTokenRow, Role } from '../db/schema-access';
import { GatewayError, forbidden, unauthorized } from '../errors';
import { TOKEN_PATTERN, hashToken, type TokenStore } from '../store/tokens';
import { createTokenCache } from './token-cache';

export type { Role } from '../db/schema-access';

/** Who is calling: set on the context by requireRole, read by the audit log. */
export interface Identity {
  /** The token's name; `bootstrap` for OPS_API_TOKEN, `metrics` for METRICS_TOKEN. */
  tokenName: string;
  role: Role;
}

declare module 'hono' {
  interface ContextVariableMap {
    identity: Identity;
    authenticator: Authenticator;
  }
}

export type AuthResult =
  { ok: true; identity: Identity; tokenId?: number } | { ok: false; code: 'invalid_token' | 'token_expired' };

export interface Authenticator {
  authenticate(presented: string): Promise<AuthResult>;
}

export const BOOTSTRAP_ACTOR = 'bootstrap';

/** Which roles a route's required role admits: admin ⊃ operator ⊃ viewer ⊃ metrics. */
const ADMITS: Record<Role, readonly Role[]> = {
  metrics: ['metrics', 'viewer', 'operator', 'admin'],
  viewer: ['viewer', 'operator', 'admin'],
  operator: ['operator', 'admin'],
  admin: ['admin'],
};
export const roleAllows = (required: Role, actual: Role) => ADMITS[required].includes(actual);

/**
 * Resolves a bearer token to an identity. OPS_API_TOKEN values are bootstrap admins and
 * METRICS_TOKEN values may read /metrics only, both compared in constant time. Database tokens are
 * found by their SHA-256 (a unique index: timing reveals nothing about a hash of 256 random bits);
 * only strings shaped like our tokens are looked up, so junk never reaches the database. Answers are
 * cached for at most `cacheMs` (1 s), so a revocation is effective within a second on every instance.
 */
export function createAuthenticator(deps: {
  bootstrapTokens: readonly string[];
  metricsTokens?: readonly string[];
  tokens?: TokenStore;
  cacheMs?: number;
  onError?: (err: unknown) => void;
}): Authenticator {
  const cache = createTokenCache<ApiTokenRow | null>(deps.cacheMs ?? 1000);
  const touched = new Map<number, number>();

  const touch = (row: ApiTokenRow) => {
    const last = touched.get(row.id) ?? 0;
    if (Date.now() - last < 60_000) return;
    if (touched.size > 10_000) touched.clear();
    touched.set(row.id, Date.now());
    deps.tokens!.touch(row.id).catch((err) => deps.onError?.(err));
  };

  return {
    async authenticate(presented) {
      if (deps.bootstrapTokens.length > 0 && credentialMatches(presented, deps.bootstrapTokens)) {
        return { ok: true, identity: { tokenName: BOOTSTRAP_ACTOR, role: 'admin' } };
      }
      if (deps.metricsTokens?.length && credentialMatches(presented, deps.metricsTokens)) {
        return { ok: true, identity: { tokenName: 'metrics', role: 'metrics' } };
      }
      if (!deps.tokens || !TOKEN_PATTERN.test(presented)) return { ok: false, code: 'invalid_token' };
      const hash = hashToken(presented);
      const row = await cache.get(hash, async () => (await deps.tokens!.byHash(hash)) ?? null);
      if (!row || row.revokedAt) return { ok: false, code: 'invalid_token' };
      if (row.expiresAt && row.expiresAt.getTime() <= Date.now()) return { ok: false, code: 'token_expired' };
      touch(row);
      return { ok: true, identity: { tokenName: row.name, role: row.role }, tokenId: row.id };
    },
  };
}

/** Installs the authenticator for every route below it (once, on the whole app). */
export function provideAuthenticator(authenticator: Authenticator): MiddlewareHandler {
  return async (c, next) => {
    c.set('authenticator', authenticator);
    await next();
  };
}

const BEARER = /^Bearer\s+(.+)$/i;

/**
 * The ops API's gate: `Authorization: Bearer <token>` with a token whose role admits `role`, else
 * 401 (no, unknown, revoked or expired token) or 403 (a valid token with too small a role). Sets
 * the caller's identity on the context (`c.get('identity')`) for the audit log.
 */
/**
 * `queryToken`: the live stream also takes the token as `?token=`, since a browser's EventSource
 * and WebSocket cannot set headers. The header wins when both are sent. Request paths are logged
 * without the query string, so the token is never written to a log.
 */
export function requireRole(role: Role, options: { queryToken?: boolean } = {}): MiddlewareHandler {
  const what =
    role === 'metrics' ? 'a metrics token (METRICS_TOKEN, or any ops token)' : `an ops API token with the ${role} role`;
  return async (c, next) => {
    const authenticator = c.get('authenticator');
    if (!authenticator)
      throw new GatewayError(500, 'auth_not_configured', 'No authenticator is installed', { internal: true });
    const presented =
      BEARER.exec(c.req.header('authorization') ?? '')?.[1]?.trim() ||
      (options.queryToken ? c.req.query('token') : undefined);
    if (!presented) {
      const how = options.queryToken
        ? 'Authorization: Bearer <token> (or ?token=<token> from a browser)'
        : 'Authorization: Bearer <token>';
      throw unauthorized('missing_token', `Send ${what} as ${how}`);
    }
    const result = await authenticator.authenticate(presented);
    if (!result.ok) {
      if (result.code === 'token_expired')
        throw unauthorized('token_expired', 'This token has expired; ask an admin for a new one');
      throw unauthorized('invalid_token', 'The ops API token is not accepted');
    }
    if (!roleAllows(role, result.identity.role)) {
      throw forbidden(
        'forbidden',
        `This needs ${what}; the token "${result.identity.tokenName}" has the ${result.identity.role} role`,
      );
    }
    c.set('identity', result.identity);
    await next();
  };
}

/**
 * The former gate, kept so routes written against it keep compiling: an admin-only gate. New code
 * names its role with requireRole.
 * @deprecated use requireRole('admin')
 */
export const requireOpsToken = (_tokens?: readonly string[]): MiddlewareHandler => requireRole('admin');
