import type { Context, MiddlewareHandler } from 'hono';
import { GatewayError } from '../errors';
import type { BodyBudget } from './body-budget';
import { limitBodyBy } from './body-limit';
import type { PushSource } from './sources';

/**
 * Ingest's body limit (sourceBodyLimit): the request's source's own `max_body_bytes`, else its
 * sender's published maximum for a sender that never retries, else MAX_BODY_BYTES. Read from
 * the source resolved from the registry snapshot (src/ingest/resolve-source.ts), so it costs a
 * field read per request, and a source changed at runtime takes effect with the next request.
 */
export function limitSourceBody(defaultBytes: number, budget?: BodyBudget): MiddlewareHandler {
  return limitBodyBy((c) => sourceBodyLimit(c.get('pushSource'), defaultBytes, budget), sourceBodyTooLarge, budget);
}

/**
 * The source's own `max_body_bytes`; else, for a sender that publishes a larger maximum and never
 * retries (GitHub, providers/types.ts senderMaxBodyBytes), that maximum within the body budget (a
 * larger limit would promise what the budget can never hold) and never below MAX_BODY_BYTES; else
 * MAX_BODY_BYTES.
 */
export function sourceBodyLimit(source: PushSource, defaultBytes: number, budget?: BodyBudget): number {
  if (source.maxBodyBytes !== undefined) return source.maxBodyBytes;
  const sender = source.provider.senderMaxBodyBytes;
  if (sender === undefined) return defaultBytes;
  return Math.max(defaultBytes, Math.min(sender, budget?.totalBytes ?? sender));
}

/**
 * The 413 names the limit that applied, where it comes from, and the setting that raises it for
 * this source alone (raising MAX_BODY_BYTES would raise it for every source: docs/security.md).
 */
function sourceBodyTooLarge(c: Context, maxBytes: number): GatewayError {
  const source = c.get('pushSource');
  const message =
    source.maxBodyBytes !== undefined
      ? `Request body exceeds the limit of ${maxBytes} bytes set by source "${source.name}" (its max_body_bytes); ` +
        'raise its max_body_bytes to accept larger bodies'
      : source.provider.senderMaxBodyBytes !== undefined
        ? `Request body exceeds the limit of ${maxBytes} bytes for source "${source.name}" (the largest body ` +
          `its sender publishes, within INGEST_BODY_BUDGET_BYTES); to accept larger bodies, set its max_body_bytes`
        : `Request body exceeds the limit of ${maxBytes} bytes (MAX_BODY_BYTES, the gateway's default); ` +
          `to accept larger bodies for source "${source.name}", set its max_body_bytes`;
  return new GatewayError(413, 'payload_too_large', message);
}
