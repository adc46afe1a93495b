import type { Attributes, Tracer } from '@opentelemetry/api';

type Api = typeof import('@opentelemetry/api');

/** The part of a span the gateway uses; a no-op object while tracing is off. */
export interface SpanHandle {
  setAttribute(key: string, value: string | number): void;
  setAttributes(attributes: Attributes): void;
  /** Marks the span failed with a reason code (never free text from a payload or an answer). */
  fail(reason: string): void;
}

export type SpanRole = 'server' | 'client' | 'consumer';

/** W3C trace-context headers (`traceparent`, optionally `tracestate`), as sent or stored. */
export type TraceCarrier = Readonly<Record<string, string | undefined>>;

/** Where a span sits: under a remote parent (an incoming `traceparent`), or linked to earlier spans. */
export interface SpanPlacement {
  /**
   * The parent's trace context. Given, the span does not nest under the active span: an invalid or
   * missing `traceparent` (an empty carrier) starts a new trace.
   */
  parent?: TraceCarrier;
  /** Spans this one follows from without being their child (the ingest span of the event an attempt processes). */
  links?: readonly TraceCarrier[];
}

// Loaded only when tracing is on: off, not even @opentelemetry/api is imported and a span is one call.
let api: Api | undefined;
let tracer: Tracer | undefined;
const NOOP: SpanHandle = { setAttribute() {}, setAttributes() {}, fail() {} };

/**
 * Records the gateway's spans in the global OpenTelemetry tracer provider from now on. Called by
 * src/tracing/setup.ts when tracing is configured; an embedder that registers a provider of its
 * own calls it too.
 */
export async function enableSpans(): Promise<void> {
  api ??= await import('@opentelemetry/api');
  tracer = api.trace.getTracer('webhook-gateway');
}

/**
 * Runs `fn` in a new span, active for everything it awaits, and ends it when `fn` settles. A thrown
 * error marks the span failed without its message: messages can quote payloads, never traced.
 */
export function withSpan<T>(
  name: string,
  role: SpanRole,
  attributes: Attributes,
  fn: (span: SpanHandle) => Promise<T>,
  placement?: SpanPlacement,
): Promise<T> {
  if (!api || !tracer) return fn(NOOP);
  const { SpanKind, SpanStatusCode, context, propagation, trace, ROOT_CONTEXT } = api;
  const kind = { server: SpanKind.SERVER, client: SpanKind.CLIENT, consumer: SpanKind.CONSUMER }[role];
  const parent = placement?.parent
    ? propagation.extract(ROOT_CONTEXT, placement.parent, carrierGetter)
    : context.active();
  const links = (placement?.links ?? [])
    .map((carrier) => trace.getSpanContext(propagation.extract(ROOT_CONTEXT, carrier, carrierGetter)))
    .filter((linked) => linked !== undefined && trace.isSpanContextValid(linked))
    .map((linked) => ({ context: linked! }));
  return tracer.startActiveSpan(name, { kind, attributes, links }, parent, async (span) => {
    const handle: SpanHandle = {
      setAttribute: (key, value) => void span.setAttribute(key, value),
      setAttributes: (values) => void span.setAttributes(values),
      fail: (reason) => void span.setStatus({ code: SpanStatusCode.ERROR, message: reason }),
    };
    try {
      return await fn(handle);
    } catch (err) {
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw err;
    } finally {
      span.end();
    }
  });
}

/** Reads a carrier whose values may be missing (the propagator asks for `traceparent` and `tracestate`). */
const carrierGetter = {
  keys: (carrier: TraceCarrier) => Object.keys(carrier),
  get: (carrier: TraceCarrier, key: string) => carrier[key],
};

/** The W3C `traceparent` (and `tracestate`) of the active span, for an outgoing request; empty with tracing off. */
export function traceHeaders(): Record<string, string> {
  if (!api) return {};
  const carrier: Record<string, string> = {};
  api.propagation.inject(api.context.active(), carrier);
  return carrier;
}

/**
 * The active span's `traceparent` alone, stored with an event so its attempts can link back to the
 * ingest span (tracestate is the sender's business, not kept); empty with tracing off.
 */
export function storedTraceContext(): { traceparent?: string } {
  const { traceparent } = traceHeaders();
  return traceparent ? { traceparent } : {};
}
