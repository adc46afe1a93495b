import type { MiddlewareHandler } from 'hono';
import { GatewayError } from '../errors';
import { withSpan } from '../tracing/spans';

/**
 * One span per ingest request (src/tracing/spans.ts), around everything else on the route: the
 * source, the outcome, the reason code of a refusal and the stored event's id — never a header,
 * a signature or the body. A refusal is the sender's (4xx): only a 5xx marks the span failed.
 * A valid `traceparent` sent with the request makes the sender's span its parent.
 */
export function traceIngest(source: string): MiddlewareHandler {
  return (c, next) =>
    withSpan(
      `ingest ${source}`,
      'server',
      { 'webhook.source': source, 'http.request.method': 'POST' },
      async (span) => {
        await next();
        if (c.error) {
          const reason = c.error instanceof GatewayError ? c.error.code : 'internal_error';
          const status = c.error instanceof GatewayError ? c.error.status : 500;
          span.setAttributes({
            'webhook.outcome': 'rejected',
            'webhook.reject_reason': reason,
            'http.response.status_code': status,
          });
          if (status >= 500) span.fail(reason);
          return;
        }
        span.setAttributes({
          'webhook.outcome': c.get('ingestOutcome') ?? 'accepted',
          'http.response.status_code': c.res.status,
        });
        const eventId = c.get('eventId');
        if (eventId !== undefined) span.setAttribute('webhook.event_id', eventId);
      },
      { parent: { traceparent: c.req.header('traceparent'), tracestate: c.req.header('tracestate') } },
    );
}
