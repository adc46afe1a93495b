import { randomUUID } from 'node:crypto';
import { sign as octokitSign } from '@octokit/webhooks-methods';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSourcesDocument } from '../src/config/file';
import { databaseKinds } from './helpers/database';
import { startTestGateway, type TestGateway } from './helpers/gateway';
import { post, shopifySignature } from './helpers/signers';

// What a repeat is, for senders whose ids are not what they seem: GitHub reuses one delivery GUID
// for every hook subscribed to an event; Shopify sends two header spellings and an event id shared
// by several deliveries. The dedupe key lives in the database's unique index, so both engines.
const GITHUB_SECRET = 'github-dedupe-secret-0123';
const SHOP_SECRET = 'shpss_dedupe_secret_0123456789';

describe.each(databaseKinds())('dedupe keys on %s', (kind) => {
  let gw: TestGateway;
  beforeAll(async () => {
    const sources = parseSourcesDocument(
      {
        sources: [
          { name: 'gh', provider: 'github', secrets: [GITHUB_SECRET] },
          { name: 'shop', provider: 'shopify', secrets: [SHOP_SECRET] },
          { name: 'shop-events', provider: 'shopify', secrets: [SHOP_SECRET], dedupe: 'event_id' },
        ],
      },
      {},
    );
    gw = await startTestGateway(kind, { sources }, { role: 'web' });
  });
  afterAll(() => gw?.stop());

  const rows = (source: string) =>
    gw.query<{ webhook_id: string; body: Buffer; headers: Record<string, string> }>(
      'select webhook_id, body, headers from webhook_events where source = $1 order by id',
      [source],
    );

  describe('github', () => {
    // Two repository webhooks subscribed to the same push: GitHub sends each its own delivery with
    // the same X-GitHub-Delivery GUID and the hook's own X-GitHub-Hook-ID (and here, as when the
    // hooks differ in content type or secret, different bytes).
    const deliver = async (hookId: string | undefined, guid: string, body: string) =>
      post(`${gw.url}/api/webhooks/gh`, body, {
        'x-hub-signature-256': await octokitSign(GITHUB_SECRET, body),
        'x-github-event': 'push',
        'x-github-delivery': guid,
        ...(hookId ? { 'x-github-hook-id': hookId } : {}),
      });

    it('two hooks delivering the same event are two events; each keeps its own payload', async () => {
      const guid = randomUUID();
      const first = await deliver('412345678', guid, '{"ref":"refs/heads/main","hook":"ci"}');
      const second = await deliver('498765432', guid, '{"ref":"refs/heads/main","hook":"deploy"}');
      expect([first.json.status, second.json.status]).toEqual(['accepted', 'accepted']);
      const stored = (await rows('gh')).filter((r) => r.webhook_id.endsWith(guid));
      expect(stored.map((r) => [r.webhook_id, Buffer.from(r.body).toString()])).toEqual([
        [`412345678/${guid}`, '{"ref":"refs/heads/main","hook":"ci"}'],
        [`498765432/${guid}`, '{"ref":"refs/heads/main","hook":"deploy"}'],
      ]);
      expect(stored[1]!.headers['x-github-hook-id']).toBe('498765432');
    });

    it('a redelivery to the same hook is still a duplicate', async () => {
      const guid = randomUUID();
      const body = '{"zen":"Keep it logically awesome."}';
      const answers = [await deliver('412345678', guid, body), await deliver('412345678', guid, body)];
      expect(answers.map((a) => a.json.status)).toEqual(['accepted', 'duplicate']);
    });

    it('a delivery without X-GitHub-Hook-ID keeps the bare GUID as its key', async () => {
      const guid = randomUUID();
      const body = '{"action":"opened"}';
      const answers = [await deliver(undefined, guid, body), await deliver(undefined, guid, body)];
      expect(answers.map((a) => a.json.status)).toEqual(['accepted', 'duplicate']);
      expect((await rows('gh')).filter((r) => r.webhook_id === guid)).toHaveLength(1);
    });
  });

  describe('shopify', () => {
    const SHOP = 'acme.myshopify.com';
    const prefixed = (body: string, webhookId: string, eventId?: string) => ({
      'x-shopify-hmac-sha256': shopifySignature(SHOP_SECRET, body),
      'x-shopify-topic': 'orders/create',
      'x-shopify-shop-domain': SHOP,
      'x-shopify-api-version': '2025-01',
      'x-shopify-webhook-id': webhookId,
      ...(eventId ? { 'x-shopify-event-id': eventId } : {}),
    });
    // The same headers without the X- prefix, as @shopify/shopify-api's validator reads them.
    const unprefixed = (body: string, webhookId: string, eventId?: string) =>
      Object.fromEntries(Object.entries(prefixed(body, webhookId, eventId)).map(([k, v]) => [k.slice(2), v]));

    it('a delivery in the unprefixed spelling is verified and keyed like the X- spelling', async () => {
      const body = '{"id":820982911946154508,"total_price":"199.00"}';
      const res = await post(`${gw.url}/api/webhooks/shop`, body, unprefixed(body, 'wh-unprefixed-1'));
      expect(res.status, JSON.stringify(res.json)).toBe(200);
      expect(res.json.status).toBe('accepted');
      const [row] = await gw.query<{
        webhook_id: string;
        topic: string;
        account: string;
        headers: Record<string, string>;
      }>('select webhook_id, topic, account, headers from webhook_events where id = $1', [res.json.id]);
      expect(row).toMatchObject({ webhook_id: `${SHOP}/wh-unprefixed-1`, topic: 'orders/create', account: SHOP });
      // Kept as sent, in the sender's spelling; the signature is never kept.
      expect(row!.headers).toMatchObject({ 'shopify-webhook-id': 'wh-unprefixed-1', 'shopify-api-version': '2025-01' });
      expect(row!.headers['shopify-hmac-sha256']).toBeUndefined();
    });

    it('the same delivery retried in the other spelling is a duplicate', async () => {
      const body = '{"id":1001}';
      const first = await post(`${gw.url}/api/webhooks/shop`, body, prefixed(body, 'wh-both-spellings'));
      const retry = await post(`${gw.url}/api/webhooks/shop`, body, unprefixed(body, 'wh-both-spellings'));
      expect([first.json.status, retry.json.status]).toEqual(['accepted', 'duplicate']);
    });

    it('an unprefixed signature that does not match is rejected naming its header', async () => {
      const body = '{"id":1002}';
      const headers = {
        ...unprefixed(body, 'wh-bad'),
        'shopify-hmac-sha256': shopifySignature('another-secret-of-16+', body),
      };
      const res = await post(`${gw.url}/api/webhooks/shop`, body, headers);
      expect(res.status).toBe(401);
      expect(res.json.error).toEqual({
        code: 'invalid_signature',
        message: 'Signature in shopify-hmac-sha256 does not match the request body',
      });
    });

    it('spellings are not mixed: an unprefixed signature with X- ids is missing its ids', async () => {
      const body = '{"id":1003}';
      const { 'x-shopify-hmac-sha256': signature, ...ids } = prefixed(body, 'wh-mixed');
      const res = await post(`${gw.url}/api/webhooks/shop`, body, { 'shopify-hmac-sha256': signature, ...ids });
      expect(res.status).toBe(400);
      expect(res.json.error.message).toBe('Required headers missing: shopify-webhook-id, shopify-shop-domain');
    });

    it('by default two deliveries of one event (two subscriptions) are two events', async () => {
      const body = '{"id":1004}';
      const answers = [
        await post(`${gw.url}/api/webhooks/shop`, body, prefixed(body, 'wh-sub-a', 'evt-shared-1')),
        await post(`${gw.url}/api/webhooks/shop`, body, prefixed(body, 'wh-sub-b', 'evt-shared-1')),
      ];
      expect(answers.map((a) => a.json.status)).toEqual(['accepted', 'accepted']);
    });

    it('with dedupe: event_id, a second delivery of the same event is a duplicate in either spelling', async () => {
      const body = '{"id":1005}';
      const answers = [
        await post(`${gw.url}/api/webhooks/shop-events`, body, prefixed(body, 'wh-sub-c', 'evt-shared-2')),
        await post(`${gw.url}/api/webhooks/shop-events`, body, prefixed(body, 'wh-sub-d', 'evt-shared-2')),
        await post(`${gw.url}/api/webhooks/shop-events`, body, unprefixed(body, 'wh-sub-e', 'evt-shared-2')),
      ];
      expect(answers.map((a) => a.json.status)).toEqual(['accepted', 'duplicate', 'duplicate']);
      const stored = (await rows('shop-events')).filter((r) => r.webhook_id.includes('evt-shared-2'));
      expect(stored.map((r) => r.webhook_id)).toEqual([`${SHOP}/event/evt-shared-2`]);
    });

    it('with dedupe: event_id, a delivery without an event id falls back to its webhook id', async () => {
      const body = '{"id":1006}';
      const res = await post(`${gw.url}/api/webhooks/shop-events`, body, prefixed(body, 'wh-no-event-id'));
      expect(res.json.status).toBe('accepted');
      const [row] = await gw.query<{ webhook_id: string }>('select webhook_id from webhook_events where id = $1', [
        res.json.id,
      ]);
      expect(row!.webhook_id).toBe(`${SHOP}/wh-no-event-id`);
    });
  });
});
