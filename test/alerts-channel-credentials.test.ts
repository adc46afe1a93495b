import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { startReceiver } from './helpers/receiver';
import { post, shopifyHeaders } from './helpers/signers';

const ALERT_SECRET = `whsec_${Buffer.from('alert-signing-key-for-tests-0123').toString('base64')}`;
const PASSWORD = 'pa55-in-the-url';
const auth = { authorization: `Bearer ${SECRETS.ops}`, 'content-type': 'application/json' };

// A channel URL with user:password@ is a credential: fetch refuses such a URL and quotes it whole
// in its error, which the alert would show (notify_error, to any viewer) and the log would keep.
describe.each(databaseKinds())('alert channel URLs with credentials on %s', { timeout: 60_000 }, (kind) => {
  let gw: TestGateway;
  let hook: Awaited<ReturnType<typeof startReceiver>>;
  const api = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${gw.url}${path}`, {
      method,
      headers: auth,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, json: text ? JSON.parse(text) : undefined };
  };

  beforeAll(async () => {
    hook = await startReceiver();
    gw = await startTestGateway(kind, {
      rejectedRequests: { perMinute: 20, bufferSize: 1000, flushIntervalMs: 100, retentionDays: 7 },
      alerts: { evaluateEveryMs: 500, channels: [], rules: [] },
    });
  });
  afterAll(async () => {
    await gw?.stop();
    await hook?.close();
  });

  it('are refused, so no notice error or log line can show the password', async () => {
    const withCredentials = hook.url.replace('http://', `http://oncall:${PASSWORD}@`);
    const webhook = await api('POST', '/api/alerts/channels', {
      name: 'creds-hook',
      type: 'webhook',
      url: withCredentials,
      secret: ALERT_SECRET,
    });
    if (webhook.status === 201) {
      // Accepted: show what an operator then sees once the rule fires.
      const rule = {
        name: 'creds-rule',
        kind: 'signature_failures',
        params: { source: 'shopify', count: 1, minutes: 5 },
        channels: ['creds-hook'],
      };
      expect((await api('POST', '/api/alerts/rules', rule)).status).toBe(201);
      const body = '{"id":1}';
      await post(
        `${gw.url}/api/webhooks/shopify/orders/create`,
        body,
        shopifyHeaders('not-the-secret', body, 'creds-1'),
      );
      const alert = await waitFor(
        async () => (await api('GET', '/api/alerts')).json.alerts.find((a: any) => a.notify_error),
        30_000,
        'a notice error',
      );
      expect(alert.notify_error).not.toContain(PASSWORD);
      expect(gw.logs.join('')).not.toContain(PASSWORD);
    }
    expect(webhook.status).toBe(400);
    expect(webhook.json.error.message).toContain('url');
    const slack = await api('POST', '/api/alerts/channels', {
      name: 'creds-slack',
      type: 'slack',
      url: `${withCredentials}/T0/B0/X`,
    });
    expect(slack.status).toBe(400);
    expect(JSON.stringify(slack.json)).not.toContain(PASSWORD);
  });
});
