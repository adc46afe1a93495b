import { sign as octokitSign } from '@octokit/webhooks-methods';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import Stripe from 'stripe';
import { Webhook as SvixWebhook } from 'svix';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway';
import { PROVIDER_SECRETS as S, providerSources } from './helpers/provider-signers';
import { post } from './helpers/signers';

// Signatures made by the providers' own libraries are accepted; the same request with one byte
// of the body or of the signature changed is not.
describe("interop with the providers' libraries", () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway('pglite', { sources: providerSources() }, { role: 'web' });
  });
  afterAll(() => gw?.stop());

  interface Delivery {
    path: string;
    body: string;
    headers: Record<string, string>;
    signatureHeader: string;
  }

  /** A delivery signed by svix's own library, with its svix-* headers. */
  const svixDelivery = (path: string, type: string, id: string, n: number): Delivery => {
    const body = JSON.stringify({ type, data: { n } });
    const now = new Date();
    return {
      path,
      body,
      headers: {
        'svix-id': id,
        'svix-timestamp': String(Math.floor(now.getTime() / 1000)),
        'svix-signature': new SvixWebhook(S.standard).sign(id, now, body),
      },
      signatureHeader: 'svix-signature',
    };
  };

  const stripe = new Stripe('sk_test_interop_not_used_for_calls');
  const cases: [string, (n: number) => Promise<Delivery>][] = [
    [
      'stripe webhooks.generateTestHeaderString',
      async (n) => {
        const body = JSON.stringify({ id: `evt_interop_${n}`, object: 'event', type: 'charge.succeeded' });
        const header = stripe.webhooks.generateTestHeaderString({ payload: body, secret: S.stripe });
        return {
          path: '/api/webhooks/stripe',
          body,
          headers: { 'stripe-signature': header },
          signatureHeader: 'stripe-signature',
        };
      },
    ],
    [
      'standardwebhooks Webhook.sign',
      async (n) => {
        const body = JSON.stringify({ type: 'invoice.created', data: { n } });
        const id = `msg_std_interop_${n}`;
        const now = new Date();
        return {
          path: '/api/webhooks/standard',
          body,
          headers: {
            'webhook-id': id,
            'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
            'webhook-signature': new StandardWebhook(S.standard).sign(id, now, body),
          },
          signatureHeader: 'webhook-signature',
        };
      },
    ],
    [
      'svix Webhook.sign',
      async (n) => svixDelivery('/api/webhooks/standard', 'user.deleted', `msg_svix_interop_${n}`, n),
    ],
    [
      'svix Webhook.sign, to a source declared as provider: svix',
      async (n) => svixDelivery('/api/webhooks/svix', 'user.created', `msg_svix_alias_${n}`, n),
    ],
    [
      '@octokit/webhooks-methods sign',
      async (n) => {
        const body = JSON.stringify({ action: 'published', release: { n } });
        return {
          path: '/api/webhooks/github',
          body,
          headers: {
            'x-hub-signature-256': await octokitSign(S.github, body),
            'x-github-event': 'release',
            'x-github-delivery': `interop-${n}`,
          },
          signatureHeader: 'x-hub-signature-256',
        };
      },
    ],
  ];

  /** Flips one character in the middle of a text (to a different one of the same class). */
  const flipOne = (text: string, from = Math.floor(text.length / 2)) => {
    const index = from;
    const c = text[index]!;
    const replacement = c === 'a' ? 'b' : /[0-9]/.test(c) ? String((Number(c) + 1) % 10) : 'a';
    return text.slice(0, index) + replacement + text.slice(index + 1);
  };
  const count = async () => Number((await gw.query<{ n: string }>('select count(*) as n from webhook_events'))[0]!.n);

  describe.each(cases)('%s', (_name, make) => {
    it('is accepted and stored', async () => {
      const d = await make(1);
      const res = await post(`${gw.url}${d.path}`, d.body, d.headers);
      expect(res.status, JSON.stringify(res.json)).toBe(200);
      expect(res.json.status).toBe('accepted');
    });

    it('with one byte of the body changed is rejected and not stored', async () => {
      const d = await make(2);
      const before = await count();
      const res = await post(`${gw.url}${d.path}`, flipOne(d.body), d.headers);
      expect(res.status).toBe(401);
      expect(res.json.error.code).toBe('invalid_signature');
      expect(await count()).toBe(before);
    });

    it('with one character of the signature changed is rejected and not stored', async () => {
      const d = await make(3);
      const before = await count();
      const signature = d.headers[d.signatureHeader]!;
      const res = await post(`${gw.url}${d.path}`, d.body, {
        ...d.headers,
        [d.signatureHeader]: flipOne(signature, signature.length - 5),
      });
      expect(res.status).toBe(401);
      expect(res.json.error.code).toBe('invalid_signature');
      expect(await count()).toBe(before);
    });
  });
});
