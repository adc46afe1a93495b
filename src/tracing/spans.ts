import { context, propagation, SpanKind, SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';

export { SpanKind };

// The API alone (no SDK) hands out no-op spans: with tracing off this costs a few object allocations.
const tracer = trace.getTracer('webhook-gateway');

/**
 * Runs `fn` in a new span, active for everything it awaits, and ends it when `fn` settles. A thrown
 * error marks the span failed without its message: messages can quote payloads, never traced.
 */
export function withSpan<T>(
  name: string,
  options: { kind: SpanKind; attributes?: Attributes },
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  return tracer.startActiveSpan(name, options, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw err;
    } finally {
      span.end();
    }
  });
}

/** Marks a span failed, with a reason code (never free text from a payload or an answer). */
export function failSpan(span: Span, reason: string): void {
  span.setStatus({ code: SpanStatusCode.ERROR, message: reason });
}

/** The W3C `traceparent` (and `tracestate`) of the active span, for an outgoing request; empty with tracing off. */
export function traceHeaders(): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier;
}
