import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertChannelInput, defaultAlertsConfig } from '../src/alerts/config';
import { planAlertChanges } from '../src/cli/apply-alerts';
import { createOpsClient } from '../src/cli/ops-client';
import { describeAlertPlan } from '../src/control/alert-plan';
import { databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { startReceiver } from './helpers/receiver';
import { post, shopifyHeaders } from './helpers/signers';

const SIGNING = `whsec_${Buffer.from('alert-url-masking-key-0123456789').toString('base64')}`;
const print = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 12);

// A webhook channel's URL may carry its credential in the path (Slack, Discord and Teams incoming
// webhooks: https://hooks.slack.com/services/T0/B0/XXXX): once saved, no answer, page, plan, audit
// entry, notice error or log line shows the path.
describe.each(databaseKinds())('a webhook channel URL path on %s', { timeout: 90_000 }, (kind) => {
  let gw: TestGateway;
  let hook: Awaited<ReturnType<typeof startReceiver>>;
  const credential = randomBytes(12).toString('hex');
  const call = async (method: string, path: string, body?: unknown, token = SECRETS.ops) => {
    const response = await fetch(`${gw.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, text: await response.text() };
  };

  beforeAll(async () => {
    hook = await startReceiver();
    gw = await startTestGateway(kind, {
      rejectedRequests: { perMinute: 20, bufferSize: 1000, flushIntervalMs: 100, retentionDays: 7 },
      alerts: { evaluateEveryMs: 300, channels: [], rules: [] },
    });
  });
  afterAll(async () => {
    await gw?.stop();
    await hook?.close();
  });

  it('is never shown again: API (admin and viewer), audit log, notice errors and logs show the origin only', async () => {
    const url = `${new URL(hook.url).origin}/services/T0/B0/${credential}`;
    // Nothing listens on port 1: the notice fails, and its error must not quote the URL either.
    const deadUrl = `http://127.0.0.1:1/services/T1/B1/${credential}-dead`;
    const created = await call('POST', '/api/alerts/channels', { name: 'disc', type: 'webhook', url, secret: SIGNING });
    expect(created.status).toBe(201);
    expect(JSON.parse(created.text)).toMatchObject({
      target: `${new URL(hook.url).origin}/…`,
      secret_fingerprint: print(SIGNING),
      url_fingerprint: print(url),
    });
    const dead = { name: 'dead', type: 'webhook', url: deadUrl, secret: SIGNING };
    expect((await call('POST', '/api/alerts/channels', dead)).status).toBe(201);
    const rule = {
      name: 'url-rule',
      kind: 'signature_failures',
      params: { source: 'shopify', count: 1, minutes: 5 },
      channels: ['disc', 'dead'],
    };
    expect((await call('POST', '/api/alerts/rules', rule)).status).toBe(201);

    const body = '{"id":1}';
    await post(`${gw.url}/api/webhooks/shopify/orders/create`, body, shopifyHeaders('wrong', body, 'url-1'));
    await waitFor(() => hook.deliveries.length > 0, 30_000, 'the notice at the real URL');
    expect(hook.deliveries[0]!.path).toBe(`/services/T0/B0/${credential}`);
    await waitFor(
      async () => JSON.parse((await call('GET', '/api/alerts')).text).alerts.some((a: any) => a.notify_error),
      30_000,
      'the dead channel failing',
    );

    const viewerToken = JSON.parse(
      (await call('POST', '/api/tokens', { name: 'url-viewer', role: 'viewer' })).text,
    ).token;
    const shown = [
      created.text,
      (await call('GET', '/api/alerts/channels')).text,
      (await call('GET', '/api/alerts/channels', undefined, viewerToken)).text,
      (await call('GET', '/api/alerts')).text,
      (await call('GET', '/api/audit?limit=50')).text,
      gw.logs.join(''),
    ];
    for (const text of shown) expect(text).not.toContain(credential);
  });

  it('apply -f still sees a changed path (by fingerprint) and nothing when it is the same', async () => {
    const client = createOpsClient(gw.url, SECRETS.ops);
    const url = `${new URL(hook.url).origin}/services/T0/B0/${credential}`;
    const wanted = (path: string) => ({
      ...defaultAlertsConfig(),
      channels: [alertChannelInput.parse({ name: 'disc', type: 'webhook', url: `${path}`, secret: SIGNING })],
    });
    expect(await planAlertChanges(client, wanted(url), false)).toEqual([]);
    const moved = await planAlertChanges(client, wanted(`${url}-rotated`), false);
    expect(moved).toMatchObject([{ action: 'update', name: 'disc', keys: ['url'] }]);
    expect(describeAlertPlan(moved).join('\n')).not.toContain(credential);
  });
});
