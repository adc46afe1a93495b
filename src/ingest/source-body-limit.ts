import type { Context, MiddlewareHandler } from 'hono';
import { GatewayError } from '../errors';
import type { BodyBudget } from './body-budget';
import { limitBodyBy } from './body-limit';

/**
 * Ingest's body limit: the request's source's own `max_body_bytes`, else MAX_BODY_BYTES. Read from
 * the source resolved from the registry snapshot (src/ingest/resolve-source.ts), so it costs a
 * field read per request, and a source changed at runtime takes effect with the next request.
 */
export function limitSourceBody(defaultBytes: number, budget?: BodyBudget): MiddlewareHandler {
  return limitBodyBy((c) => c.get('pushSource').maxBodyBytes ?? defaultBytes, sourceBodyTooLarge, budget);
}

/**
 * The 413 names the limit that applied, where it comes from, and the setting that raises it for
 * this source alone (raising MAX_BODY_BYTES would raise it for every source: docs/security.md).
 */
function sourceBodyTooLarge(c: Context, maxBytes: number): GatewayError {
  const source = c.get('pushSource');
  const message =
    source.maxBodyBytes === undefined
      ? `Request body exceeds the limit of ${maxBytes} bytes (MAX_BODY_BYTES, the gateway's default); ` +
        `to accept larger bodies for source "${source.name}", set its max_body_bytes`
      : `Request body exceeds the limit of ${maxBytes} bytes set by source "${source.name}" (its max_body_bytes); ` +
        'raise its max_body_bytes to accept larger bodies';
  return new GatewayError(413, 'payload_too_large', message);
}
