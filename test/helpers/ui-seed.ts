import { createHmac } from 'node:crypto';
import { PermanentError } from '../../src/worker/handlers';
import { SECRETS, waitFor, type TestGateway } from './gateway';
import { easypostSignature, post, shopifyHeaders } from './signers';

/** A payload that would run script if the UI ever put data into the page as HTML. */
export const HOSTILE_PAYLOAD = {
  id: 'evt_hostile',
  description: 'tracker.updated',
  note: '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>',
};

/**
 * A Shopify order whose numbers JSON.parse would change (ids above 2^53, long decimals) or
 * rewrite (exponents, -0, trailing zeros); the UI must show each literal exactly as sent.
 */
export const EXACT_BODY =
  '{"id":820982911946154508,"total":12345678901234567890.120,"tiny":1E-7,"zero":-0,"price":1.10,"items":[{"variant_id":43729076486375834}]}';
export const EXACT_LITERALS = [
  '820982911946154508',
  '12345678901234567890.120',
  '1E-7',
  '-0',
  '1.10',
  '43729076486375834',
];

export interface Seeded {
  completed: number[];
  failed: number[];
  hostile: number;
  /** The event whose body is EXACT_BODY. */
  exact: number;
  /** Lets the failing handler succeed from now on (so a replay completes). */
  heal(): void;
}

/**
 * A realistic mix of events through real signed requests: Shopify orders that complete, orders
 * the ERP rejects (failed at once), EasyPost trackers, a Keycloak login, a hostile payload, and an
 * order whose numbers only survive a lossless parser.
 */
export async function seedEvents(gw: TestGateway, options: { orders?: number } = {}): Promise<Seeded> {
  let healed = false;
  gw.gateway.on('shopify', 'orders/paid', async () => {
    await new Promise((r) => setTimeout(r, 5));
    if (!healed) throw new PermanentError('ERP rejected order: credit limit exceeded for customer 4411');
  });
  gw.gateway.on('shopify', 'orders/create', () => new Promise((r) => setTimeout(r, 10 + Math.random() * 30)));

  const shopify = async (topic: string, n: number) => {
    const body = JSON.stringify({
      id: 5_800_000_000 + n,
      name: `#${1000 + n}`,
      total_price: `${(n * 17.5).toFixed(2)}`,
      currency: 'EUR',
    });
    const res = await post(
      `${gw.url}/api/webhooks/shopify/${topic}`,
      body,
      shopifyHeaders(SECRETS.shopify, body, `wh-${topic}-${n}`, 'acme.myshopify.com', topic),
    );
    return res.json.id as number;
  };
  const easypost = async (payload: object) => {
    const body = JSON.stringify(payload);
    const res = await post(`${gw.url}/api/webhooks/easypost`, body, {
      'x-hmac-signature': easypostSignature(SECRETS.easypost, body),
    });
    return res.json.id as number;
  };

  const completed: number[] = [];
  const failed: number[] = [];
  for (let n = 1; n <= (options.orders ?? 4); n++) completed.push(await shopify('orders/create', n));
  completed.push(
    await easypost({ id: 'trk_1', description: 'tracker.updated', result: { status: 'in_transit', carrier: 'DHL' } }),
  );
  failed.push(await shopify('orders/paid', 1));
  const login = JSON.stringify({
    uid: 'kc-1',
    type: 'LOGIN',
    realmId: 'acme',
    clientId: 'web',
    userId: 'u-1',
    ipAddress: '203.0.113.9',
    time: Date.now(),
  });
  const kc = await post(`${gw.url}/api/keycloak/events`, login, {
    'x-keycloak-signature': createHmac('sha256', SECRETS.keycloak).update(login).digest('hex'),
  });
  completed.push(kc.json.id);
  failed.push(await shopify('orders/paid', 2));
  const hostile = await easypost(HOSTILE_PAYLOAD);
  completed.push(hostile);
  const exactRes = await post(
    `${gw.url}/api/webhooks/shopify/orders/create`,
    EXACT_BODY,
    shopifyHeaders(SECRETS.shopify, EXACT_BODY, 'wh-exact-1', 'acme.myshopify.com', 'orders/create'),
  );
  const exact = exactRes.json.id as number;
  completed.push(exact);

  await waitFor(
    async () => {
      await gw.gateway.worker.tick();
      const rows = await gw.query<{ n: number }>(
        `select count(*)::int as n from webhook_events where status in ('completed', 'failed')`,
      );
      return rows[0]!.n === completed.length + failed.length;
    },
    20_000,
    'seeded events processed',
  );
  return { completed, failed, hostile, exact, heal: () => (healed = true) };
}
