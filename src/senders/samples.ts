import { randomUUID } from 'node:crypto';
import type { ProviderName } from '../../providers';

/** A sample delivery `trigger` sends: a provider's own example payload (see providers/samples/README.md). */
export interface Sample {
  provider: ProviderName;
  /** The topic as the provider names it (and the gateway stores it). */
  event: string;
  file: string;
}

export const SAMPLES: readonly Sample[] = [
  { provider: 'shopify', event: 'orders/create', file: 'shopify-orders-create.json' },
  { provider: 'easypost', event: 'tracker.updated', file: 'easypost-tracker.updated.json' },
  { provider: 'stripe', event: 'payment_intent.succeeded', file: 'stripe-payment_intent.succeeded.json' },
  { provider: 'github', event: 'push', file: 'github-push.json' },
  { provider: 'github', event: 'ping', file: 'github-ping.json' },
  { provider: 'keycloak', event: 'LOGIN', file: 'keycloak-login.json' },
];

/** Top-level keys providers take the event id from (Stripe, EasyPost: id; Keycloak: uid or id). */
const ID_KEYS = ['id', 'uid'];

/**
 * The sample with fresh event ids where the provider takes the id from the payload, so every
 * trigger is a new event rather than a duplicate of the last one. Only top-level string ids
 * change (prefix kept: evt_…); the text is re-serialised with the sample's own indentation.
 * Samples whose ids are in headers (Shopify, GitHub) are sent byte for byte.
 */
export function withFreshIds(body: Buffer, idInPayload: boolean): Buffer {
  if (!idInPayload) return body;
  const text = body.toString('utf8');
  const value = JSON.parse(text) as Record<string, unknown>;
  for (const key of ID_KEYS) {
    const id = value[key];
    if (typeof id !== 'string') continue;
    const prefix = /^[A-Za-z]+_/.exec(id)?.[0];
    value[key] = prefix ? `${prefix}${randomUUID().replaceAll('-', '')}` : randomUUID();
  }
  const indent = /^\{\s*\n( +)"/.exec(text)?.[1]?.length ?? 0;
  return Buffer.from(JSON.stringify(value, null, indent) + (text.endsWith('\n') ? '\n' : ''));
}
