import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { easypostSignature, post, shopifyHeaders, shopifySignature } from './helpers/signers';

describe.each(databaseKinds())('ingest on %s', (kind) => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway(kind, {
      secrets: {
        shopify: ['old-shopify-secret', SECRETS.shopify],
        easypost: [SECRETS.easypost],
        keycloak: [SECRETS.keycloak],
      },
    });
  });
  afterAll(() => gw?.stop());

  const count = async (where = 'true', params: unknown[] = []) =>
    Number((await gw.query<{ n: string }>(`select count(*) as n from webhook_events where ${where}`, params))[0]!.n);

  describe('shopify', () => {
    const body = JSON.stringify({ id: 820982911946154500, email: 'jon@example.com', total_price: '199.00' });

    it('accepts a signed delivery, stores the raw bytes once and processes it to completed', async () => {
      const res = await post(
        `${gw.url}/api/webhooks/shopify/orders/create`,
        body,
        shopifyHeaders(SECRETS.shopify, body, 'sh-1'),
      );
      expect(res.status).toBe(200);
      expect(res.json).toEqual({ status: 'accepted', id: expect.any(Number) });
      const [row] = await gw.query<{ body: Buffer | Uint8Array; topic: string; account: string; webhook_id: string }>(
        'select body, topic, account, webhook_id from webhook_events where id = $1',
        [res.json.id],
      );
      expect(Buffer.from(row!.body).toString('utf8')).toBe(body);
      expect(row).toMatchObject({
        topic: 'orders/create',
        account: 'acme.myshopify.com',
        webhook_id: 'acme.myshopify.com/sh-1',
      });
      await waitFor(
        async () => (await count(`id = ${res.json.id} and status = 'completed'`)) === 1,
        10_000,
        'completion',
      );
    });

    it('second delivery of the same id is acknowledged and not stored', async () => {
      const headers = shopifyHeaders(SECRETS.shopify, body, 'sh-dup');
      expect((await post(`${gw.url}/api/webhooks/shopify/orders/create`, body, headers)).json.status).toBe('accepted');
      const again = await post(`${gw.url}/api/webhooks/shopify/orders/create`, body, headers);
      expect(again.status).toBe(200);
      expect(again.json).toEqual({ status: 'duplicate' });
      expect(await count(`webhook_id = 'acme.myshopify.com/sh-dup'`)).toBe(1);
    });

    it('many concurrent copies of one id store exactly one row and all get 200', async () => {
      const headers = shopifyHeaders(SECRETS.shopify, body, 'sh-storm');
      const answers = await Promise.all(
        Array.from({ length: 40 }, () => post(`${gw.url}/api/webhooks/shopify/orders/create`, body, headers)),
      );
      expect(answers.every((a) => a.status === 200)).toBe(true);
      expect(answers.filter((a) => a.json.status === 'accepted')).toHaveLength(1);
      expect(await count(`webhook_id = 'acme.myshopify.com/sh-storm'`)).toBe(1);
    });

    it('the same webhook id from two shops is two events', async () => {
      const a = await post(
        `${gw.url}/api/webhooks/shopify/x`,
        body,
        shopifyHeaders(SECRETS.shopify, body, 'shared-id', 'one.myshopify.com'),
      );
      const b = await post(
        `${gw.url}/api/webhooks/shopify/x`,
        body,
        shopifyHeaders(SECRETS.shopify, body, 'shared-id', 'two.myshopify.com'),
      );
      expect([a.json.status, b.json.status]).toEqual(['accepted', 'accepted']);
      expect(await count(`webhook_id like '%/shared-id'`)).toBe(2);
    });

    it('takes the topic from the sub-path when X-Shopify-Topic is absent', async () => {
      const { 'x-shopify-topic': _omit, ...headers } = shopifyHeaders(SECRETS.shopify, body, 'sh-path');
      const res = await post(`${gw.url}/api/webhooks/shopify/products/update`, body, headers);
      const [row] = await gw.query<{ topic: string }>('select topic from webhook_events where id = $1', [res.json.id]);
      expect(row!.topic).toBe('products/update');
    });

    it('accepts any configured secret during rotation', async () => {
      const res = await post(
        `${gw.url}/api/webhooks/shopify/orders/create`,
        body,
        shopifyHeaders('old-shopify-secret', body, 'sh-rot'),
      );
      expect(res.json.status).toBe('accepted');
    });

    it('wrong secret is rejected with 401 and nothing is stored', async () => {
      const res = await post(
        `${gw.url}/api/webhooks/shopify/orders/create`,
        body,
        shopifyHeaders('not-the-secret', body, 'sh-bad'),
      );
      expect(res.status).toBe(401);
      expect(res.json.error.code).toBe('invalid_signature');
      expect(await count(`webhook_id like '%/sh-bad'`)).toBe(0);
    });

    it('tampered body is rejected with 401', async () => {
      const headers = shopifyHeaders(SECRETS.shopify, body, 'sh-tamper');
      const res = await post(`${gw.url}/api/webhooks/shopify/orders/create`, body.replace('199.00', '1.00'), headers);
      expect(res.status).toBe(401);
      expect(await count(`webhook_id like '%/sh-tamper'`)).toBe(0);
    });

    it('missing signature header is rejected with 401 naming the header', async () => {
      const { 'x-shopify-hmac-sha256': _omit, ...headers } = shopifyHeaders(SECRETS.shopify, body, 'sh-nosig');
      const res = await post(`${gw.url}/api/webhooks/shopify/orders/create`, body, headers);
      expect(res.status).toBe(401);
      expect(res.json.error).toEqual({
        code: 'missing_signature',
        message: 'Required headers missing: x-shopify-hmac-sha256',
      });
    });

    it('missing webhook id header is rejected with 400 naming the header', async () => {
      const res = await post(`${gw.url}/api/webhooks/shopify/orders/create`, body, {
        'x-shopify-hmac-sha256': shopifySignature(SECRETS.shopify, body),
        'x-shopify-shop-domain': 'acme.myshopify.com',
      });
      expect(res.status).toBe(400);
      expect(res.json.error.message).toBe('Required headers missing: x-shopify-webhook-id');
    });

    it('a signature with invalid base64 characters is rejected, not truncated', async () => {
      const headers = shopifyHeaders(SECRETS.shopify, body, 'sh-b64');
      headers['x-shopify-hmac-sha256'] = `${headers['x-shopify-hmac-sha256']}!!`;
      expect((await post(`${gw.url}/api/webhooks/shopify/orders/create`, body, headers)).status).toBe(401);
    });
  });

  describe('easypost', () => {
    const event = (id: string) =>
      JSON.stringify({ id, object: 'Event', description: 'tracker.updated', result: { status: 'in_transit' } });

    it('accepts a delivery signed with the NFKD-normalised secret; id and topic come from the payload', async () => {
      const body = event('evt_ep_1');
      const res = await post(`${gw.url}/api/webhooks/easypost`, body, {
        'x-hmac-signature': easypostSignature(SECRETS.easypost, body),
      });
      expect(res.json).toEqual({ status: 'accepted', id: expect.any(Number) });
      const [row] = await gw.query<{ webhook_id: string; topic: string }>(
        'select webhook_id, topic from webhook_events where id = $1',
        [res.json.id],
      );
      expect(row).toEqual({ webhook_id: 'evt_ep_1', topic: 'tracker.updated' });
    });

    it('a signature keyed with the un-normalised secret is rejected', async () => {
      // 'é' as one code point (NFC) differs from its NFKD form 'e' + combining accent.
      const body = event('evt_ep_nfc');
      const { createHmac } = await import('node:crypto');
      const wrong = `hmac-sha256-hex=${createHmac('sha256', SECRETS.easypost.normalize('NFC')).update(body).digest('hex')}`;
      expect((await post(`${gw.url}/api/webhooks/easypost`, body, { 'x-hmac-signature': wrong })).status).toBe(401);
    });

    // EasyPost writes float weights with a fraction ("weight": 136.0) and signs those bytes;
    // JSON.parse + JSON.stringify turns them into 136, which is why easypost-node's validateWebhook
    // patches the text back (src/utils/util.js, EasyPost/easypost-node issue #467, commit fcf531eb).
    // The gateway never re-serialises: the raw bytes verify and are kept as sent.
    it('a body with "weight": 136.0 verifies over its raw bytes and is stored byte for byte', async () => {
      const body = '{"id":"evt_ep_weight","object":"Event","description":"tracker.updated","result":{"weight": 136.0}}';
      const res = await post(`${gw.url}/api/webhooks/easypost`, body, {
        'x-hmac-signature': easypostSignature(SECRETS.easypost, body),
      });
      expect(res.json.status, JSON.stringify(res.json)).toBe('accepted');
      const [row] = await gw.query<{ body: Uint8Array }>('select body from webhook_events where id = $1', [
        res.json.id,
      ]);
      expect(Buffer.from(row!.body).toString('utf8')).toBe(body);
      const reserialised = JSON.stringify(JSON.parse(body));
      const wrong = { 'x-hmac-signature': easypostSignature(SECRETS.easypost, reserialised) };
      expect((await post(`${gw.url}/api/webhooks/easypost`, body, wrong)).status).toBe(401);
    });

    it('a signature without the hmac-sha256-hex= prefix is rejected', async () => {
      const body = event('evt_ep_prefix');
      const bare = easypostSignature(SECRETS.easypost, body).replace('hmac-sha256-hex=', '');
      expect((await post(`${gw.url}/api/webhooks/easypost`, body, { 'x-hmac-signature': bare })).status).toBe(401);
    });

    it('a signed payload without an id is rejected with 400', async () => {
      const body = JSON.stringify({ description: 'tracker.updated' });
      const res = await post(`${gw.url}/api/webhooks/easypost`, body, {
        'x-hmac-signature': easypostSignature(SECRETS.easypost, body),
      });
      expect(res.status).toBe(400);
      expect(res.json.error.code).toBe('missing_id');
    });

    it('a signed body that is not JSON is rejected with 400', async () => {
      const body = 'id=evt_1';
      const res = await post(`${gw.url}/api/webhooks/easypost`, body, {
        'x-hmac-signature': easypostSignature(SECRETS.easypost, body),
      });
      expect(res.status).toBe(400);
      expect(res.json.error.code).toBe('invalid_json');
    });
  });

  describe('keycloak', () => {
    const auth = { authorization: `Bearer ${SECRETS.keycloak}` };

    it('audits a LOGIN event in system_log after processing', async () => {
      const body = JSON.stringify({
        uid: 'kc-login-1',
        type: 'LOGIN',
        realmId: 'acme',
        clientId: 'web',
        userId: 'u-1',
        ipAddress: '203.0.113.9',
        time: 1795390000000,
      });
      const res = await post(`${gw.url}/api/keycloak/events`, body, auth);
      expect(res.json.status).toBe('accepted');
      const rows = await waitFor(
        async () => {
          const r = await gw.query<Record<string, unknown>>('select * from system_log where source_event_id = $1', [
            res.json.id,
          ]);
          return r.length ? r : undefined;
        },
        10_000,
        'audit row',
      );
      expect(rows![0]).toMatchObject({
        event_type: 'LOGIN',
        realm: 'acme',
        client_id: 'web',
        user_id: 'u-1',
        ip_address: '203.0.113.9',
        error: null,
      });
      expect(new Date(rows![0]!.occurred_at as string).getTime()).toBe(1795390000000);
    });

    it('audits LOGIN_ERROR with its error and admin operations with the acting admin', async () => {
      const loginError = await post(
        `${gw.url}/api/keycloak/events`,
        JSON.stringify({
          uid: 'kc-err',
          type: 'LOGIN_ERROR',
          realmId: 'acme',
          error: 'invalid_user_credentials',
          ipAddress: '198.51.100.7',
        }),
        auth,
      );
      const admin = await post(
        `${gw.url}/api/keycloak/events`,
        JSON.stringify({
          uid: 'kc-admin',
          operationType: 'DELETE',
          resourceType: 'USER',
          resourcePath: 'users/u-9',
          authDetails: { realmId: 'acme', clientId: 'admin-cli', userId: 'admin-1', ipAddress: '10.0.0.5' },
        }),
        auth,
      );
      await waitFor(
        async () =>
          (
            await gw.query('select 1 from system_log where source_event_id in ($1, $2)', [
              loginError.json.id,
              admin.json.id,
            ])
          ).length === 2,
      );
      // In receipt order: the worker runs the two events concurrently, so their audit rows may be written either way round.
      const rows = await gw.query<Record<string, unknown>>(
        'select event_type, error, user_id, client_id from system_log where source_event_id in ($1, $2) order by source_event_id',
        [loginError.json.id, admin.json.id],
      );
      expect(rows).toEqual([
        { event_type: 'LOGIN_ERROR', error: 'invalid_user_credentials', user_id: null, client_id: null },
        { event_type: 'ADMIN_DELETE', error: null, user_id: 'admin-1', client_id: 'admin-cli' },
      ]);
    });

    it('stores but does not audit other event types', async () => {
      const res = await post(
        `${gw.url}/api/keycloak/events`,
        JSON.stringify({ uid: 'kc-reg', type: 'REGISTER', realmId: 'acme' }),
        auth,
      );
      await waitFor(async () => (await count(`id = ${res.json.id} and status = 'completed'`)) === 1);
      expect(await gw.query('select 1 from system_log where source_event_id = $1', [res.json.id])).toHaveLength(0);
    });

    it('an event without uid is deduplicated on its content', async () => {
      const body = JSON.stringify({ type: 'LOGOUT', realmId: 'acme', userId: 'u-2', time: 1795390001000 });
      const first = await post(`${gw.url}/api/keycloak/events`, body, auth);
      const second = await post(`${gw.url}/api/keycloak/events`, body, auth);
      expect([first.json.status, second.json.status]).toEqual(['accepted', 'duplicate']);
    });

    it('wrong bearer secret is rejected with 401', async () => {
      const res = await post(`${gw.url}/api/keycloak/events`, JSON.stringify({ uid: 'kc-x', type: 'LOGIN' }), {
        authorization: 'Bearer nope',
      });
      expect(res.status).toBe(401);
      expect(res.json.error.code).toBe('invalid_credentials');
      expect(await count(`webhook_id = 'kc-x'`)).toBe(0);
    });

    it('missing authorization is rejected with 401', async () => {
      const res = await post(`${gw.url}/api/keycloak/events`, JSON.stringify({ uid: 'kc-y', type: 'LOGIN' }));
      expect(res.status).toBe(401);
      expect(res.json.error.message).toBe('Required headers missing: authorization');
    });
  });

  it('never writes a secret into the logs', () => {
    const everything = gw.logs.join('\n');
    for (const secret of [SECRETS.shopify, SECRETS.easypost, SECRETS.keycloak, SECRETS.ops, 'old-shopify-secret']) {
      expect(everything).not.toContain(secret);
    }
    expect(gw.logs.length).toBeGreaterThan(10);
  });
});
