import type { MiddlewareHandler } from 'hono';
import { GatewayError } from '../errors';

export interface RateLimit {
  /** Sustained requests per second. */
  perSecond: number;
  /** Requests allowed at once above the sustained rate. */
  burst: number;
}

/**
 * A token bucket per source and process, checked before the body is read so a flood costs almost
 * nothing. Over the limit: 429 with Retry-After (whole seconds until a token is back), which every
 * major provider honours by retrying later — nothing is lost, nothing was acknowledged.
 */
export function rateLimit(source: string, limit: RateLimit, now: () => number = performance.now.bind(performance)): MiddlewareHandler {
  let tokens = limit.burst;
  let last = now();
  return async (_c, next) => {
    const t = now();
    tokens = Math.min(limit.burst, tokens + ((t - last) / 1000) * limit.perSecond);
    last = t;
    if (tokens < 1) {
      const retryAfter = Math.max(1, Math.ceil((1 - tokens) / limit.perSecond));
      throw new GatewayError(429, 'rate_limited', `Source ${source} is over its rate limit of ${limit.perSecond} requests/s; retry later`, {
        headers: { 'retry-after': String(retryAfter) },
      });
    }
    tokens -= 1;
    await next();
  };
}
