import type { Context, MiddlewareHandler } from 'hono';
import type { Logger } from 'pino';
import type { RequestHead } from '../../providers/types';
import { GatewayError, unauthorized } from '../errors';
import { checkIdentity } from './identity-limits';
import { requestHeaders } from './request-headers';
import type { PushSource } from './sources';

// What ingest verifies a request with: the source's usable secrets, the query as sent, the
// sub-path (built once per request), and the header-only credential check that runs before the
// body is read.

/** What a request is verified with, apart from its body: built once per request. */
export interface VerificationInput {
  readonly head: RequestHead;
  /** The source's secrets usable now (usableSecrets). */
  readonly secrets: readonly string[];
}

/**
 * The request's head and usable secrets, built on first use and kept on the context: the check
 * before the body and the handler after it share one header record, raw query and secret list.
 * Secrets come first, so a source without any is refused (503) before anything else is built.
 */
export function verificationInput(c: Context, logger: Logger): VerificationInput {
  const kept = c.get('verificationInput');
  if (kept) return kept;
  const source = c.get('pushSource');
  const secrets = usableSecrets(source, logger);
  const path = c.req.path;
  const input = {
    head: { headers: requestHeaders(c), path, query: rawQuery(c), subPath: subPathOf(source, path) },
    secrets,
  };
  c.set('verificationInput', input);
  return input;
}

/**
 * What the provider can decide from the head is checked before `limit` (the body limit and budget)
 * runs: a request without a credential header, with a malformed signature header or a timestamp
 * outside the tolerance, or with a wrong Basic/API-key/bearer credential (provider.verifyHead, 401);
 * then, in that order, one without its identity headers (GitHub's delivery and event, Shopify's
 * webhook id and shop, a configured id_header) or with an identity over its length limit
 * (provider.identifyHead and checkIdentity, 400), is refused before its body is read or counted
 * against the budget. The source's secrets are read first (verificationInput), so a source without
 * any still answers 503 before anything else. The HMAC over the body waits for it, in verify. A
 * plain wrapper, not one more middleware.
 */
export function verifyHeadFirst(deps: { logger: Logger }, limit: MiddlewareHandler): MiddlewareHandler {
  return (c, next) => {
    const { provider } = c.get('pushSource');
    if (provider.verifyHead || provider.identifyHead) {
      const { head, secrets } = verificationInput(c, deps.logger);
      provider.verifyHead?.(head, secrets);
      if (provider.identifyHead) checkIdentity(provider.identifyHead(head));
    }
    return limit(c, next);
  };
}

/**
 * The query as sent, from Node's raw request target: @hono/node-server builds c.req.url with
 * WHATWG URL parsing once the target holds a "%" (or any character off its fast path), which
 * escapes ' " < > in the query, and a sender signs the raw one (generic-hmac {query}).
 */
function rawQuery(c: Context): string {
  const url = (c.env as { incoming?: { url?: string } } | undefined)?.incoming?.url ?? c.req.url;
  return url.includes('?') ? url.slice(url.indexOf('?') + 1) : '';
}

/** The part of `path` after the source's sub-path route ("orders/create"), or "". */
function subPathOf(source: PushSource, path: string): string {
  const prefix = source.paths.find((p) => p.endsWith('/*') && path.startsWith(p.slice(0, -1)));
  return prefix ? path.slice(prefix.length - 1).replace(/^\/+/, '') : '';
}

/**
 * The secrets that verify right now. Fail closed either way: nothing configured is 503 (the
 * provider keeps retrying until an operator sets a secret); everything past its not_after is 401
 * (the overlap window is over and the sender still signs with an old secret).
 */
function usableSecrets(source: PushSource, logger: Logger): string[] {
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

declare module 'hono' {
  interface ContextVariableMap {
    /** What the request is verified with, once built (verificationInput). */
    verificationInput: VerificationInput;
  }
}
