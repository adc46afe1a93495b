import type { Logger } from 'pino';
import type { GatewayConfig } from '../config/env';
import { enableSpans } from './spans';

export interface TracingHandle {
  /** Exports the spans still buffered, then stops. */
  shutdown(): Promise<void>;
}

/**
 * Turns OpenTelemetry tracing on when configured (TRACING=otlp, or an OTLP endpoint set): the Node
 * SDK with a batching OTLP/HTTP exporter, registered as the global tracer provider, so the spans of
 * src/tracing/spans.ts are recorded and `traceparent` goes out to destinations. Off (the default),
 * neither the SDK nor the API is imported: a span is one function call and nothing is sent or kept.
 * The exporter reads its own standard variables too (OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT, …).
 */
export async function startTracing(
  options: GatewayConfig['tracing'],
  logger: Logger,
): Promise<TracingHandle | undefined> {
  if (!options.enabled) return undefined;
  const [{ NodeTracerProvider, BatchSpanProcessor }, { OTLPTraceExporter }, { resourceFromAttributes }] =
    await Promise.all([
      import('@opentelemetry/sdk-trace-node'),
      import('@opentelemetry/exporter-trace-otlp-http'),
      import('@opentelemetry/resources'),
    ]);
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': options.serviceName }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: options.url }))],
  });
  // Also installs the W3C trace-context propagator and the AsyncLocalStorage context manager.
  provider.register();
  await enableSpans();
  // The origin only: a collector URL may carry credentials.
  logger.info(
    { collector: new URL(options.url).origin, serviceName: options.serviceName },
    'tracing on: spans exported over OTLP/HTTP',
  );
  return { shutdown: () => provider.shutdown() };
}
