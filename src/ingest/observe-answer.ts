import type { MiddlewareHandler } from 'hono';
import { GatewayError } from '../errors';
import { clientAddress } from './client-address';
import { redactHeaders } from './redact-headers';
import { declaredLength } from './request-headers';
import type { IngestDeps } from './routes';

/**
 * Reports each answer's outcome (errors thrown further down surface as c.error after next()): to
 * the metrics, and rejections to the rate-limited rejection log.
 */
export function observeAnswer(
  deps: Pick<IngestDeps, 'onAnswered' | 'rejections' | 'rejectedRequests' | 'trustedProxies'>,
): MiddlewareHandler {
  return async (c, next) => {
    const source = c.get('pushSource').name;
    const started = performance.now();
    c.set('clientAddress', clientAddress(c, deps.trustedProxies ?? 0));
    await next();
    const seconds = (performance.now() - started) / 1000;
    if (c.error) {
      const reason = c.error instanceof GatewayError ? c.error.code : 'internal_error';
      const status = c.error instanceof GatewayError ? c.error.status : 500;
      deps.onAnswered?.(source, 'rejected', reason, seconds);
      deps.rejections?.rejected({ source, reason, status, client: c.get('clientAddress') });
      deps.rejectedRequests?.record({
        source,
        cause: reason,
        status,
        client: c.get('clientAddress'),
        userAgent: c.req.header('user-agent'),
        body: c.get('rawBody'),
        declaredBytes: declaredLength(c),
        headers: () => redactHeaders(c.req.raw.headers),
      });
    } else {
      deps.onAnswered?.(source, c.get('ingestOutcome') ?? 'accepted', 'ok', seconds);
    }
  };
}
