import { providers, type PushProvider } from '../../providers';
import type { GatewayConfig } from '../config';

/** A configured push source: what is mounted where, verified with which secrets. */
export interface PushSource {
  /** Stored as webhook_events.source. */
  name: string;
  provider: PushProvider;
  secrets: readonly string[];
  /** Route paths (Hono syntax); a trailing `/*` passes the rest of the path as subPath. */
  paths: readonly string[];
}

/** The env-configured sources: Shopify, EasyPost and Keycloak at their documented paths. */
export function sourcesFromConfig(config: GatewayConfig): PushSource[] {
  return [
    {
      name: 'shopify',
      provider: providers.shopify!,
      secrets: config.secrets.shopify,
      paths: ['/api/webhooks/shopify', '/api/webhooks/shopify/*'],
    },
    {
      name: 'easypost',
      provider: providers.easypost!,
      secrets: config.secrets.easypost,
      paths: ['/api/webhooks/easypost'],
    },
    {
      name: 'keycloak',
      provider: providers.keycloak!,
      secrets: config.secrets.keycloak,
      paths: ['/api/keycloak/events', '/api/webhooks/keycloak'],
    },
  ];
}
