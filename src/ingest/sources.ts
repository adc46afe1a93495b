import { providerModules, type ProviderModule, type ProviderName, type PushProvider } from '../../providers';
import type { SourceConfig, SourceSecret } from '../config/file';
import type { GatewayConfig } from '../config/env';
import type { OrderingConfig } from '../ordering/config';
import { orderingReader, type EventOrdering } from '../ordering/key';
import type { RateLimit } from './rate-limit';
import type { Transform } from '../transform/types';
import { sourceMask, type SourceMask } from '../ops/source-mask';

/** A configured push source: what is mounted where, verified with which secrets. */
export interface PushSource {
  /** Stored as webhook_events.source. */
  name: string;
  provider: PushProvider;
  /** The name the file or API gave the provider (svix, not its module's standard-webhooks). */
  providerName: ProviderName;
  /** The provider's options as parsed (defaults applied): what a sender signing for it needs. */
  options: Readonly<Record<string, unknown>>;
  /** Every configured secret; the ones past their not_after are dropped per request. */
  secrets: readonly SourceSecret[];
  /** Route paths (Hono syntax); a trailing `/*` passes the rest of the path as subPath. */
  paths: readonly string[];
  /** Attempts stored with each new event; the gateway-wide MAX_ATTEMPTS when unset. */
  maxAttempts?: number;
  /** Requests per second this process accepts for the source (429 above it); unset = unlimited. */
  rateLimit?: RateLimit;
  /** Per-key ordering of its events (docs/ordering.md); unset: unordered. */
  ordering?: OrderingConfig;
  /** Reads an event's ordering key (set only when `ordering` is: other sources pay nothing at ingest). */
  orderingOf?: (body: Buffer, headers: Readonly<Record<string, string>>) => EventOrdering | undefined;
  /**
   * Whether the identity values ingest logs were read from a masked payload path (src/ops/source-mask.ts):
   * resolved once with the source, so logging them costs ingest a field read. Unset: nothing masked.
   */
  logMask?: Pick<SourceMask, 'webhookId' | 'topic'>;
  /** Run by the worker before routing (docs/destinations.md#a-sources-transformation); ingest never runs it. */
  transform?: Transform;
  /** Largest body ingest reads for it (its `max_body_bytes`); unset: the gateway's MAX_BODY_BYTES. */
  maxBodyBytes?: number;
}

/** The sources configured by environment variables, with the paths documented before config files existed. */
const ENV_SOURCES: readonly { name: 'shopify' | 'easypost' | 'keycloak'; extraPaths: readonly string[] }[] = [
  { name: 'shopify', extraPaths: [] },
  { name: 'easypost', extraPaths: [] },
  { name: 'keycloak', extraPaths: ['/api/keycloak/events'] },
];

/** `/api/webhooks/<name>`, plus `/<name>/*` for providers that route by sub-path. */
const pathsFor = (name: string, module: ProviderModule, extra: readonly string[] = []) => [
  ...extra,
  `/api/webhooks/${name}`,
  ...(module.subPaths ? [`/api/webhooks/${name}/*`] : []),
];

/**
 * Every push source: the GATEWAY_CONFIG file's, and the env-configured Shopify, EasyPost and
 * Keycloak ones unless the file declares a source of the same name (which then also takes over
 * that source's extra paths, so senders need no new URL).
 */
export function sourcesFromConfig(config: GatewayConfig): PushSource[] {
  const declared = new Set(config.sources.map((s) => s.name));
  const extraPaths = (name: string) => ENV_SOURCES.find((s) => s.name === name)?.extraPaths ?? [];
  const fromEnv = ENV_SOURCES.filter(({ name }) => !declared.has(name)).map(({ name }) => {
    const module = providerModules[name];
    const options = module.options.parse({}) as Record<string, unknown>;
    return {
      name,
      provider: module.create(options),
      providerName: name,
      options,
      secrets: config.secrets[name].map((value) => ({ value })),
      paths: pathsFor(name, module, extraPaths(name)),
      rateLimit: config.rateLimit,
    };
  });
  const fromFile = config.sources.map((source) => pushSourceFrom(source, config.rateLimit));
  return [...fromEnv, ...fromFile];
}

/**
 * A validated source entry (the file's, or one stored by the control plane) as ingest serves it.
 * `defaultRateLimit` is the gateway-wide RATE_LIMIT_PER_SECOND, used when the entry sets none.
 */
export function pushSourceFrom(source: SourceConfig, defaultRateLimit?: RateLimit): PushSource {
  const module: ProviderModule = providerModules[source.provider];
  const provider = module.create({ ...source.options });
  const { mask, ordering } = source.processing;
  return {
    name: source.name,
    provider,
    providerName: source.provider,
    options: source.options,
    secrets: source.secrets,
    paths: pathsFor(source.name, module, ENV_SOURCES.find((s) => s.name === source.name)?.extraPaths ?? []),
    maxAttempts: source.processing.retry?.maxAttempts,
    rateLimit: source.processing.rateLimit ?? defaultRateLimit,
    ordering,
    orderingOf: ordering && orderingReader(source.name, ordering),
    transform: source.processing.transform,
    maxBodyBytes: source.processing.maxBodyBytes,
    ...(mask.length > 0 ? { logMask: sourceMask(mask, { identityPaths: provider.identityPaths, ordering }) } : {}),
  };
}
