import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SECRETS, startTestGateway, type TestGateway } from './helpers/gateway';
import {
  githubSignature,
  hexHmac,
  nowSeconds,
  PROVIDER_SECRETS as S,
  providerSources,
  standardSignature,
  stripeHeader,
} from './helpers/provider-signers';
import { post } from './helpers/signers';

// Each provider's scheme, end to end through the real server, with signatures computed here from
// the providers' documentation. Verification does not depend on the database: PGlite only.
describe('provider schemes', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway('pglite', { sources: providerSources() });
  });
  afterAll(() => gw?.stop());

  const row = async (id: number) =>
    (
      await gw.query<{
        source: string;
        webhook_id: string;
        topic: string;
        account: string | null;
        headers: Record<string, string>;
      }>('select source, webhook_id, topic, account, headers from webhook_events where id = $1', [id])
    )[0];
  const stored = async (source: string, webhookId: string) =>
    Number(
      (
        await gw.query<{ n: string }>(
          'select count(*) as n from webhook_events where source = $1 and webhook_id = $2',
          [source, webhookId],
        )
      )[0]!.n,
    );

  describe('stripe', () => {
    const event = (id: string, extra: Record<string, unknown> = {}) =>
      JSON.stringify({ id, object: 'event', type: 'invoice.paid', data: { object: { id: 'in_1' } }, ...extra });

    it('accepts a signed event; the event id is the webhook id and type the topic', async () => {
      const body = event('evt_1', { account: 'acct_9' });
      const res = await post(`${gw.url}/api/webhooks/stripe`, body, {
        'stripe-signature': stripeHeader(S.stripe, body),
      });
      expect(res.json).toEqual({ status: 'accepted', id: expect.any(Number) });
      expect(await row(res.json.id)).toMatchObject({
        source: 'stripe',
        webhook_id: 'evt_1',
        topic: 'invoice.paid',
        account: 'acct_9',
      });
    });

    it('a redelivery of the same event is a duplicate', async () => {
      const body = event('evt_redelivered');
      await post(`${gw.url}/api/webhooks/stripe`, body, { 'stripe-signature': stripeHeader(S.stripe, body) });
      // Stripe re-signs a retry with a new timestamp: the event id still deduplicates it.
      const again = await post(`${gw.url}/api/webhooks/stripe`, body, {
        'stripe-signature': stripeHeader(S.stripe, body, nowSeconds() - 60),
      });
      expect(again.json).toEqual({ status: 'duplicate' });
      expect(await stored('stripe', 'evt_redelivered')).toBe(1);
    });

    it('any one of several v1 signatures may match', async () => {
      const body = event('evt_two_v1');
      const t = nowSeconds();
      const other = stripeHeader('whsec_some_other_endpoint', body, t).split(',')[1];
      const header = `t=${t},${other},${stripeHeader(S.stripe, body, t).split(',')[1]}`;
      expect((await post(`${gw.url}/api/webhooks/stripe`, body, { 'stripe-signature': header })).json.status).toBe(
        'accepted',
      );
    });

    it('a correct v0 signature does not verify: only v1 counts', async () => {
      const body = event('evt_v0');
      const t = nowSeconds();
      const v0 = stripeHeader(S.stripe, body, t).split(',')[1]!.replace('v1=', 'v0=');
      const res = await post(`${gw.url}/api/webhooks/stripe`, body, { 'stripe-signature': `t=${t},${v0}` });
      expect(res.status).toBe(401);
      expect(res.json.error).toEqual({ code: 'invalid_signature', message: 'No v1 signature in stripe-signature' });
    });

    it('tolerance_seconds is per source: 60 s old is fine by default and stale at 10 s', async () => {
      const body = event('evt_tolerance');
      const header = stripeHeader(S.stripeStrict, body, nowSeconds() - 60);
      const strict = await post(`${gw.url}/api/webhooks/stripe-strict`, body, { 'stripe-signature': header });
      expect(strict.status).toBe(401);
      expect(strict.json.error.code).toBe('stale_timestamp');
      const relaxed = await post(`${gw.url}/api/webhooks/stripe`, body, {
        'stripe-signature': stripeHeader(S.stripe, body, nowSeconds() - 60),
      });
      expect(relaxed.json.status).toBe('accepted');
    });

    it('a missing Stripe-Signature is rejected naming the header', async () => {
      const res = await post(`${gw.url}/api/webhooks/stripe`, event('evt_nosig'));
      expect(res.status).toBe(401);
      expect(res.json.error).toEqual({
        code: 'missing_signature',
        message: 'Required headers missing: stripe-signature',
      });
    });

    it('a signed body that is not JSON is rejected with 400', async () => {
      const body = 'id=evt_form';
      const res = await post(`${gw.url}/api/webhooks/stripe`, body, {
        'stripe-signature': stripeHeader(S.stripe, body),
      });
      expect(res.status).toBe(400);
      expect(res.json.error.code).toBe('invalid_json');
    });
  });

  describe('github', () => {
    const deliver = (body: string, headers: Record<string, string> = {}) =>
      post(`${gw.url}/api/webhooks/github`, body, {
        'x-hub-signature-256': githubSignature(S.github, body),
        'x-github-event': 'issues',
        'x-github-delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958',
        ...headers,
      });

    it('accepts a signed delivery: X-GitHub-Delivery is the id, event plus action the topic', async () => {
      const res = await deliver(JSON.stringify({ action: 'opened', issue: { number: 1 } }));
      expect(res.json.status).toBe('accepted');
      expect(await row(res.json.id)).toMatchObject({
        webhook_id: '72d3162e-cc78-11e3-81ab-4c9367dc0958',
        topic: 'issues.opened',
      });
      expect((await row(res.json.id))!.headers).not.toHaveProperty('x-hub-signature-256');
    });

    it('an event without action has the bare event name as topic', async () => {
      const res = await deliver(JSON.stringify({ ref: 'refs/heads/main' }), {
        'x-github-event': 'push',
        'x-github-delivery': 'd-push',
      });
      expect((await row(res.json.id))!.topic).toBe('push');
    });

    it('a form-encoded payload is verified over its raw bytes', async () => {
      const body = `payload=${encodeURIComponent(JSON.stringify({ zen: 'Keep it logically awesome.' }))}`;
      const res = await deliver(body, {
        'x-github-event': 'ping',
        'x-github-delivery': 'd-form',
        'content-type': 'application/x-www-form-urlencoded',
      });
      expect(res.json.status).toBe('accepted');
      expect((await row(res.json.id))!.topic).toBe('ping');
    });

    it("a form-encoded payload (GitHub's default content type) has its action in the topic, as JSON has", async () => {
      // GitHub's "form" content type (the default for a hook created through the REST API) sends
      // the same JSON as a form parameter named payload; the event is the same, so is its topic.
      const json = JSON.stringify({ action: 'opened', issue: { number: 2, title: 'a+b & c' } });
      const body = `payload=${encodeURIComponent(json)}`;
      const res = await deliver(body, {
        'x-github-delivery': 'd-form-action',
        'content-type': 'application/x-www-form-urlencoded',
      });
      expect(res.json.status).toBe('accepted');
      expect(await row(res.json.id)).toMatchObject({ webhook_id: 'd-form-action', topic: 'issues.opened' });
    });

    it('the legacy sha1= signature is not accepted', async () => {
      const body = JSON.stringify({ action: 'closed' });
      const { createHmac } = await import('node:crypto');
      const sha1 = `sha1=${createHmac('sha1', S.github).update(body).digest('hex')}`;
      const res = await deliver(body, { 'x-hub-signature-256': sha1, 'x-github-delivery': 'd-sha1' });
      expect(res.status).toBe(401);
      expect(await stored('github', 'd-sha1')).toBe(0);
    });

    it('a delivery without X-GitHub-Delivery is rejected with 400 naming the header', async () => {
      const body = JSON.stringify({ action: 'edited' });
      const res = await post(`${gw.url}/api/webhooks/github`, body, {
        'x-hub-signature-256': githubSignature(S.github, body),
        'x-github-event': 'issues',
      });
      expect(res.status).toBe(400);
      expect(res.json.error).toEqual({
        code: 'missing_header',
        message: 'Required headers missing: x-github-delivery',
      });
    });
  });

  describe('standard webhooks', () => {
    const body = JSON.stringify({ type: 'user.created', timestamp: '2026-01-01T00:00:00Z', data: { id: 'u_1' } });

    it('accepts webhook-* headers; webhook-id is the id and the payload type the topic', async () => {
      const ts = nowSeconds();
      const res = await post(`${gw.url}/api/webhooks/standard`, body, {
        'webhook-id': 'msg_std_1',
        'webhook-timestamp': String(ts),
        'webhook-signature': standardSignature(S.standard, 'msg_std_1', ts, body),
      });
      expect(res.json.status).toBe('accepted');
      expect(await row(res.json.id)).toMatchObject({ webhook_id: 'msg_std_1', topic: 'user.created' });
    });

    it('accepts the svix-* spelling of the headers', async () => {
      const ts = nowSeconds();
      const res = await post(`${gw.url}/api/webhooks/standard`, body, {
        'svix-id': 'msg_svix_1',
        'svix-timestamp': String(ts),
        'svix-signature': standardSignature(S.standard, 'msg_svix_1', ts, body),
      });
      expect(res.json.status).toBe('accepted');
      expect((await row(res.json.id))!.webhook_id).toBe('msg_svix_1');
    });

    it('any one of a space-separated list of signatures may match; other versions are skipped', async () => {
      const ts = nowSeconds();
      const signatures = [
        'v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg==',
        standardSignature('whsec_dGhlIG9sZCBzZWNyZXQgb2YgdGhpcyBhcHA=', 'msg_multi', ts, body),
        standardSignature(S.standard, 'msg_multi', ts, body),
      ].join(' ');
      const res = await post(`${gw.url}/api/webhooks/standard`, body, {
        'webhook-id': 'msg_multi',
        'webhook-timestamp': String(ts),
        'webhook-signature': signatures,
      });
      expect(res.json.status).toBe('accepted');
    });

    it('a signature made for another webhook-id is rejected: the id is signed', async () => {
      const ts = nowSeconds();
      const res = await post(`${gw.url}/api/webhooks/standard`, body, {
        'webhook-id': 'msg_swapped',
        'webhook-timestamp': String(ts),
        'webhook-signature': standardSignature(S.standard, 'msg_original', ts, body),
      });
      expect(res.status).toBe(401);
      expect(await stored('standard', 'msg_swapped')).toBe(0);
    });
  });

  describe('keycloak HMAC', () => {
    const event = (uid: string) => JSON.stringify({ uid, type: 'LOGIN', realmId: 'acme', time: 1795390000000 });

    it('accepts X-Keycloak-Signature without a bearer token and deduplicates on uid', async () => {
      const body = event('kc-hmac-1');
      const first = await post(`${gw.url}/api/keycloak/events`, body, {
        'x-keycloak-signature': hexHmac(SECRETS.keycloak, body),
      });
      const second = await post(`${gw.url}/api/webhooks/keycloak`, body, {
        'x-keycloak-signature': hexHmac(SECRETS.keycloak, body),
      });
      expect([first.json.status, second.json.status]).toEqual(['accepted', 'duplicate']);
      expect(await row(first.json.id)).toMatchObject({
        source: 'keycloak',
        webhook_id: 'kc-hmac-1',
        topic: 'LOGIN',
        account: 'acme',
      });
    });

    it('a valid bearer token does not excuse a wrong signature', async () => {
      const body = event('kc-hmac-mixed');
      const res = await post(`${gw.url}/api/keycloak/events`, body, {
        authorization: `Bearer ${SECRETS.keycloak}`,
        'x-keycloak-signature': hexHmac('not-the-secret', body),
      });
      expect(res.status).toBe(401);
      expect(res.json.error.code).toBe('invalid_signature');
      expect(await stored('keycloak', 'kc-hmac-mixed')).toBe(0);
    });
  });
});
