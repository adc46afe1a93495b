import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { GatewayError } from '../errors';

/**
 * The ops API's own request bodies (filters, names, rules, source and destination entries) are a
 * few KiB; anything larger is refused before it is buffered, so a token cannot make the gateway
 * read gigabytes.
 */
export const OPS_MAX_BODY_BYTES = 256 * 1024;

/**
 * Refuses bodies over `maxBytes` with 413. A declared Content-Length is checked up front and the
 * body then read on @hono/node-server's fast path — Node's parser never delivers more bytes than
 * declared. Only bodies of unknown length (chunked) go through hono's counting stream, which
 * measured ~1.5× slower per request because it turns the body into a web stream.
 */
export function limitBody(maxBytes: number): MiddlewareHandler {
  const tooLarge = () =>
    new GatewayError(413, 'payload_too_large', `Request body exceeds the limit of ${maxBytes} bytes`);
  const counting = bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw tooLarge();
    },
  });
  return async (c, next) => {
    const declared = c.req.header('content-length');
    if (declared === undefined || !/^\d{1,15}$/.test(declared)) return counting(c, next);
    if (Number(declared) > maxBytes) throw tooLarge();
    await next();
  };
}
