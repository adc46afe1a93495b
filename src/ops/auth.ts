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
  return async (c, next) => {
    const presented = BEARER.exec(c.req.header('authorization') ?? '')?.[1]?.trim();
    if (!presented) throw unauthorized('missing_token', 'Send the ops API token as Authorization: Bearer <token>');
    if (tokens.length === 0 || !credentialMatches(presented, tokens)) {
      throw unauthorized('invalid_token', 'The ops API token is not accepted');
    }
    await next();
  };
}
