import type { MiddlewareHandler } from 'hono';
import { credentialMatches } from '../../providers/signature';
import { unauthorized } from '../errors';

const BEARER = /^Bearer\s+(.+)$/i;

/**
 * Ops endpoints require `Authorization: Bearer <token>` matching one of the configured tokens
 * (several during rotation), compared in constant time. With no token configured, every request
 * is refused: the ops API never opens by accident.
 */
export function requireOpsToken(tokens: readonly string[]): MiddlewareHandler {
  return requireBearer(tokens, 'ops API token');
}

/**
 * /metrics also takes the read-only METRICS_TOKEN values, so the scraper needs no credential that
 * can read payloads or replay events. Those tokens are accepted here and nowhere else.
 */
export function requireMetricsToken(opsTokens: readonly string[], metricsTokens: readonly string[]): MiddlewareHandler {
  return requireBearer([...opsTokens, ...metricsTokens], 'metrics token (METRICS_TOKEN or OPS_API_TOKEN)');
}

/**
 * The live stream also takes the token as `?token=`: a browser's EventSource and WebSocket cannot
 * set headers. The header wins when both are sent. Request paths are logged without the query
 * string, so the token is never written to a log.
 */
export function requireOpsTokenOrQuery(tokens: readonly string[]): MiddlewareHandler {
  return requireBearer(tokens, 'ops API token', true);
}

function requireBearer(tokens: readonly string[], what: string, queryAllowed = false): MiddlewareHandler {
  return async (c, next) => {
    const presented =
      BEARER.exec(c.req.header('authorization') ?? '')?.[1]?.trim() || (queryAllowed ? c.req.query('token') : undefined);
    if (!presented) {
      const how = queryAllowed ? 'Authorization: Bearer <token> (or ?token=<token> from a browser)' : 'Authorization: Bearer <token>';
      throw unauthorized('missing_token', `Send the ${what} as ${how}`);
    }
    if (tokens.length === 0 || !credentialMatches(presented, tokens)) {
      throw unauthorized('invalid_token', `The ${what} is not accepted`);
    }
    await next();
  };
}
