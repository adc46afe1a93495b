import { eventStatus, SECRETS, waitFor, type TestGateway } from './gateway';
import { post, shopifyHeaders } from './signers';

/**
 * Sends one signed Shopify order per webhook id (bodies {"id":1}, {"id":2}, …) and runs the worker
 * until the last one is completed; for a gateway whose cron never fires on its own. Returns the
 * event ids in the order sent.
 */
export async function sendCompletedOrders(gw: TestGateway, webhookIds: string[]): Promise<number[]> {
  const ids: number[] = [];
  for (const [i, webhookId] of webhookIds.entries()) {
    const body = JSON.stringify({ id: i + 1 });
    const sent = await post(`${gw.url}/api/webhooks/shopify`, body, shopifyHeaders(SECRETS.shopify, body, webhookId));
    ids.push(sent.json.id);
  }
  const last = ids.at(-1)!;
  await waitFor(
    async () => {
      await gw.gateway.worker.tick();
      return (await eventStatus(gw, last)) === 'completed';
    },
    20_000,
    'the event to complete',
  );
  return ids;
}
