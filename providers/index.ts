import { apiKey } from './api-key';
import { basicAuth } from './basic-auth';
import { easypost } from './easypost';
import { genericHmac } from './generic-hmac';
import { github } from './github';
import { keycloak } from './keycloak';
import { shopify } from './shopify';
import { standardWebhooks } from './standard-webhooks';
import { stripe } from './stripe';
import type { ProviderModule } from './types';

export type { EventIdentity, InboundRequest, ProviderModule, PushProvider, Verification } from './types';

/** Every built-in provider module, by the name a config file uses in `provider`. */
export const providerModules = {
  shopify,
  easypost,
  keycloak,
  stripe,
  github,
  'standard-webhooks': standardWebhooks,
  // Svix signs with the Standard Webhooks scheme under svix- header names, which that module reads.
  svix: standardWebhooks,
  'generic-hmac': genericHmac,
  'basic-auth': basicAuth,
  'api-key': apiKey,
} as const satisfies Record<string, ProviderModule>;

export type ProviderName = keyof typeof providerModules;
