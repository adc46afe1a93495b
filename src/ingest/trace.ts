import type { Context, MiddlewareHandler } from 'hono';
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
      { parent: senderTrace(c) },
    );
}

/**
 * The span of a known source's request refused before its chain runs (a sub-path its provider does
 * not take: 404; another method than POST: 405), with the same attributes as a refusal traceIngest
 * records. `answer` records the refusal and makes the response, inside the span. An unknown name
 * gets no span: its name is the sender's text, and made-up names would each name a span.
 */
export function traceRefusal(
  c: Context,
  source: string,
  refusal: { reason: string; status: number },
  answer: () => Response,
): Promise<Response> {
  return withSpan(
    `ingest ${source}`,
    'server',
    { 'webhook.source': source, 'http.request.method': c.req.method },
    async (span) => {
      const response = answer();
      span.setAttributes({
        'webhook.outcome': 'rejected',
        'webhook.reject_reason': refusal.reason,
        'http.response.status_code': refusal.status,
      });
      return response;
    },
    { parent: senderTrace(c) },
  );
}

/** The sender's `traceparent` (and `tracestate`): its span becomes the parent of ours. */
const senderTrace = (c: Context) => ({
  traceparent: c.req.header('traceparent'),
  tracestate: c.req.header('tracestate'),
});
