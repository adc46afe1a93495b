import type { MiddlewareHandler } from 'hono';

/**
 * The headers every page the gateway serves carries (the UI at /ui, the API reference at
 * /api/docs): its Content-Security-Policy, no MIME sniffing, no referrer, and no framing (also
 * for browsers that predate frame-ancestors).
 */
export function securityHeaders(csp: string): MiddlewareHandler {
  return async (c, next) => {
    await next();
    c.header('content-security-policy', csp);
    c.header('x-content-type-options', 'nosniff');
    c.header('referrer-policy', 'no-referrer');
    c.header('x-frame-options', 'DENY');
  };
}
