import type { Context, MiddlewareHandler } from 'hono';
import type { Logger } from 'pino';
import { GatewayError, unauthorized } from '../errors';
import { requestHeaders } from './request-headers';
import type { PushSource } from './sources';

// What ingest verifies a request with: the source's usable secrets, the query as sent, the
// sub-path, and the header-only credential check that runs before the body is read.

/**
 * For providers whose whole credential is in the headers or query string (basic-auth, api-key),
 * the credential is checked before `limit` (the body limit and budget) runs: a request without it
 * is refused before its body is read or counted against the budget. Other providers need the body
 * (an HMAC over it) and go straight on. A plain wrapper, not one more middleware: one property
 * read per request.
 */
export function verifyHeadFirst(deps: { logger: Logger }, limit: MiddlewareHandler): MiddlewareHandler {
  return (c, next) => {
    const source = c.get('pushSource');
    if (source.provider.verifyHead) {
      const path = c.req.path;
      const head = { headers: requestHeaders(c), path, query: rawQuery(c), subPath: subPathOf(source, path) };
      source.provider.verifyHead(head, usableSecrets(source, deps.logger));
    }
    return limit(c, next);
  };
}

/**
 * The query as sent, from Node's raw request target: @hono/node-server builds c.req.url with
 * WHATWG URL parsing once the target holds a "%" (or any character off its fast path), which
 * escapes ' " < > in the query, and a sender signs the raw one (generic-hmac {query}).
 */
export function rawQuery(c: Context): string {
  const url = (c.env as { incoming?: { url?: string } } | undefined)?.incoming?.url ?? c.req.url;
  return url.includes('?') ? url.slice(url.indexOf('?') + 1) : '';
}

/** The part of `path` after the source's sub-path route ("orders/create"), or "". */
export function subPathOf(source: PushSource, path: string): string {
  const prefix = source.paths.find((p) => p.endsWith('/*') && path.startsWith(p.slice(0, -1)));
  return prefix ? path.slice(prefix.length - 1).replace(/^\/+/, '') : '';
}

/**
 * The secrets that verify right now. Fail closed either way: nothing configured is 503 (the
 * provider keeps retrying until an operator sets a secret); everything past its not_after is 401
 * (the overlap window is over and the sender still signs with an old secret).
 */
export function usableSecrets(source: PushSource, logger: Logger): string[] {
  // A source that verifies with keys of its own (Keycloak JWTs) needs no secret to work.
  if (source.provider.verifiesWithoutSecrets) {
    const now = Date.now();
    return source.secrets.filter((s) => !s.notAfter || now < s.notAfter.getTime()).map((s) => s.value);
  }
  if (source.secrets.length === 0) {
    throw new GatewayError(
      503,
      'source_not_configured',
      `Source ${source.name} has no verification secret configured`,
      {
        internal: false,
      },
    );
  }
  const now = Date.now();
  const usable = source.secrets.filter((s) => !s.notAfter || now < s.notAfter.getTime()).map((s) => s.value);
  if (usable.length === 0) {
    logger.warn({ source: source.name }, 'every secret of the source is past its not_after; rejecting');
    throw unauthorized(
      'secrets_expired',
      `Every secret of source ${source.name} is past its not_after; sign with a current secret`,
    );
  }
  return usable;
}
