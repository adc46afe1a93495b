import { expect } from 'vitest';
import { SECRETS, waitFor, type TestGateway } from './gateway';
import { post, shopifyHeaders } from './signers';

// What the outbound guard tests (security-outbound*.test.ts) do through a real gateway: call its
// API, send it a signed webhook, and read the delivery attempts that webhook led to.

const auth = { authorization: `Bearer ${SECRETS.ops}`, 'content-type': 'application/json' };

/** One ops API call: its status and parsed JSON body. */
export async function api(gw: TestGateway, method: string, path: string, body?: unknown) {
  const response = await fetch(`${gw.url}${path}`, {
    method,
    headers: auth,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : undefined };
}

let sent = 0;
/** A signed Shopify webhook; returns the stored event's id. */
export async function sendShopify(gw: TestGateway): Promise<number> {
  const body = JSON.stringify({ id: ++sent });
  const res = await post(
    `${gw.url}/api/webhooks/shopify/orders/create`,
    body,
    shopifyHeaders(SECRETS.shopify, body, `out-${sent}-${Date.now()}`),
  );
  expect(res.status).toBe(200);
  return res.json.id as number;
}

export type Delivery = { destination: string; outcome: string; error: string | null; duration_ms: number };

/** The first recorded attempt for each named destination of event `id`, once all have one. */
export async function firstAttempts(gw: TestGateway, id: number, names: string[]): Promise<Record<string, Delivery>> {
  return (await waitFor(
    async () => {
      const { json } = await api(gw, 'GET', `/api/events/${id}`);
      const found = Object.fromEntries(
        names.map((name) => [name, (json.deliveries as Delivery[]).find((d) => d.destination === name)]),
      );
      return names.every((name) => found[name]) ? (found as Record<string, Delivery>) : undefined;
    },
    10_000,
    `attempts of event ${id} to ${names.join(', ')}`,
  ))!;
}

/** Long enough that a connect timeout could never pass for the refusal a test waits for. */
export const SLOW = 30_000;

/** A GATEWAY_CONFIG destination for the Shopify source, with a connect timeout no refusal could be mistaken for. */
export const fileDestination = (name: string, url: string, secret: string) => ({
  name,
  url,
  secret,
  timeoutMs: SLOW,
  sources: ['shopify'],
});
