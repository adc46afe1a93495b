import type { PollSourceOptions } from '../poll/config';
import { defaultAlertsConfig, type AlertsConfig } from '../alerts/config';
import cron from 'node-cron';
import { z } from 'zod';
import { providerModules, type ProviderModule } from '../../providers';
import { ConfigError } from './errors';
import { loadKeyring, type Keyring } from '../control/crypto';
import { loadGatewayFile, SourcesFileError, type FileDestination, type SourceConfig } from './file';
import { nearMisses } from './near-miss';
import { createOutboundPolicy, parseCidrList, type OutboundSettings } from '../outbound/policy';

// One file over 250 lines on purpose: it is the only reader of process.env (a lint rule enforces
// it), so every variable, its default and its check stay in one schema and one loader.

/** A comma-separated list of secrets (several are allowed during rotation); blanks are dropped. */
const secretList = z
  .string()
  .optional()
  .transform((value) =>
    (value ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0),
  );

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('0.0.0.0'),
  DATABASE_URL: z.string().url().optional(),
  DATA_DIR: z.string().default('./data'),
  DB_POOL_SIZE: positiveInt(10),
  DB_CONNECT_TIMEOUT_SECONDS: positiveInt(5),
  DB_WRITE_TIMEOUT_MS: positiveInt(5_000),
  /** statement_timeout of an operator's event search and bulk-replay count (0: none). */
  DB_SEARCH_TIMEOUT_MS: z.coerce.number().int().min(0).max(3_600_000).default(15_000),
  /** backend_flush_after of the gateway's PostgreSQL sessions, in kB (0: the server's setting). */
  DB_BACKEND_FLUSH_AFTER_KB: z.coerce.number().int().min(0).max(2048).default(256),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  MAX_BODY_BYTES: positiveInt(1024 * 1024),
  /** Bytes a live-stream WebSocket client may leave unread before it is disconnected. */
  STREAM_CLIENT_BUFFER_BYTES: positiveInt(4 * 1024 * 1024),
  SHOPIFY_WEBHOOK_SECRET: secretList,
  EASYPOST_WEBHOOK_SECRET: secretList,
  KEYCLOAK_EVENTS_SECRET: secretList,
  OPS_API_TOKEN: secretList,
  /** Read-only token(s) accepted on /metrics only (OPS_API_TOKEN works there too). */
  METRICS_TOKEN: secretList,
  /** Path of a JSON or YAML file listing push sources (see src/config/file.ts). */
  GATEWAY_CONFIG: z.string().min(1).optional(),
  WORKER_CRON: z
    .string()
    .default('* * * * * *')
    .refine((expr) => cron.validate(expr), 'not a valid cron expression'),
  WORKER_BATCH_SIZE: positiveInt(50),
  // 50, not 10: a claim is one statement whatever its size, and the worker claims at most as many
  // events as it has free slots; at 10 the default `npm start` completed 2,100–2,600 events/s under a
  // 50-connection burst and fell behind, at 50 it kept up at 4,200–4,400/s (docs/performance.md).
  WORKER_CONCURRENCY: positiveInt(50),
  WORKER_LEASE_SECONDS: positiveInt(60),
  /**
   * 'on': events stored by this process are claimed for its own worker by their insert
   * (docs/worker.md, *Hand-off*). Off by default until a test run that hung at 100 % CPU in a
   * gateway test with a faked Date (2026-12-03, cause not found) is understood.
   */
  WORKER_HANDOFF: z.enum(['on', 'off']).default('on'),
  MAX_ATTEMPTS: positiveInt(8),
  RETRY_BASE_MS: positiveInt(5_000),
  RETRY_MAX_MS: positiveInt(60 * 60 * 1000),
  SHUTDOWN_TIMEOUT_MS: positiveInt(25_000),
  RATE_LIMIT_PER_SECOND: z.coerce.number().min(0).default(0),
  RATE_LIMIT_BURST: z.coerce.number().int().min(0).default(0),
  UNVERIFIED_RATE_LIMIT_PER_SECOND: z.coerce.number().min(0).default(0),
  UNVERIFIED_RATE_LIMIT_BURST: z.coerce.number().int().min(0).default(0),
  /** How many reverse proxies in front of the gateway append to X-Forwarded-For (0: ignore the header). */
  TRUST_PROXY: z.coerce.number().int().min(0).max(10).default(0),
  MAX_CONNECTIONS: positiveInt(1000),
  REJECTION_LOG_LIMIT: z.coerce.number().int().min(0).default(10),
  REJECTION_LOG_INTERVAL_SECONDS: positiveInt(60),
  REJECTED_REQUESTS_PER_MINUTE: z.coerce.number().int().min(0).default(20),
  REJECTED_REQUESTS_BUFFER: positiveInt(1000),
  REJECTED_REQUESTS_RETENTION_DAYS: positiveInt(7),
  REQUEST_TIMEOUT_MS: positiveInt(30_000),
  HEADERS_TIMEOUT_MS: positiveInt(10_000),
  RETENTION_COMPLETED_DAYS: positiveInt(30),
  RETENTION_FAILED_DAYS: positiveInt(90),
  RETENTION_CRON: z
    .string()
    .default('17 * * * *')
    .refine((expr) => cron.validate(expr), 'not a valid cron expression'),
  /** OpenTelemetry traces: `otlp` exports them, `off` never does; unset means on when an OTLP endpoint is set. */
  TRACING: z.enum(['otlp', 'off']).optional(),
  OTEL_EXPORTER_OTLP_ENDPOINT: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL, e.g. http://collector:4318' })
    .optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL, e.g. http://collector:4318/v1/traces' })
    .optional(),
  OTEL_SERVICE_NAME: z.string().default('webhook-gateway'),
  /** Master key sealing secrets stored in the database: 32 random bytes, base64 (src/control/crypto.ts). */
  GATEWAY_MASTER_KEY: z.string().optional(),
  GATEWAY_MASTER_KEY_FILE: z.string().optional(),
  /** The key before a rotation, still accepted for reading until `keys rotate` has re-sealed everything. */
  GATEWAY_MASTER_KEY_PREVIOUS: z.string().optional(),
  /** Backstop re-read of runtime-managed sources, besides NOTIFY. */
  CONTROL_REFRESH_SECONDS: z.coerce.number().positive().max(3600).default(5),
  /** `start --web-processes` overrides it. */
  WEB_PROCESSES: z.coerce.number().int().min(1).max(64).default(1),
  /** How far V8 lets the heap grow past the live data before a full collection (src/gateway/heap-growth.ts); 0 = V8's own. */
  HEAP_GROWING_PERCENT: z.coerce.number().int().min(0).max(300).default(50),
  /** 'true': outbound requests also refuse loopback, RFC 1918, CGNAT and ULA addresses (src/outbound/policy.ts). */
  OUTBOUND_DENY_PRIVATE: z.enum(['true', 'false'], { error: 'must be true or false' }).default('false'),
  /** Comma-separated CIDRs exempt from every outbound refusal. */
  OUTBOUND_ALLOW_CIDRS: z
    .string()
    .default('')
    .transform((value, ctx) => {
      const parsed = parseCidrList(value);
      if ('cidrs' in parsed) return parsed.cidrs;
      ctx.addIssue({
        code: 'custom',
        message: `not a CIDR: ${parsed.invalid.map((s) => JSON.stringify(s)).join(', ')}; write address/prefix, comma-separated, e.g. 10.1.0.0/16,fd00:1::/64`,
      });
      return z.NEVER;
    }),
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

