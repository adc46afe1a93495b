import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Stripe from 'stripe';

/** Where the Stripe Event fixtures live (see its README). */
export const STRIPE_CORPUS_DIR = path.join(__dirname, '..', 'fixtures', 'stripe');

/** The endpoint's signing secret, as the Dashboard shows it (whsec_…), of the corpus test's source. */
export const STRIPE_CORPUS_SECRET = 'whsec_stripeCorpusEndpointSecret0123456789';

/** One Event as Stripe would send it: its id, its type and its exact bytes. */
export interface StripeExample {
  /** The file: `<type>.json`. */
  name: string;
  /** The Event's `id` (evt_…), what Stripe's retries repeat. */
  id: string;
  /** The Event's `type`: the topic the gateway documents for Stripe. */
  type: string;
  bytes: Buffer;
}

/** Every Event under test/fixtures/stripe/, sorted by name. */
export function loadStripeExamples(): StripeExample[] {
  return readdirSync(STRIPE_CORPUS_DIR)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((name) => {
      const bytes = readFileSync(path.join(STRIPE_CORPUS_DIR, name));
      const { id, type } = JSON.parse(bytes.toString('utf8')) as { id: string; type: string };
      return { name, id, type, bytes };
    });
}

// Signs with stripe-node itself (never with the gateway's code); the API key is never used for a call.
const stripe = new Stripe('sk_test_corpus_not_used_for_calls');

/** `Stripe-Signature` for `body` under each secret, as Stripe sends it during a roll: `t=…,v1=…[,v1=…]`. */
export function stripeSignature(body: Buffer, secrets: readonly string[], timestamp = Math.floor(Date.now() / 1000)) {
  const v1 = secrets.map((secret) =>
    // generateTestHeaderString answers `t=<timestamp>,v1=<hex>` for one secret.
    stripe.webhooks
      .generateTestHeaderString({ payload: body.toString('utf8'), secret, timestamp })
      .replace(/^t=\d+,/, ''),
  );
  return `t=${timestamp},${v1.join(',')}`;
}

/**
 * The headers of a Stripe webhook delivery, as Stripe sends them (the Stripe CLI's debug log of a
 * delivery, stripe/stripe-cli#909, and a captured request in stripe/stripe-java#919):
 * `Content-Type: application/json; charset=utf-8`, `Cache-Control: no-cache`,
 * `User-Agent: Stripe/1.0 (+https://stripe.com/docs/webhooks)`, `Accept: *\/*; q=0.5, application/xml`
 * and `Stripe-Signature`.
 */
export function stripeDelivery(
  body: Buffer,
  options: { secrets?: readonly string[]; timestamp?: number } = {},
): Record<string, string> {
  return {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-cache',
    'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
    accept: '*/*; q=0.5, application/xml',
    'stripe-signature': stripeSignature(body, options.secrets ?? [STRIPE_CORPUS_SECRET], options.timestamp),
  };
}

/** The same Event as Stripe's next retry of it sends: only `pending_webhooks` differs. */
export const withPendingWebhooks = (bytes: Buffer, pending: number) => {
  const text = bytes.toString('utf8');
  const changed = text.replace(/\n {2}"pending_webhooks": \d+,\n/, `\n  "pending_webhooks": ${pending},\n`);
  if (changed === text) throw new Error('no top-level pending_webhooks to change');
  return Buffer.from(changed, 'utf8');
};
