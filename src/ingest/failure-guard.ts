import type { MiddlewareHandler } from 'hono';
import { GatewayError } from '../errors';
import { tooManyFailures, type FailureLimiter } from './rate-limit';

/**
 * Before the body is read: an address whose requests keep failing verification waits (429). After
 * the answer: a 4xx given before the request was verified (bad or missing signature, body too
 * large) counts against its address. Verified requests never do, whatever their answer.
 */
export function guardFailures(failures: FailureLimiter): MiddlewareHandler {
  return async (c, next) => {
    const address = c.get('clientAddress');
    const wait = failures.blockedFor(address);
    if (wait > 0) throw tooManyFailures(wait);
    await next();
    const error = c.error;
    if (error instanceof GatewayError && error.status >= 400 && error.status < 500 && !c.get('verified')) {
      failures.failed(address);
    }
  };
}
