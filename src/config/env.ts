import type { PollSourceOptions } from '../poll/config';
import { defaultAlertsConfig, type AlertsConfig } from '../alerts/config';
import { z } from 'zod';
import { ConfigError } from './errors';
import { loadGatewayFile, SourcesFileError, type FileDestination, type SourceConfig } from './file';
import { nearMisses } from './near-miss';
import type { OutboundSettings } from '../outbound/policy';
import { databaseSettings, databaseVariables, type DatabaseSettings } from './env/database';
import { outboundSettings, outboundVariables, refusedFileTargets } from './env/outbound';
import { runtimeSettings, runtimeVariables, type RuntimeSettings } from './env/runtime';
import { envSecretProblems, secretSettings, secretsVariables, type SecretSettings } from './env/secrets';
import { tracingSettings, tracingVariables, type TracingSettings } from './env/tracing';
import { sourceBodyLimitProblem } from './body-limit-range';
import { bodyBudgetProblem, burstWithoutRateProblems, webSettings, webVariables, type WebSettings } from './env/web';
import { sourceRetryProblem } from './retry-range';
import { retryRangeProblems, workerSettings, workerVariables, type WorkerSettings } from './env/worker';
import { useIssueMessages } from '../validation/issue-message';

// The only reader of process.env (a lint rule enforces it): one schema, validated once, by one
// loader. Each group of settings (its variables, defaults, checks and the config they make) is in
// ./env/*.ts.

/** Every variable the gateway reads; docs/configuration.md lists each with its default (test/config-docs-table.test.ts). */
export const envSchema = z.object({
  ...webVariables.shape,
  ...databaseVariables.shape,
  ...runtimeVariables.shape,
  ...secretsVariables.shape,
  ...workerVariables.shape,
  ...tracingVariables.shape,
  ...outboundVariables.shape,
});

/** Our settings, and variables the gateway's own tools and docs use, for the typo check. */
const KNOWN_VARIABLES: ReadonlySet<string> = new Set([
  ...Object.keys(envSchema.shape),
  'TEST_DATABASE_URL',
  'NODE_ENV',
  'NODE_OPTIONS',
  // Read by the OTLP exporter itself (src/tracing/setup.ts).
  'OTEL_EXPORTER_OTLP_HEADERS',
  'OTEL_EXPORTER_OTLP_TRACES_HEADERS',
  'OTEL_EXPORTER_OTLP_TIMEOUT',
  'OTEL_EXPORTER_OTLP_COMPRESSION',
]);

export type Env = z.infer<typeof envSchema>;

export interface GatewayConfig
  extends WebSettings, DatabaseSettings, RuntimeSettings, SecretSettings, WorkerSettings, TracingSettings {
  /** Sources from the GATEWAY_CONFIG file (empty without one); a name used here replaces the env source. */
  sources: SourceConfig[];
  /** The GATEWAY_CONFIG file's top-level `destinations:` (read-only at runtime; docs/destinations.md). */
  destinations: FileDestination[];
  /** Pull-polling sources from the GATEWAY_CONFIG file's `polls` list (empty without one). */
  polls: PollSourceOptions[];
  /** Set variables that look like ours but are not (a typo), with the setting they probably meant. */
  unknownVariables: { name: string; suggestion: string }[];
  /** The config file's `alerts:` section (src/alerts/config.ts). */
  alerts: AlertsConfig;
  /** Where the gateway's own requests (destinations, alert channels, SPS REST) may connect (src/outbound). */
  outbound: OutboundSettings;
}

export { ConfigError };

