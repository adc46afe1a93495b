import { verify as octokitVerify } from '@octokit/webhooks-methods';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import Stripe from 'stripe';
import { Webhook as SvixWebhook } from 'svix';
import { describe, expect, it } from 'vitest';
import { SIGNERS, type Delivery } from '../src/senders/signers';

// `webhook-gateway send`, `trigger` and the ops API's test event sign as the providers do
// (src/senders/signers.ts, written from the documented schemes). Here the providers' own
// verifiers judge what they produce, so a drift from the real scheme is caught by the sender's
// code, not by the gateway's verification (which shares its reading of the scheme with ours).
// Shopify's validator judges the Shopify signer in providers-shopify-interop.test.ts.

const BODY = Buffer.from('{"id":"evt_send_sdk_1","object":"event","type":"charge.succeeded","note":"é"}');

const delivery = (secret: string, id = 'send-sdk-1'): Delivery => ({
  secret,
  body: BODY,
  path: '/api/webhooks/x',
  id,
  now: new Date(),
  options: {},
});

describe("what `send` signs is accepted by the providers' own verifiers", () => {
  it("Stripe: stripe.webhooks.constructEvent accepts the signer's Stripe-Signature", () => {
    const secret = 'whsec_send_sdk_stripe_secret';
    const { headers } = SIGNERS.stripe.sign(delivery(secret));
    const stripe = new Stripe('sk_test_not_used_for_calls');
    const event = stripe.webhooks.constructEvent(BODY, headers['stripe-signature']!, secret);
    expect(event.id).toBe('evt_send_sdk_1');
    expect(() => stripe.webhooks.constructEvent(BODY, headers['stripe-signature']!, `${secret}x`)).toThrow(
      /No signatures found/,
    );
  });

  it("GitHub: @octokit/webhooks-methods verify accepts the signer's X-Hub-Signature-256", async () => {
    const secret = 'send-sdk-github-secret';
    const { headers } = SIGNERS.github.sign(delivery(secret));
    expect(await octokitVerify(secret, BODY.toString('utf8'), headers['x-hub-signature-256']!)).toBe(true);
    expect(await octokitVerify(`${secret}x`, BODY.toString('utf8'), headers['x-hub-signature-256']!)).toBe(false);
  });

  it("Standard Webhooks: standardwebhooks Webhook.verify accepts the signer's webhook-* headers", () => {
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const { headers } = SIGNERS['standard-webhooks'].sign(delivery(secret, 'msg_send_sdk_1'));
    expect(new StandardWebhook(secret).verify(BODY.toString('utf8'), headers)).toMatchObject({
      id: 'evt_send_sdk_1',
    });
    expect(() =>
      new StandardWebhook('whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA').verify(BODY.toString('utf8'), headers),
    ).toThrow(/No matching signature/);
  });

  it("Svix: svix Webhook.verify accepts the signer's svix-* headers", () => {
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const { headers } = SIGNERS.svix.sign(delivery(secret, 'msg_send_sdk_2'));
    expect(Object.keys(headers).sort()).toEqual(['svix-id', 'svix-signature', 'svix-timestamp']);
    expect(new SvixWebhook(secret).verify(BODY.toString('utf8'), headers)).toMatchObject({ id: 'evt_send_sdk_1' });
  });
});
