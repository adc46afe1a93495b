import type { Context, MiddlewareHandler } from 'hono';
import { clientAddress } from './client-address';
import { redactHeaders } from './redact-headers';
import { UNKNOWN_SOURCE } from './rejected-request-recorder';
import { declaredLength } from './request-headers';
import type { IngestDeps } from './routes';
import { traceRefusal } from './trace';

type RefusalDeps = Pick<IngestDeps, 'rejectedRequests' | 'trustedProxies' | 'onAnswered' | 'rejections'>;

/**
 * Finds the request's source; an unknown one (or a sub-path its provider does not take) is 404.
 * An unknown name also goes to the rejected-request log (cause unknown_source): a sender still
 * posting to a deleted or misspelt source shows up there. The recorder caps all unknown names
 * together, so random names cannot fill the log. A known source's wrong sub-path is refused like
 * any other of its requests: in the log, the metrics, the charts and a trace span, with cause
 * not_found.
 */
export function resolveSource(
  deps: Pick<IngestDeps, 'sources'> & RefusalDeps,
  nameOf: (c: Context) => string,
  subPath: boolean,
): MiddlewareHandler {
  return async (c, next) => {
    const name = nameOf(c);
    const source = deps.sources.resolve(name);
    const notFound = () =>
      c.json({ error: { code: 'not_found', message: `No route for ${c.req.method} ${c.req.path}` } }, 404);
    if (!source) {
      recordRefusal(deps, c, { source: name, cause: UNKNOWN_SOURCE, status: 404, known: false });
      return notFound();
    }
    if (subPath && !source.paths.some((p) => p.endsWith('/*'))) {
      return traceRefusal(c, source.name, { reason: 'not_found', status: 404 }, () => {
        recordRefusal(deps, c, { source: source.name, cause: 'not_found', status: 404, known: true });
        return notFound();
      });
    }
    c.set('pushSource', source);
    await next();
  };
}

/** A resolved source's URL asked with another method than POST: 405, refused like its other requests. */
export function refuseMethod(deps: RefusalDeps): MiddlewareHandler {
  return async (c) => {
    const source = c.get('pushSource').name;
    return traceRefusal(c, source, { reason: 'method_not_allowed', status: 405 }, () => {
      recordRefusal(deps, c, { source, cause: 'method_not_allowed', status: 405, known: true });
      return c.json({ error: { code: 'method_not_allowed', message: 'Webhooks must be sent with POST' } }, 405, {
        allow: 'POST',
      });
    });
  };
}

/**
 * Records a refusal made before the request reaches its source's chain (src/ingest/observe-answer.ts
 * records the others): the rejected-request log always; for a known source also the metrics and
 * the charts (keyed by configured names only, so made-up names cannot grow them) and the rate-limited log line.
 */
function recordRefusal(
  deps: RefusalDeps,
  c: Context,
  refusal: { source: string; cause: string; status: number; known: boolean },
): void {
  const { source, cause, status } = refusal;
  const client = clientAddress(c, deps.trustedProxies ?? 0);
  if (refusal.known) {
    deps.onAnswered?.(source, 'rejected', cause, 0);
    deps.rejections?.rejected({ source, reason: cause, status, client });
  }
  deps.rejectedRequests?.record({
    source,
    cause,
    status,
    client,
    userAgent: c.req.header('user-agent'),
    body: undefined,
    declaredBytes: declaredLength(c),
    headers: () => redactHeaders(c.req.raw.headers),
  });
}
