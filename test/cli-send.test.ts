import { execFileSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inTurns, runCli } from './helpers/cli';
import { startGatewayForCli } from './helpers/cli-gateway';
import type { TestGateway } from './helpers/gateway';
import { PROVIDER_SECRETS } from './helpers/provider-signers';

// `send` must produce exactly what each provider sends: the real gateway (its own verification
// code, not the CLI's) has to accept it, and a second send of the same file is a duplicate.
describe('webhook-gateway send', () => {
  let gw: TestGateway;
  const dir = mkdtempSync(join(tmpdir(), 'gw-cli-send-'));
  let env: Record<string, string>;

  const payload = (name: string, value: object) => {
    const path = join(dir, `${name}.json`);
    writeFileSync(path, JSON.stringify(value, null, 2));
    return path;
  };
  const send = (source: string, file: string, ...args: string[]) =>
    // On a loaded 2-core CI machine one CLI run can need over 20 s.
    runCli(['send', source, '--file', file, '--url', gw.url, ...args], env, 90_000);
  const stored = (id: number) =>
    gw.query<{ source: string; topic: string; account: string | null }>(
      'select source, topic, account from webhook_events where id = $1',
      [id],
    );

  beforeAll(async () => {
    ({ gw, env } = await startGatewayForCli(dir));
  });
  afterAll(async () => {
    await gw?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shopify: accepted with the secret from the environment, then a duplicate', async () => {
    const file = payload('order', { id: 820982911946, total_price: '199.00' });
    const first = await send('shopify', file, '--topic', 'orders/paid', '--shop', 'acme.myshopify.com');
    expect(first.code, first.stderr).toBe(0);
    const id = Number(
      /^accepted: stored as event (\d+) \(shopify → POST \/api\/webhooks\/shopify\)$/m.exec(first.stdout)?.[1],
    );
    expect(first.stderr).toContain(`See it: webhook-gateway events show ${id}`);
    expect(await stored(id)).toEqual([{ source: 'shopify', topic: 'orders/paid', account: 'acme.myshopify.com' }]);
    const second = await send('shopify', file, '--topic', 'orders/paid', '--shop', 'acme.myshopify.com');
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/^duplicate: this delivery was stored before/);
  });

  // Each source: a payload and extra flags. Providers that take the id from the payload need one.
  const cases: [source: string, body: object, args: string[], topic: string][] = [
    [
      'easypost',
      { id: 'evt_cli_1', description: 'tracker.updated', result: { status: 'delivered' } },
      [],
      'tracker.updated',
    ],
    ['keycloak', { uid: 'kc-cli-1', type: 'LOGIN', realmId: 'acme', userId: 'u-9' }, [], 'LOGIN'],
    [
      'stripe',
      { id: 'evt_cli_stripe', type: 'payment_intent.succeeded', data: { object: { amount: 2000 } } },
      [],
      'payment_intent.succeeded',
    ],
    ['standard', { type: 'invoice.paid', data: { id: 'inv_1' } }, [], 'invoice.paid'],
    ['honey', { sku: 'A-1', qty: 3 }, ['--topic', 'inventory.stock_received'], 'inventory.stock_received'],
    ['plain', { hello: 'world' }, [], 'unknown'],
    ['basic', { via: 'basic auth' }, [], 'unknown'],
    ['apikey', { via: 'api key header' }, [], 'unknown'],
    ['apikey-query', { via: 'api key query' }, [], 'unknown'],
  ];

  it('every provider of GATEWAY_CONFIG and the environment: accepted, then a duplicate', async () => {
    const files = cases.map(([source, body]) => payload(source, body));
    const firsts = await inTurns(
      cases.map(
        ([source, , args], i) =>
          () =>
            send(source, files[i]!, ...args),
      ),
    );
    for (const [i, run] of firsts.entries()) {
      const [source, , , topic] = cases[i]!;
      expect(run.code, `${source}: ${run.stderr}`).toBe(0);
      const id = Number(/accepted: stored as event (\d+)/.exec(run.stdout)?.[1]);
      expect(await stored(id), source).toEqual([expect.objectContaining({ source, topic })]);
    }
    const seconds = await inTurns(
      cases.map(
        ([source, , args], i) =>
          () =>
            send(source, files[i]!, ...args),
      ),
    );
    for (const [i, run] of seconds.entries()) expect(run.stdout, cases[i]![0]).toMatch(/^duplicate: /);
  }, 240_000);

  it('svix (svix- headers) and a keycloak source with algorithm: sha1 (as p2 signs): accepted', async () => {
    const runs = [
      await send('svix', payload('svix', { type: 'user.created', data: { id: 'user_1' } })),
      await send('kc-sha1', payload('kc-sha1', { uid: 'kc-cli-2', type: 'access.LOGOUT', realmName: 'acme' })),
    ];
    const topics = [];
    for (const run of runs) {
      expect(run.code, run.stderr).toBe(0);
      topics.push((await stored(Number(/accepted: stored as event (\d+)/.exec(run.stdout)?.[1])))[0]);
    }
    expect(topics).toEqual([
      expect.objectContaining({ source: 'svix', topic: 'user.created' }),
      expect.objectContaining({ source: 'kc-sha1', topic: 'LOGOUT', account: 'acme' }),
    ]);
  });

  it('a generic-hmac source that signs timestamp, nonce and path (opsiq) is accepted', async () => {
    const run = await send('opsiq', payload('opsiq', { event: 'ticket.created', ticket: 7 }));
    expect(run.code, run.stderr).toBe(0);
    const id = Number(/accepted: stored as event (\d+)/.exec(run.stdout)?.[1]);
    expect(await stored(id)).toEqual([expect.objectContaining({ source: 'opsiq', topic: 'ticket.created' })]);
  });

  it('--provider and --secret sign for a source without any configuration', async () => {
    const run = await runCli(
      [
        'send',
        'github',
        '--file',
        payload('push', { ref: 'refs/heads/main', action: 'opened' }),
        '--provider',
        'github',
        '--secret',
        PROVIDER_SECRETS.github,
        '--topic',
        'pull_request',
        '--url',
        gw.url,
      ],
      {},
    );
    expect(run.code, run.stderr).toBe(0);
    const id = Number(/accepted: stored as event (\d+)/.exec(run.stdout)?.[1]);
    expect(await stored(id)).toEqual([expect.objectContaining({ source: 'github', topic: 'pull_request.opened' })]);
  });

  it('a wrong secret is rejected by the gateway (exit 1); mistakes in the command exit 2', async () => {
    const file = payload('wrong', { id: 'evt_wrong', type: 'x' });
    const [wrong, unknown, topic, missing, noSecret] = await inTurns([
      () => send('stripe', file, '--secret', 'whsec_not_the_secret'),
      () => send('acme-partner', file),
      () => send('stripe', file, '--topic', 'charge.succeeded'),
      () => send('shopify', join(dir, 'nope.json')),
      () => runCli(['send', 'shopify', '--file', file, '--url', gw.url], {}),
    ]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('Rejected: 401 invalid_signature');
    // The hint is about the signing secret, never the ops token (a 401 of the ops API is).
    expect(wrong.stderr).toContain(
      'signed with the secret from --secret; the running gateway verifies "stripe" with its own',
    );
    expect(wrong.stderr).not.toContain('OPS_API_TOKEN');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('Unknown source "acme-partner"');
    expect(topic.code).toBe(2);
    expect(topic.stderr).toContain('--topic does not apply to stripe: the topic is the payload\'s "type"');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('nope.json: ENOENT');
    expect(noSecret.code).toBe(2);
    expect(noSecret.stderr).toContain('No secret for source "shopify": pass --secret, or set SHOPIFY_WEBHOOK_SECRET');
    // A scheme the signers cannot sign for without the source's options is a usage mistake too.
    const cannot = await runCli(
      ['send', 'partner', '--file', file, '--provider', 'api-key', '--secret', 'k', '--url', gw.url],
      {},
    );
    expect(cannot.code).toBe(2);
    expect(cannot.stderr).toContain('An api-key source is described in GATEWAY_CONFIG');
    // Six CLI start-ups, two at a time, on a loaded 2-core machine.
  }, 180_000);

  it('a payload file over 256 MiB or /dev/zero is refused naming the file (exit 2); a directory too; a pipe is sent', async () => {
    const huge = join(dir, 'huge.json');
    writeFileSync(huge, '');
    truncateSync(huge, 256 * 1024 * 1024 + 1); // sparse: nothing is written to disk
    const zero = join(dir, 'zero.json');
    symlinkSync('/dev/zero', zero);
    const sendFile = (file: string) =>
      runCli(
        [
          'send',
          'github',
          '--file',
          file,
          '--provider',
          'github',
          '--secret',
          PROVIDER_SECRETS.github,
          '--url',
          gw.url,
        ],
        {},
      );
    const [tooLarge, device, folder] = await inTurns([() => sendFile(huge), () => sendFile(zero), () => sendFile(dir)]);
    expect(tooLarge.code).toBe(2);
    expect(tooLarge.stderr).toContain(
      `${huge} is larger than 268435456 bytes (256 MiB), more than a webhook body: check the path`,
    );
    // /dev/zero never ends: read as a stream, it stops at the limit instead of filling memory.
    expect(device.code).toBe(2);
    expect(device.stderr).toContain(`${zero} is larger than 268435456 bytes (256 MiB)`);
    expect(folder.code).toBe(2);
    expect(folder.stderr).toContain(`${dir} is a directory, not a regular file`);

    // `--file <(jq …)` and `--file /dev/stdin` hand the CLI a pipe: read to its end and sent.
    const fifo = join(dir, 'fifo.json');
    execFileSync('mkfifo', [fifo]);
    const body = JSON.stringify({ zen: 'Piped payloads are sent.', hook_id: 4242 });
    const sending = runCli(
      [
        'send',
        'github',
        '--file',
        fifo,
        '--provider',
        'github',
        '--secret',
        PROVIDER_SECRETS.github,
        '--url',
        gw.url,
        '--topic',
        'ping',
      ],
      {},
    );
    // Opening the FIFO for writing waits for the CLI to open it for reading.
    await new Promise<void>((resolve, reject) => {
      const writer = createWriteStream(fifo);
      writer.on('error', reject);
      writer.end(body, () => resolve());
    });
    const piped = await sending;
    expect(piped.code, piped.stderr).toBe(0);
    const id = Number(/accepted: stored as event (\d+)/.exec(piped.stdout)?.[1]);
    expect(id).toBeGreaterThan(0);
    const [row] = await gw.query<{ body: string }>(
      "select convert_from(body, 'UTF8') as body from webhook_events where id = $1",
      [id],
    );
    expect(row?.body).toBe(body);
  }, 120_000);
});
