import { z } from 'zod';

// OpenTelemetry traces: whether they are sent, where, and under which service name.

export const tracingVariables = z.object({
  /** OpenTelemetry traces: `otlp` exports them, `off` never does; unset means on when an OTLP endpoint is set. */
  TRACING: z.enum(['otlp', 'off']).optional(),
  OTEL_EXPORTER_OTLP_ENDPOINT: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL, e.g. http://collector:4318' })
    .optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL, e.g. http://collector:4318/v1/traces' })
    .optional(),
  OTEL_SERVICE_NAME: z.string().default('webhook-gateway'),
});

export type TracingEnv = z.infer<typeof tracingVariables>;

export interface TracingSettings {
  /** OpenTelemetry traces sent over OTLP/HTTP to `url`, or none (the default). */
  tracing: { enabled: boolean; url: string; serviceName: string };
}

/** The tracing settings from their validated variables. */
export function tracingSettings(e: TracingEnv): TracingSettings {
  return {
    tracing: {
      enabled: e.TRACING
        ? e.TRACING === 'otlp'
        : Boolean(e.OTEL_EXPORTER_OTLP_ENDPOINT ?? e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT),
      // The OTLP spec's rule: the signal-specific variable is the whole URL, the general one a base.
      url:
        e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ??
        `${(e.OTEL_EXPORTER_OTLP_ENDPOINT ?? 'http://localhost:4318').replace(/\/+$/, '')}/v1/traces`,
      serviceName: e.OTEL_SERVICE_NAME,
    },
  };
}