/** Validates the environment once, at start-up; the rest of the code never reads process.env. */
export function loadConfig(rawEnv: NodeJS.ProcessEnv = process.env): GatewayConfig {
  useIssueMessages();
  // An empty variable means unset (`DATABASE_URL= npm start` is the embedded default, not "Invalid URL"),
  // as a shell or a compose file easily leaves one defined but blank. Values are trimmed, as
  // `KEY = value` or a quoted `"value "` in an env file leaves spaces: numbers ignored them, but
  // DATA_DIR=" ./data" made a directory named " ./data" and HOST=" 127.0.0.1" failed to listen.
  const env = Object.fromEntries(
    Object.entries(rawEnv).flatMap(([name, value]) => (value?.trim() ? [[name, value.trim()]] : [])),
  );
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`Invalid configuration: ${problems}`);
  }
  const e = parsed.data;
  // Node refuses to create a server whose headers may take longer than the whole request, with a
  // stack trace at start-up; said here, with the variables' names.
  if (e.HEADERS_TIMEOUT_MS > e.REQUEST_TIMEOUT_MS)
    throw new ConfigError(
      `Invalid configuration: HEADERS_TIMEOUT_MS (${e.HEADERS_TIMEOUT_MS}) must not exceed REQUEST_TIMEOUT_MS (${e.REQUEST_TIMEOUT_MS}): the headers are part of the request`,
    );
  const rangeProblems = [
    bodyBudgetProblem(webSettings(e)) ?? [],
    ...burstWithoutRateProblems(e),
    ...retryRangeProblems(e),
  ].flat();
  if (rangeProblems.length > 0) throw new ConfigError(`Invalid configuration: ${rangeProblems.join('; ')}`);
  const weak = envSecretProblems(e);
  if (weak.length > 0) throw new ConfigError(`Invalid configuration: ${weak.join('; ')}`);
  let sources: SourceConfig[] = [];
  let destinations: FileDestination[] = [];
  let polls: PollSourceOptions[] = [];
  let alerts: AlertsConfig = defaultAlertsConfig();
  if (e.GATEWAY_CONFIG) {
    try {
      ({ sources, destinations, polls, alerts } = loadGatewayFile(e.GATEWAY_CONFIG, env));
    } catch (err) {
      if (err instanceof SourcesFileError) throw new ConfigError(`Invalid GATEWAY_CONFIG: ${err.message}`);
      throw err;
    }
  }
  const outbound = outboundSettings(e);
  const retryDefaults = { baseMs: e.RETRY_BASE_MS, maxMs: e.RETRY_MAX_MS };
  const refused = [
    ...sources.flatMap((s) => {
      const problems = [
        sourceRetryProblem(s.processing.retry, retryDefaults),
        sourceBodyLimitProblem(s.processing.maxBodyBytes, webSettings(e).ingestBodyBudgetBytes),
      ];
      return problems.flatMap((problem) => (problem ? [`source "${s.name}": ${problem}`] : []));
    }),
    ...refusedFileTargets(outbound, { sources, destinations, polls, alerts }),
  ];
  if (refused.length > 0) throw new ConfigError(`Invalid GATEWAY_CONFIG: ${refused.join('; ')}`);
  return {
    ...webSettings(e),
    ...databaseSettings(e),
    ...runtimeSettings(e),
    // Loads the master keys: a bad key is reported after the config file's problems.
    ...secretSettings(e),
    ...workerSettings(e),
    ...tracingSettings(e),
    sources,
    destinations,
    polls,
    unknownVariables: nearMisses(Object.keys(env), KNOWN_VARIABLES),
    alerts,
    outbound,
  };
}
/** A complete config for embedding and tests: defaults plus the given overrides. */
export function defineConfig(overrides: DeepPartial<GatewayConfig> = {}): GatewayConfig {
  const base = loadConfig({});
  return {
    ...base,
    ...overrides,
    database: { ...base.database, ...overrides.database },
    secrets: { ...base.secrets, ...overrides.secrets } as GatewayConfig['secrets'],
    opsTokens: (overrides.opsTokens as string[] | undefined) ?? base.opsTokens,
    metricsTokens: (overrides.metricsTokens as string[] | undefined) ?? base.metricsTokens,
    worker: { ...base.worker, ...overrides.worker },
    retention: { ...base.retention, ...overrides.retention },
    timeouts: { ...base.timeouts, ...overrides.timeouts },
    ingestBodyWait: { ...base.ingestBodyWait, ...overrides.ingestBodyWait },
    rejectionLog: { ...base.rejectionLog, ...overrides.rejectionLog },
    tracing: { ...base.tracing, ...overrides.tracing },
    rejectedRequests: { ...base.rejectedRequests, ...overrides.rejectedRequests },
    alerts: { ...base.alerts, ...overrides.alerts },
    control: { ...base.control, ...overrides.control },
    outbound: { ...base.outbound, ...overrides.outbound },
  } as GatewayConfig;
}

type DeepPartial<T> = {
  [K in keyof T]?: T[K] extends object ? (T[K] extends unknown[] ? T[K] : DeepPartial<T[K]>) : T[K];
};

/** Another config file (`webhook-gateway apply -f`), its env: secrets resolved from this process's environment. */
export function loadOtherGatewayFile(path: string, rawEnv: NodeJS.ProcessEnv = process.env) {
  return loadGatewayFile(path, rawEnv);
}
