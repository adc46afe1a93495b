import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { spawnCli } from './helpers/cli';
import { databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, waitFor } from './helpers/gateway';
import { post, shopifyHeaders } from './helpers/signers';

/** A local app that answers 500, drops the connection, or answers 200, as each body asks. */
async function startMoodyApp() {
  const bodies: string[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      bodies.push(body);
      if (body.includes('"answer":"500"')) response.writeHead(500).end('boom');
      else if (body.includes('"answer":"drop"')) request.socket.destroy();
      else response.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    bodies,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// What the developer sees when their app fails a forward: the reason on that event's line, no
// retry of it, and the next event forwarded as usual.
describe.each(databaseKinds())('listen and a failing local app (%s)', { timeout: 120_000 }, (kind) => {
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const step of cleanup.reverse()) await step();
    cleanup.length = 0;
  });

  it('a 500, a dropped connection and a stopped app are each said on their line; listen goes on', async () => {
    const gw = await startTestGateway(kind);
    cleanup.push(() => gw.stop());
    const app = await startMoodyApp();
    let appClosed = false;
    cleanup.push(() => appClosed || app.close());
    const listen = spawnCli(['listen', '--forward-to', app.url, '--url', gw.url, '--token', SECRETS.ops], {
      SHOPIFY_WEBHOOK_SECRET: SECRETS.shopify,
    });
    cleanup.push(() => {
      if (listen.child.exitCode === null && listen.child.signalCode === null) listen.child.kill('SIGKILL');
      return listen.exited;
    });
    await waitFor(() => listen.stderr().includes('Forwarding events'), 60_000, 'listen connected');
    const send = async (answer: string) => {
      const body = `{"answer":"${answer}"}`;
      const sent = await post(
        `${gw.url}/api/webhooks/shopify/orders/create`,
        body,
        shopifyHeaders(SECRETS.shopify, body, `moody-${answer}`),
      );
      return sent.json.id as number;
    };

    const failed = await send('500');
    const dropped = await send('drop');
    const fine = await send('200');
    await waitFor(() => listen.stdout().includes(`#${fine}  `), 20_000, 'the third forward printed');
    const out = listen.stdout();
    expect(out).toMatch(new RegExp(`#${failed}  shopify  orders/create  → 500 Internal Server Error  \\d+ ms`));
    expect(out).toContain(
      `#${dropped}  shopify  orders/create  → failed: the local server closed the connection without answering`,
    );
    expect(out).toMatch(new RegExp(`#${fine}  shopify  orders/create  → 200 OK`));
    // Neither failure is forwarded again.
    expect(app.bodies).toEqual(['{"answer":"500"}', '{"answer":"drop"}', '{"answer":"200"}']);

    appClosed = true;
    await app.close();
    const refused = await send('down');
    await waitFor(() => listen.stdout().includes(`#${refused}  `), 20_000, 'the refused forward printed');
    expect(listen.stdout()).toContain(
      `#${refused}  shopify  orders/create  → failed: ECONNREFUSED (is the local server running at ${app.url}?)`,
    );
    expect(listen.child.exitCode).toBeNull();
  });
});
