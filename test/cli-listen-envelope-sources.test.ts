import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadGatewayFile } from '../src/config/file';
import { loadKeyring } from '../src/control/crypto';
import { spawnCli, type CliProcess } from './helpers/cli';
import { databaseKinds } from './helpers/database';
import { opsCall, SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { startReceiver, type Delivery } from './helpers/receiver';
import { post, shopifyHeaders } from './helpers/signers';
import { formBody, githubDelivery } from './helpers/github-corpus';

const DEST_SECRET = `whsec_${randomBytes(24).toString('base64')}`;
const RUNTIME_SECRET = 'acme-runtime-envelope-secret';
const FILE_SECRET = 'shop-file-envelope-secret';
/** aggregate_id from the source's own path, not Shopify's default (`id`): only a listen that read it matches. */
const BODY = '{"id":820982911946154508,"order":{"number":"A-1001"}}';
const SETTINGS = { aggregate_id_path: 'order.number' };
const HUB_SECRET = 'hub-file-envelope-secret';

// `listen --envelope` sends what the source's destinations get. It built the envelope from the
// stream's provider alone: without the source's aggregate_id_path and tenant_context, for sources
// created at runtime (ops API, apply) as for those of GATEWAY_CONFIG. Here a real destination
// delivery and listen's forward of the same event are compared byte for byte.
describe.each(databaseKinds())(
  'listen --envelope is the envelope destinations get (%s)',
  { timeout: 240_000 },
  (kind) => {
    let gw: TestGateway;
    let destination: Awaited<ReturnType<typeof startReceiver>>;
    const dir = mkdtempSync(join(tmpdir(), 'gw-listen-envelope-'));
    const config = join(dir, 'gateway.json');
    let viewerToken = '';

    beforeAll(async () => {
      destination = await startReceiver();
      writeFileSync(
        config,
        JSON.stringify({
          sources: [
            {
              name: 'shop-file',
              provider: 'shopify',
              secrets: [FILE_SECRET],
              ...SETTINGS,
              tenant_context: { tenant: 'file' },
            },
            { name: 'hub', provider: 'github', secrets: [HUB_SECRET] },
          ],
        }),
      );
      const keyring = loadKeyring({ key: randomBytes(32).toString('base64') });
      gw = await startTestGateway(kind, {
        control: { keyring, refreshMs: 5000 },
        sources: loadGatewayFile(config, {}).sources,
        destinations: [
          {
            name: 'erp',
            url: destination.url,
            secret: DEST_SECRET,
            timeoutMs: 5000,
            sources: ['acme', 'shop-file', 'hub'],
          },
        ],
      });
      const created = await opsCall(gw, 'POST', '/api/sources', {
        name: 'acme',
        provider: 'shopify',
        secrets: [RUNTIME_SECRET],
        ...SETTINGS,
        tenant_context: { tenant: 'acme-eu', shard: 3 },
      });
      expect(created.status, JSON.stringify(created.json)).toBe(201);
      const mapped = await opsCall(gw, 'POST', '/api/sources', {
        name: 'mapped',
        provider: 'shopify',
        secrets: [RUNTIME_SECRET],
        transform: { language: 'jsonata', code: '{"number": order.number}' },
      });
      expect(mapped.status, JSON.stringify(mapped.json)).toBe(201);
      const token = await opsCall(gw, 'POST', '/api/tokens', { name: 'looker', role: 'viewer' });
      expect(token.status, JSON.stringify(token.json)).toBe(201);
      viewerToken = token.json.token;
    }, 120_000);
    afterAll(async () => {
      await gw?.stop();
      await destination?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('a runtime source and a GATEWAY_CONFIG source: the forward is the delivery, byte for byte', async () => {
      const app = await startReceiver();
      const listen = spawnCli(
        ['listen', '--forward-to', app.url, '--envelope', '--secret', DEST_SECRET, '--url', gw.url],
        { OPS_API_TOKEN: SECRETS.ops, GATEWAY_CONFIG: config },
      );
      try {
        await waitFor(() => listen.stderr().includes('Forwarding events'), 90_000, 'listen connected');
        for (const [source, secret] of [
          ['acme', RUNTIME_SECRET],
          ['shop-file', FILE_SECRET],
        ] as const) {
          const sent = await post(
            `${gw.url}/api/webhooks/${source}`,
            BODY,
            shopifyHeaders(secret, BODY, `env-${source}`),
          );
          expect(sent.status, sent.text).toBe(200);
          const id = `evt_${sent.json.id}`;
          const forwarded = await deliveryOf(app.deliveries, id, `listen's forward of ${source}`);
          const delivered = await deliveryOf(destination.deliveries, id, `the delivery of ${source} to erp`);
          expect(forwarded.bytes.toString(), listen.stderr()).toBe(delivered.bytes.toString());
          expect(JSON.parse(forwarded.bytes.toString())).toMatchObject({
            aggregate_id: 'A-1001',
            source_service: source,
            tenant_context: source === 'acme' ? { tenant: 'acme-eu', shard: 3 } : { tenant: 'file' },
          });
        }
        expect(listen.stderr()).not.toContain('lacks');
      } finally {
        await stop(listen);
        await app.close();
      }
      noSecretShown(listen);
    });

    it("a token that may not read a runtime source's settings: said, and forwarded with the provider's aggregate id", async () => {
      const app = await startReceiver();
      const listen = spawnCli(['listen', '--forward-to', app.url, '--envelope', '--source', 'acme', '--url', gw.url], {
        OPS_API_TOKEN: viewerToken,
      });
      try {
        await waitFor(() => listen.stderr().includes('Forwarding events'), 90_000, 'listen connected');
        const sent = await post(
          `${gw.url}/api/webhooks/acme`,
          BODY,
          shopifyHeaders(RUNTIME_SECRET, BODY, 'env-viewer'),
        );
        expect(sent.status, sent.text).toBe(200);
        const forwarded = await deliveryOf(app.deliveries, undefined, "listen's forward");
        expect(JSON.parse(forwarded.bytes.toString()).aggregate_id).toBe('820982911946154508');
        await waitFor(() => listen.stdout().includes('(unsigned)'), 10_000, 'the printed line');
        await waitFor(
          () =>
            listen
              .stderr()
              .includes(
                `The envelope of source "acme" lacks the aggregate_id_path and tenant_context it may set: the gateway shows a runtime source's settings to admin tokens only`,
              ),
          10_000,
          'the note on stderr',
        );
      } finally {
        await stop(listen);
        await app.close();
      }
      noSecretShown(listen, viewerToken);
    });

    it('a source that transforms its events: the one difference left is said', async () => {
      const app = await startReceiver();
      const listen = spawnCli(
        ['listen', '--forward-to', app.url, '--envelope', '--source', 'mapped', '--url', gw.url],
        {
          OPS_API_TOKEN: SECRETS.ops,
        },
      );
      try {
        await waitFor(() => listen.stderr().includes('Forwarding events'), 90_000, 'listen connected');
        const sent = await post(
          `${gw.url}/api/webhooks/mapped`,
          BODY,
          shopifyHeaders(RUNTIME_SECRET, BODY, 'env-mapped'),
        );
        expect(sent.status, sent.text).toBe(200);
        const forwarded = await deliveryOf(app.deliveries, undefined, "listen's forward");
        expect(forwarded.bytes.toString()).toContain(`"data":${BODY}`);
        await waitFor(
          () =>
            listen
              .stderr()
              .includes(
                `Source "mapped" transforms its events before routing: its destinations get the envelope of the transformation's result, listen sends the envelope of the body as received`,
              ),
          10_000,
          'the note on stderr',
        );
      } finally {
        await stop(listen);
        await app.close();
      }
    });

    it("a GitHub form hook's event: the forward's data is the JSON in its payload parameter, as the delivery's", async () => {
      const app = await startReceiver();
      const listen = spawnCli(['listen', '--forward-to', app.url, '--envelope', '--source', 'hub', '--url', gw.url], {
        OPS_API_TOKEN: SECRETS.ops,
        GATEWAY_CONFIG: config,
      });
      try {
        await waitFor(() => listen.stderr().includes('Forwarding events'), 90_000, 'listen connected');
        const json = Buffer.from('{"action":"opened","repository":{"full_name":"o/r"},"id":820982911946154508}');
        const body = formBody(json);
        const headers = await githubDelivery(HUB_SECRET, 'issues', body, {
          contentType: 'application/x-www-form-urlencoded',
        });
        const sent = await post(`${gw.url}/api/webhooks/hub`, body, headers);
        expect(sent.status, sent.text).toBe(200);
        const id = `evt_${sent.json.id}`;
        const forwarded = await deliveryOf(app.deliveries, undefined, "listen's forward of hub");
        const delivered = await deliveryOf(destination.deliveries, id, 'the delivery of hub to erp');
        expect(delivered.bytes.toString()).toContain(`"data":${json.toString()}`);
        expect(forwarded.bytes.toString()).toContain(`"data":${json.toString()}`);
        expect(JSON.parse(forwarded.bytes.toString()).aggregate_id).toBe('o/r');
      } finally {
        await stop(listen);
        await app.close();
      }
      noSecretShown(listen, HUB_SECRET);
    });

    const deliveryOf = async (deliveries: Delivery[], webhookId: string | undefined, what: string) =>
      (await waitFor(
        () => deliveries.find((d) => webhookId === undefined || d.headers['webhook-id'] === webhookId),
        30_000,
        what,
      ))!;
    const stop = async (run: CliProcess) => {
      run.child.kill('SIGTERM');
      await run.exited;
    };
    const noSecretShown = (run: CliProcess, ...more: string[]) => {
      for (const secret of [DEST_SECRET, RUNTIME_SECRET, FILE_SECRET, SECRETS.ops, ...more])
        expect(run.stdout() + run.stderr()).not.toContain(secret);
    };
  },
);
