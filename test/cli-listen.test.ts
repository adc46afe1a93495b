import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnCli, type CliProcess } from './helpers/cli';
import { SECRETS, waitFor } from './helpers/gateway';
import { freePort, spawnGateway, waitUntilHealthy } from './helpers/process';
import { startReceiver } from './helpers/receiver';
import { post, shopifyHeaders, shopifySignature } from './helpers/signers';
import { startTcpProxy } from './helpers/tcp-proxy';

const ENVELOPE_SECRET = `whsec_${Buffer.from('listen-envelope-key-0123456789ab').toString('base64')}`;

/** What a Standard Webhooks receiver checks, computed here with node:crypto. */
const standardSignature = (id: string, timestamp: string, body: Buffer) =>
  `v1,${createHmac('sha256', Buffer.from(ENVELOPE_SECRET.slice(6), 'base64'))
    .update(`${id}.${timestamp}.`)
    .update(body)
    .digest('base64')}`;

// A real gateway process, real listen processes, real local servers; the stream between one
// listen and the gateway runs through a TCP proxy the test can cut.
describe('webhook-gateway listen', { timeout: 540_000 }, () => {
  const cleanup: (() => unknown)[] = [];
  afterAll(async () => {
    for (const step of cleanup.reverse()) await step();
  });

  it('forwards original bytes re-signed as the provider signs (or the signed envelope), and resumes after a cut', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-listen-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const port = await freePort();
    const gateway = spawnGateway(['start'], {
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: dir,
      SHOPIFY_WEBHOOK_SECRET: SECRETS.shopify,
      OPS_API_TOKEN: SECRETS.ops,
      LOG_LEVEL: 'warn',
    });
    cleanup.push(async () => {
      gateway.child.kill('SIGTERM');
      await gateway.exited;
    });
    const gatewayUrl = `http://127.0.0.1:${port}`;
    await waitUntilHealthy(`${gatewayUrl}/healthz`, 360_000);
    const proxy = await startTcpProxy({ host: '127.0.0.1', port });
    cleanup.push(() => proxy.close());
    const app = await startReceiver();
    const envelopeApp = await startReceiver();
    cleanup.push(
      () => app.close(),
      () => envelopeApp.close(),
    );

    const listens: CliProcess[] = [
      spawnCli(['listen', '--forward-to', app.url, '--url', `http://127.0.0.1:${proxy.port}`, '--token', SECRETS.ops], {
        SHOPIFY_WEBHOOK_SECRET: SECRETS.shopify,
      }),
      spawnCli([
        'listen',
        '--forward-to',
        envelopeApp.url,
        '--url',
        gatewayUrl,
        '--token',
        SECRETS.ops,
        '--envelope',
        '--secret',
        ENVELOPE_SECRET,
      ]),
    ];
    cleanup.push(() => listens.forEach((l) => l.child.kill('SIGTERM')));
    const [original, envelope] = listens as [CliProcess, CliProcess];
    await waitFor(() => listens.every((l) => l.stderr().includes('Forwarding events')), 120_000, 'listen connected');

    const first = '{"id":820982911946154508,"note":"first"}';
    const a = (
      await post(
        `${gatewayUrl}/api/webhooks/shopify/orders/create`,
        first,
        shopifyHeaders(SECRETS.shopify, first, 'listen-a'),
      )
    ).json.id;
    await waitFor(() => app.deliveries.length === 1 && envelopeApp.deliveries.length === 1, 30_000, 'first forward');
    const got = app.deliveries[0]!;
    expect(got.bytes.toString()).toBe(first);
    expect(got.headers['x-shopify-hmac-sha256']).toBe(shopifySignature(SECRETS.shopify, first));
    expect(got.headers['x-shopify-topic']).toBe('orders/create');
    expect(got.headers['x-shopify-shop-domain']).toBe('acme.myshopify.com');
    await waitFor(
      () => new RegExp(`#${a}  shopify  orders/create  → 200 OK  \\d+ ms  \\(shopify\\)`).test(original.stdout()),
      10_000,
      'printed line',
    );

    const env = envelopeApp.deliveries[0]!;
    const parsed = JSON.parse(env.bytes.toString());
    expect(parsed).toMatchObject({ event_type: 'orders/create', source_service: 'shopify', schema_version: '1.0' });
    expect(env.bytes.toString()).toContain('"data":{"id":820982911946154508,'); // embedded byte for byte
    expect(env.headers['webhook-id']).toBe(`evt_${a}`);
    expect(env.headers['webhook-signature']).toBe(
      standardSignature(`evt_${a}`, String(env.headers['webhook-timestamp']), env.bytes),
    );
    await waitFor(() => /→ 200 OK .*\(standard-webhooks\)/.test(envelope.stdout()), 10_000, 'envelope line');

    // Cut the first listen off, receive an event while it is away: it reconnects and resumes.
    await proxy.cut();
    await waitFor(() => original.stderr().includes('Lost the stream'), 30_000, 'listen noticed the cut');
    const second = '{"note":"while away"}';
    const b = (
      await post(
        `${gatewayUrl}/api/webhooks/shopify/orders/create`,
        second,
        shopifyHeaders(SECRETS.shopify, second, 'listen-b'),
      )
    ).json.id;
    await proxy.restore();
    await waitFor(() => app.deliveries.length >= 2, 60_000, 'resumed forward');
    expect(app.deliveries[1]!.bytes.toString()).toBe(second);
    expect(app.deliveries[1]!.headers['x-shopify-hmac-sha256']).toBe(shopifySignature(SECRETS.shopify, second));
    await waitFor(() => original.stdout().includes(`#${b}  shopify`), 10_000, 'printed resumed line');
    // Nothing forwarded twice.
    expect(app.deliveries.map((d) => d.bytes.toString())).toEqual([first, second]);
  });
});