export interface GatewayConfig {
  port: number;
  host: string;
  database: {
    url?: string;
    dataDir: string;
    poolSize: number;
    connectTimeoutSeconds: number;
    writeTimeoutMs: number;
    backendFlushAfterKb: number;
    /** Longest an operator's event search may run before the database stops it (0: no limit). */
    searchTimeoutMs: number;
  };
  logLevel: Env['LOG_LEVEL'];
  maxBodyBytes: number;
  /** Bytes a live-stream WebSocket client may leave unread before it is disconnected (1008). */
  streamClientBufferBytes: number;
  secrets: { shopify: string[]; easypost: string[]; keycloak: string[] };
  /** Sources from the GATEWAY_CONFIG file (empty without one); a name used here replaces the env source. */
  sources: SourceConfig[];
  /** The GATEWAY_CONFIG file's top-level `destinations:` (read-only at runtime; docs/destinations.md). */
  destinations: FileDestination[];
  /** Pull-polling sources from the GATEWAY_CONFIG file's `polls` list (empty without one). */
  polls: PollSourceOptions[];
  opsTokens: string[];
  /** Tokens accepted on /metrics only, besides the ops tokens. */
  metricsTokens: string[];
  worker: {
    cron: string;
    batchSize: number;
    concurrency: number;
    leaseSeconds: number;
    /** New events stored by this process are claimed for its own worker by their insert (web + worker roles). */
    handOff: boolean;
    maxAttempts: number;
    retryBaseMs: number;
    retryMaxMs: number;
  };
  shutdownTimeoutMs: number;
  retention: { completedDays: number; failedDays: number; cron: string; batchSize: number };
  /** Default per-source ingest rate limit (per process); undefined = unlimited. */
  rateLimit?: { perSecond: number; burst: number };
  /** Slow-client protection: whole request, and headers alone. */
  timeouts: { requestMs: number; headersMs: number };
  /** Web processes `start` runs (node:cluster) besides the worker; 1 = web and worker in one process. */
  webProcesses: number;
  /** V8's heap growing factor for the `start` process, as 1 + percent/100; 0 leaves V8's own. */
  heapGrowingPercent: number;
  /** Set variables that look like ours but are not (a typo), with the setting they probably meant. */
  unknownVariables: { name: string; suggestion: string }[];
  /** Per client address, for ingest requests that fail verification; undefined = unlimited. */
  unverifiedRateLimit?: { perSecond: number; burst: number };
  /** Reverse proxies whose X-Forwarded-For entries are trusted (0: the socket address is the client). */
  trustProxy: number;
  /** Most open connections to the HTTP server; more are closed as soon as they are accepted. */
  maxConnections: number;
  /** Rejected ingest requests logged per source and reason per interval; the rest are counted. */
  rejectionLog: { limit: number; intervalMs: number };
  /** OpenTelemetry traces sent over OTLP/HTTP to `url`, or none (the default). */
  tracing: { enabled: boolean; url: string; serviceName: string };
  /**
   * The rejected-request log: rows kept per source, cause and minute (the rest aggregated), the
   * in-memory buffer between batch writes, the batch interval and the retention.
   */
  rejectedRequests: { perMinute: number; bufferSize: number; flushIntervalMs: number; retentionDays: number };
  /** The config file's `alerts:` section (src/alerts/config.ts). */
  alerts: AlertsConfig;
  /** Runtime-managed sources (src/control): secrets' master keys, and the backstop re-read interval. */
  control: { keyring?: Keyring; refreshMs: number };
  /** Where the gateway's own requests (destinations, alert channels, SPS REST) may connect (src/outbound). */
  outbound: OutboundSettings;
}

