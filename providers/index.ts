import { easypost } from './easypost';
import { keycloak } from './keycloak';
import { shopify } from './shopify';
import type { PushProvider } from './types';

export type { EventIdentity, InboundRequest, PushProvider } from './types';

/** Every built-in push provider, by name. */
export const providers: Readonly<Record<string, PushProvider>> = { shopify, easypost, keycloak };
