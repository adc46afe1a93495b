import type { GatewayConfig } from './config/env';
import { weakTokenWarnings } from './config/weak-tokens';
import type { PushSource } from './ingest/sources';
import { WORKER_HTTP_PATHS } from './gateway/worker-http';

export interface StartupReport {
  /** The fields of the one start-up summary line. */
  summary: Record<string, unknown>;
  /** Things that are legal but almost certainly not what the operator wants. */
  warnings: string[];
}

/**
 * What the start-up log says: role, database, every source that can accept webhooks and its URLs,
 * whether the ops API is usable; and warnings for set-ups that silently do nothing useful.
 */
export function startupReport(options: {
  config: GatewayConfig;
  role: 'web' | 'worker' | 'all';
  databaseKind: 'postgres' | 'pglite';
  sources: readonly PushSource[];
  port?: number;
  /** Where a worker-only process's own listener is (WORKER_HTTP_PORT), when it has one. */
  workerHttpPort?: number;
}): StartupReport {
  const { config, role, databaseKind, sources, port, workerHttpPort } = options;
  const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  const origin = (at: number) => `http://${host.includes(':') ? `[${host}]` : host}:${at}`;
  const base = port === undefined ? undefined : origin(port);
  // A source that verifies with keys of its own (Keycloak's realm-signed JWTs) accepts webhooks without a secret.
  const configured = sources.filter((s) => s.secrets.length > 0 || s.provider.verifiesWithoutSecrets);
  const unconfigured = sources.filter((s) => !configured.includes(s)).map((s) => s.name);
  const summary: Record<string, unknown> = {
    role,
    database: databaseKind === 'pglite' ? `embedded (PGlite, ${config.database.dataDir})` : 'postgres',
    sources: Object.fromEntries(
      configured.map((s) => [s.name, s.paths.map((p) => (base ? `${base}${p}` : p).replace(/\/\*$/, '/…'))]),
    ),
    ...(unconfigured.length > 0 ? { sourcesWithoutSecret: unconfigured } : {}),
    ...(config.polls.length > 0 ? { polls: config.polls.map((p) => p.name) } : {}),
    opsToken: config.opsTokens.length > 0 ? 'set' : 'not set',
    ...(base ? { ui: `${base}/ui` } : {}),
    ...(workerHttpPort === undefined
      ? {}
      : { workerHttp: WORKER_HTTP_PATHS.map((p) => `${origin(workerHttpPort)}${p}`) }),
  };
  const warnings: string[] = [];
  if (configured.length === 0 && config.polls.length === 0 && role !== 'worker') {
    warnings.push(
      'no source is configured: every webhook is answered 503 source_not_configured. Set SHOPIFY_WEBHOOK_SECRET, ' +
        'EASYPOST_WEBHOOK_SECRET or KEYCLOAK_EVENTS_SECRET, list sources in a GATEWAY_CONFIG file (docs/providers.md), ' +
        'or create one at runtime (webhook-gateway sources create, docs/control-plane.md).',
    );
  }
  if (config.opsTokens.length === 0 && role !== 'worker') {
    warnings.push(
      'OPS_API_TOKEN is not set: the ops API, the UI at /ui and the CLI refuse every request. Set OPS_API_TOKEN to a long random value.',
    );
  }
  if (role !== 'worker') {
    warnings.push(...weakTokenWarnings({ OPS_API_TOKEN: config.opsTokens, METRICS_TOKEN: config.metricsTokens }));
  }
  if (role === 'web' && databaseKind === 'pglite') {
    warnings.push(
      '--role web on the embedded database: no other process can open it, so events are stored but never processed. ' +
        'Use --role all, or PostgreSQL (DATABASE_URL) with a separate --role worker process.',
    );
  }
  // Ignored rather than refused: one environment is often shared by `all` and `worker` processes.
  if (role === 'all' && config.worker.httpPort !== undefined) {
    warnings.push(
      `WORKER_HTTP_PORT=${config.worker.httpPort} is ignored with --role all: the web server on PORT ${config.port} serves ` +
        '/healthz, /readyz and /metrics for the whole process. It is for --role worker and the worker of --web-processes.',
    );
  }
  for (const { name, suggestion } of config.unknownVariables) {
    warnings.push(`${name} is set but is not a setting of the gateway: did you mean ${suggestion}?`);
  }
  return { summary, warnings };
}
