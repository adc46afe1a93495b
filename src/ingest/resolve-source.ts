import type { Context, MiddlewareHandler } from 'hono';
import { clientAddress } from './client-address';
import { redactHeaders } from './redact-headers';
import { UNKNOWN_SOURCE } from './rejected-request-recorder';
import { declaredLength } from './request-headers';
import type { IngestDeps } from './routes';

/**
 * Finds the request's source; an unknown one (or a sub-path its provider does not take) is 404.
 * An unknown name also goes to the rejected-request log (cause unknown_source): a sender still
 * posting to a deleted or misspelt source shows up there. The recorder caps all unknown names
 * together, so random names cannot fill the log.
 */
export function resolveSource(
  deps: Pick<IngestDeps, 'sources' | 'rejectedRequests' | 'trustedProxies'>,
  nameOf: (c: Context) => string,
  subPath: boolean,
): MiddlewareHandler {
  return async (c, next) => {
    const name = nameOf(c);
    const source = deps.sources.resolve(name);
    if (!source || (subPath && !source.paths.some((p) => p.endsWith('/*')))) {
      if (!source) recordUnknownSource(deps, c, name);
      return c.json({ error: { code: 'not_found', message: `No route for ${c.req.method} ${c.req.path}` } }, 404);
    }
    c.set('pushSource', source);
    await next();
  };
}

function recordUnknownSource(
  deps: Pick<IngestDeps, 'rejectedRequests' | 'trustedProxies'>,
  c: Context,
  name: string,
): void {
  deps.rejectedRequests?.record({
    source: name,
    cause: UNKNOWN_SOURCE,
    status: 404,
    client: clientAddress(c, deps.trustedProxies ?? 0),
    userAgent: c.req.header('user-agent'),
    body: undefined,
    declaredBytes: declaredLength(c),
    headers: () => redactHeaders(c.req.raw.headers),
  });
}