export { ConfigError };

/** Validates the environment once, at start-up; the rest of the code never reads process.env. */
export function loadConfig(rawEnv: NodeJS.ProcessEnv = process.env): GatewayConfig {
  // An empty variable means unset (`DATABASE_URL= npm start` is the embedded default, not "Invalid URL"),
  // as a shell or a compose file easily leaves one defined but blank.
  const env = Object.fromEntries(
    Object.entries(rawEnv).filter(([, value]) => value !== undefined && value.trim() !== ''),
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
  const outbound: OutboundSettings = { denyPrivate: e.OUTBOUND_DENY_PRIVATE === 'true', allowCidrs: e.OUTBOUND_ALLOW_CIDRS };
  const refused = refusedFileTargets(outbound, { sources, destinations, polls, alerts });
  if (refused.length > 0) throw new ConfigError(`Invalid GATEWAY_CONFIG: ${refused.join('; ')}`);
  let keyring: Keyring | undefined;
  try {
    keyring = loadKeyring({
      key: e.GATEWAY_MASTER_KEY,
      keyFile: e.GATEWAY_MASTER_KEY_FILE,
      previous: e.GATEWAY_MASTER_KEY_PREVIOUS,
    });
  } catch (err) {
    throw new ConfigError(`Invalid configuration: ${(err as Error).message}`);
  }
  return {
    control: { keyring, refreshMs: e.CONTROL_REFRESH_SECONDS * 1000 },
    port: e.PORT,
    host: e.HOST,
    database: {
      url: e.DATABASE_URL,
      dataDir: e.DATA_DIR,
      poolSize: e.DB_POOL_SIZE,
      connectTimeoutSeconds: e.DB_CONNECT_TIMEOUT_SECONDS,
      writeTimeoutMs: e.DB_WRITE_TIMEOUT_MS,
      backendFlushAfterKb: e.DB_BACKEND_FLUSH_AFTER_KB,
      searchTimeoutMs: e.DB_SEARCH_TIMEOUT_MS,
    },
    logLevel: e.LOG_LEVEL,
    maxBodyBytes: e.MAX_BODY_BYTES,
    streamClientBufferBytes: e.STREAM_CLIENT_BUFFER_BYTES,
    secrets: {
      shopify: e.SHOPIFY_WEBHOOK_SECRET,
      easypost: e.EASYPOST_WEBHOOK_SECRET,
      keycloak: e.KEYCLOAK_EVENTS_SECRET,
    },
    sources,
    destinations,
    polls,
    opsTokens: e.OPS_API_TOKEN,
    metricsTokens: e.METRICS_TOKEN,
    worker: {
      cron: e.WORKER_CRON,
      batchSize: e.WORKER_BATCH_SIZE,
      concurrency: e.WORKER_CONCURRENCY,
      leaseSeconds: e.WORKER_LEASE_SECONDS,
      handOff: e.WORKER_HANDOFF === 'on',
      maxAttempts: e.MAX_ATTEMPTS,
      retryBaseMs: e.RETRY_BASE_MS,
      retryMaxMs: e.RETRY_MAX_MS,
    },
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    rateLimit:
      e.RATE_LIMIT_PER_SECOND > 0
        ? { perSecond: e.RATE_LIMIT_PER_SECOND, burst: e.RATE_LIMIT_BURST || Math.ceil(e.RATE_LIMIT_PER_SECOND) }
        : undefined,
    timeouts: { requestMs: e.REQUEST_TIMEOUT_MS, headersMs: e.HEADERS_TIMEOUT_MS },
    webProcesses: e.WEB_PROCESSES,
    heapGrowingPercent: e.HEAP_GROWING_PERCENT,
    unknownVariables: nearMisses(Object.keys(env), KNOWN_VARIABLES),
    unverifiedRateLimit:
      e.UNVERIFIED_RATE_LIMIT_PER_SECOND > 0
        ? {
            perSecond: e.UNVERIFIED_RATE_LIMIT_PER_SECOND,
            burst: e.UNVERIFIED_RATE_LIMIT_BURST || Math.ceil(e.UNVERIFIED_RATE_LIMIT_PER_SECOND),
          }
        : undefined,
    trustProxy: e.TRUST_PROXY,
    maxConnections: e.MAX_CONNECTIONS,
    rejectionLog: { limit: e.REJECTION_LOG_LIMIT, intervalMs: e.REJECTION_LOG_INTERVAL_SECONDS * 1000 },
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
    rejectedRequests: {
      perMinute: e.REJECTED_REQUESTS_PER_MINUTE,
      bufferSize: e.REJECTED_REQUESTS_BUFFER,
      flushIntervalMs: 1000,
      retentionDays: e.REJECTED_REQUESTS_RETENTION_DAYS,
    },
    alerts,
    outbound,
    retention: {
      completedDays: e.RETENTION_COMPLETED_DAYS,
      failedDays: e.RETENTION_FAILED_DAYS,
      cron: e.RETENTION_CRON,
      batchSize: 1000,
    },
  };
}

/**
 * The file's destination and alert channel URLs, SMTP server and SFTP poll hosts whose host is an IP
 * address the gateway refuses to connect to, as the API answers 400 for them (src/outbound/policy.ts).
 * Only the address is named: a Slack URL is a credential. A host name is judged when it is resolved.
 */
function refusedFileTargets(
  outbound: OutboundSettings,
  file: { sources: SourceConfig[]; destinations: FileDestination[]; polls: PollSourceOptions[]; alerts: AlertsConfig },
): string[] {
  const policy = createOutboundPolicy(outbound);
  const urls = [
    ...file.destinations.map((d) => ({ what: `destination "${d.name}"`, url: d.url })),
    ...file.sources.flatMap((s) => s.processing.destinations.map((d) => ({ what: `source "${s.name}" destination "${d.name}"`, url: d.url }))),
    ...file.alerts.channels.flatMap((c) => ('url' in c ? [{ what: `alert channel "${c.name}"`, url: c.url }] : [])),
  ];
  const hosts = [
    ...(file.alerts.smtp ? [{ what: 'alerts.smtp', host: file.alerts.smtp.host }] : []),
    ...file.polls.flatMap((p) => (p.kind === 'sps-sftp' ? [{ what: `poll source "${p.name}"`, host: p.host }] : [])),
  ];
  return [
    ...urls.flatMap(({ what, url }) => {
      const refusal = policy.urlRefusal(url);
      return refusal ? [`${what}: url: ${refusal}`] : [];
    }),
    ...hosts.flatMap(({ what, host }) => {
      const refusal = policy.hostRefusal(host);
      return refusal ? [`${what}: host: ${refusal}`] : [];
    }),
  ];
}

/** The env-configured sources' secrets, checked as their provider checks a config-file secret. */
function envSecretProblems(e: Env): string[] {
  const variables = {
    SHOPIFY_WEBHOOK_SECRET: 'shopify',
    EASYPOST_WEBHOOK_SECRET: 'easypost',
    KEYCLOAK_EVENTS_SECRET: 'keycloak',
  } as const;
  return Object.entries(variables).flatMap(([variable, provider]) => {
    const module: ProviderModule = providerModules[provider];
    return e[variable as keyof typeof variables].flatMap((secret, index) => {
      const problem = module.checkSecret(secret, module.options.parse({}));
      // Never the secret itself: its position in the comma-separated list.
      return problem
        ? [`${variable}${e[variable as keyof typeof variables].length > 1 ? ` (secret ${index + 1})` : ''}: ${problem}`]
        : [];
    });
  });
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
