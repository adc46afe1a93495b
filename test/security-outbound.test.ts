import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKeyring } from '../src/control/crypto';
import { pollSourcesSchema } from '../src/poll/config';
import { databaseKinds } from './helpers/database';
import { startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import {
  api,
  fileDestination as destination,
  firstAttempts as attempts,
  sendShopify as send,
  SLOW,
} from './helpers/outbound';
import { SPS_ENV, spsRestSource } from './helpers/poll-sps-mocks';
import { startReceiver } from './helpers/receiver';
import { post, shopifyHeaders } from './helpers/signers';

// The outbound guard (src/outbound) through the real gateway: deliveries, alert notices and SPS
// REST polls refuse addresses the policy forbids at connection time, after DNS, and say why; the
// API refuses a URL whose host is such an IP address when it is set. A real receiver on 127.0.0.1
// counts what actually arrives.

const MASTER_KEY = randomBytes(32).toString('base64');
const DESTINATION_SECRET = `whsec_${randomBytes(24).toString('base64')}`;
const ALERT_SECRET = `whsec_${randomBytes(24).toString('base64')}`;
const fileDestination = (name: string, url: string) => destination(name, url, DESTINATION_SECRET);

type Receiver = Awaited<ReturnType<typeof startReceiver>>;

describe.each(databaseKinds())('outbound guard (%s)', { timeout: 120_000 }, (kind) => {
  let receiver: Receiver;
  const localhostUrl = () => receiver.url.replace('127.0.0.1', 'localhost');

  beforeAll(async () => {
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await receiver?.close();
  });

  describe('by default', () => {
    let gw: TestGateway;
    // An allowed (loopback) server that redirects every request to the metadata address.
    let redirector: Server;
    let redirects = 0;
    beforeAll(async () => {
      redirector = createServer((_req, res) => {
        redirects++;
        res.writeHead(307, { location: 'http://169.254.169.254/latest/api/token' }).end();
      });
      await new Promise<void>((resolve) => redirector.listen(0, '127.0.0.1', resolve));
      const redirectUrl = `http://127.0.0.1:${(redirector.address() as AddressInfo).port}/oauth/token`;
      gw = await startTestGateway(kind, {
        control: { keyring: loadKeyring({ key: MASTER_KEY }), refreshMs: 60_000 },
        destinations: [fileDestination('metadata', 'http://169.254.169.254/latest/meta-data/')],
        polls: pollSourcesSchema(SPS_ENV).parse([
          spsRestSource({
            name: 'sps-metadata',
            token_url: 'http://169.254.169.254/token',
            request_timeout_ms: SLOW,
            max_retries: 3,
          }),
          spsRestSource({ name: 'sps-redirect', token_url: redirectUrl, request_timeout_ms: SLOW, max_retries: 3 }),
        ]),
      });
    }, 120_000);
    afterAll(async () => {
      await gw?.stop();
      redirector?.closeAllConnections();
      await new Promise((resolve) => redirector?.close(resolve));
    });
    const pollRun = async (source: string) => {
      const started = await api(gw, 'POST', '/api/sps/poll', { source });
      expect(started.status).toBe(202);
      const runId = started.json.runs[0].run_id as number;
      return waitFor(
        async () => {
          const { json } = await api(gw, 'GET', `/api/sps/runs/${runId}`);
          return json.status !== 'running' ? json : undefined;
        },
        10_000,
        `the poll run of ${source} to end`,
      );
    };

    it('fails a delivery to the cloud metadata address at once, naming the address, its range and the setting that allows it', async () => {
      const id = await send(gw);
      const metadata = (await attempts(gw, id, ['metadata'])).metadata!;
      expect(metadata.outcome).toBe('failed');
      expect(metadata.error).toContain('refused to connect to 169.254.169.254: link-local address (169.254.0.0/16');
      expect(metadata.error).toContain('OUTBOUND_ALLOW_CIDRS');
      // Refused before any packet: nowhere near the destination's 30-second timeout.
      expect(metadata.duration_ms).toBeLessThan(5_000);
    });

    it('fails an SPS REST poll run whose token endpoint is the metadata address, at once and without retrying', async () => {
      const run = await pollRun('sps-metadata');
      expect(run.status).toBe('failed');
      expect(run.error).toContain('token request: refused to connect to 169.254.169.254: link-local address');
    });

    it('checks each redirect hop of an SPS REST call: a redirect to the metadata address is refused', async () => {
      const run = await pollRun('sps-redirect');
      expect(run.status).toBe('failed');
      expect(run.error).toContain('token request: refused to connect to 169.254.169.254: link-local address');
      // The allowed first hop was asked once: the refusal was not retried.
      expect(redirects).toBe(1);
    });

    it('answers 400 to a destination URL whose host is a refused IP address, in any spelling', async () => {
      // The last two: an ISATAP interface identifier under another prefix, and a Teredo server field
      // (its client, 8.8.8.8, is public).
      const embedded = [
        'http://[64:ff9b::a9fe:a9fe]/',
        'http://[2002:a9fe:a9fe::1]/',
        'http://[2001::5601:5601]/',
        'http://[2001:db8::5efe:a9fe:a9fe]/',
        'http://[2001:0:a9fe:a9fe::f7f7:f7f7]/',
      ];
      const metadata = ['http://100.100.100.200/latest/meta-data/', 'http://168.63.129.16/machine?comp=goalstate'];
      for (const url of [
        'http://169.254.169.254/',
        'http://2852039166/latest',
        'http://0xa9fea9fe/',
        'http://[::ffff:a9fe:a9fe]/',
        'https://[fd00:ec2::254]/',
        ...embedded,
        ...metadata,
      ]) {
        const created = await api(gw, 'POST', '/api/destinations', { name: 'meta', url, sources: ['shopify'] });
        expect(created.status, url).toBe(400);
        expect(created.json.error.code).toBe('invalid_destination');
        expect(created.json.error.message).toMatch(/^url: refused to connect to .*OUTBOUND_ALLOW_CIDRS/);
      }
      // Private addresses are allowed by default: this one is created, and cannot be moved to the metadata address.
      expect(
        (await api(gw, 'POST', '/api/destinations', { name: 'inside', url: `${receiver.url}/inside`, sources: [] }))
          .status,
      ).toBe(201);
      const moved = await api(gw, 'PATCH', '/api/destinations/inside', { url: 'http://169.254.169.254/' });
      expect(moved.status).toBe(400);
      expect(moved.json.error.message).toContain('url: refused to connect to 169.254.169.254: link-local address');
      expect((await api(gw, 'GET', '/api/destinations/inside')).json.url).toBe(`${receiver.url}/inside`);
    });

    it('answers 400 to an alert channel URL whose host is a refused IP address, without quoting the URL', async () => {
      const hook = await api(gw, 'POST', '/api/alerts/channels', {
        name: 'meta-hook',
        type: 'webhook',
        url: 'http://169.254.169.254/latest/meta-data/iam',
        secret: ALERT_SECRET,
      });
      expect(hook.status).toBe(400);
      expect(hook.json.error.message).toContain('url: refused to connect to 169.254.169.254: link-local address');
      const slack = await api(gw, 'POST', '/api/alerts/channels', {
        name: 'meta-slack',
        type: 'slack',
        url: 'http://[fe80::1]/services/T000/B000/slack-token-in-path',
      });
      expect(slack.status).toBe(400);
      expect(slack.json.error.message).toContain('url: refused to connect to fe80::1: link-local address');
      expect(JSON.stringify(slack.json)).not.toContain('slack-token-in-path');
      // An accepted channel cannot be pointed there by an edit either.
      const ok = await api(gw, 'POST', '/api/alerts/channels', {
        name: 'ok-hook',
        type: 'webhook',
        url: `${receiver.url}/ok`,
        secret: ALERT_SECRET,
      });
      expect(ok.status).toBe(201);
      const edited = await api(gw, 'PUT', `/api/alerts/channels/${ok.json.id}`, {
        name: 'ok-hook',
        type: 'webhook',
        url: 'http://0.0.0.0/',
      });
      expect(edited.status).toBe(400);
      expect(edited.json.error.message).toContain('url: refused to connect to 0.0.0.0: unspecified address');
    });
  });

  describe('with OUTBOUND_DENY_PRIVATE=true', () => {
    let gw: TestGateway;
    beforeAll(async () => {
      gw = await startTestGateway(kind, {
        control: { keyring: loadKeyring({ key: MASTER_KEY }), refreshMs: 60_000 },
        outbound: { denyPrivate: true, allowCidrs: [] },
        destinations: [
          fileDestination('by-address', `${receiver.url}/by-address`),
          fileDestination('by-name', `${localhostUrl()}/by-name`),
        ],
        rejectedRequests: { perMinute: 20, bufferSize: 1000, flushIntervalMs: 100, retentionDays: 7 },
        alerts: { evaluateEveryMs: 200, channels: [], rules: [] },
      });
    }, 120_000);
    afterAll(async () => {
      await gw?.stop();
    });

    it('delivers nothing to loopback, by address or by a name resolving to it, and each attempt says why', async () => {
      const before = receiver.deliveries.length;
      const id = await send(gw);
      const found = await attempts(gw, id, ['by-address', 'by-name']);
      expect(found['by-address']!.error).toContain(
        'refused to connect to 127.0.0.1: loopback address (127.0.0.0/8, ::1/128), refused because OUTBOUND_DENY_PRIVATE=true',
      );
      // localhost resolves to 127.0.0.1, ::1 or both: the refusal names the name and the address.
      expect(found['by-name']!.error).toMatch(
        /^refused to connect to localhost \((127\.0\.0\.1|::1)\): loopback address/,
      );
      for (const d of Object.values(found)) expect(d.duration_ms).toBeLessThan(5_000);
      expect(receiver.deliveries.length).toBe(before);
    });

    it('answers 400 to a destination at a loopback or private address', async () => {
      for (const url of [`${receiver.url}/x`, 'http://10.1.2.3/', 'http://[::1]:8080/', 'http://100.64.0.1/']) {
        const created = await api(gw, 'POST', '/api/destinations', { name: 'inner', url, sources: [] });
        expect(created.status, url).toBe(400);
        expect(created.json.error.message).toContain('refused because OUTBOUND_DENY_PRIVATE=true');
      }
    });

    it('sends no alert notice to a channel whose name resolves to loopback, and the alert shows why', async () => {
      const before = receiver.deliveries.length;
      const channel = await api(gw, 'POST', '/api/alerts/channels', {
        name: 'local-hook',
        type: 'webhook',
        url: `${localhostUrl()}/alert`,
        secret: ALERT_SECRET,
      });
      expect(channel.status).toBe(201);
      const rule = {
        name: 'bad-signatures',
        kind: 'signature_failures',
        params: { source: 'shopify', count: 1, minutes: 5 },
        channels: ['local-hook'],
      };
      expect((await api(gw, 'POST', '/api/alerts/rules', rule)).status).toBe(201);
      const body = '{"id":"forged"}';
      await post(
        `${gw.url}/api/webhooks/shopify/orders/create`,
        body,
        shopifyHeaders('not-the-secret', body, 'forged-1'),
      );
      const alert = await waitFor(
        async () => (await api(gw, 'GET', '/api/alerts')).json.alerts.find((a: any) => a.notify_error),
        30_000,
        'a notice error',
      );
      expect(alert.notify_error).toMatch(
        /^local-hook: OutboundRefusedError: refused to connect to localhost \((127\.0\.0\.1|::1)\): loopback address/,
      );
      expect(receiver.deliveries.length).toBe(before);
    });
  });

  describe('with OUTBOUND_DENY_PRIVATE=true and OUTBOUND_ALLOW_CIDRS=127.0.0.1/32', () => {
    let gw: TestGateway;
    beforeAll(async () => {
      gw = await startTestGateway(kind, {
        outbound: { denyPrivate: true, allowCidrs: ['127.0.0.1/32'] },
        destinations: [
          fileDestination('by-address', `${receiver.url}/allowed-address`),
          fileDestination('by-name', `${localhostUrl()}/allowed-name`),
        ],
      });
    }, 120_000);
    afterAll(async () => {
      await gw?.stop();
    });

    it('delivers to the allowed address, by address and by name (over the allowed address of a dual-stack name)', async () => {
      const id = await send(gw);
      const found = await attempts(gw, id, ['by-address', 'by-name']);
      expect(found['by-address']).toMatchObject({ outcome: 'delivered', error: null });
      expect(found['by-name']).toMatchObject({ outcome: 'delivered', error: null });
      const webhookIds = (path: string) =>
        receiver.deliveries.filter((d) => d.headers['webhook-id'] === `evt_${id}` && d.path === path).length;
      expect(webhookIds('/hooks/allowed-address')).toBe(1);
      expect(webhookIds('/hooks/allowed-name')).toBe(1);
    });
  });
});
