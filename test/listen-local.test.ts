import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { spawnCli, type CliProcess } from './helpers/cli';
import { databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, waitFor } from './helpers/gateway';
import { freePort } from './helpers/process';
import { startReceiver } from './helpers/receiver';
import { post, shopifyHeaders } from './helpers/signers';

/** A local app that takes requests and never answers them (a breakpoint, a deadlock). */
async function startHangingApp() {
  const pending: ServerResponse[] = [];
  const server = createServer((_request: IncomingMessage, response) => pending.push(response));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    pending,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// The developer's loop as it is used: a real gateway, a real `listen` process, a real local app.
describe.each(databaseKinds())('listen and the local app (%s)', { timeout: 120_000 }, (kind) => {
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const step of cleanup.reverse()) await step();
    cleanup.length = 0;
  });

  const spawnListen = (forwardTo: string, url: string, token = SECRETS.ops, extra: string[] = []): CliProcess => {
    const listen = spawnCli(['listen', '--forward-to', forwardTo, '--url', url, '--token', token, ...extra], {
      SHOPIFY_WEBHOOK_SECRET: SECRETS.shopify,
    });
    cleanup.push(() => {
      if (listen.child.exitCode === null && listen.child.signalCode === null) listen.child.kill('SIGKILL');
      return listen.exited;
    });
    return listen;
  };

  it('Ctrl-C stops listen while the local app has not answered a forward', async () => {
    const gw = await startTestGateway(kind);
    cleanup.push(() => gw.stop());
    const app = await startHangingApp();
    cleanup.push(() => app.close());
    const listen = spawnListen(app.url, gw.url);
    await waitFor(() => listen.stderr().includes('Forwarding events'), 60_000, 'listen connected');

    const body = '{"note":"the app will not answer"}';
    await post(`${gw.url}/api/webhooks/shopify/orders/create`, body, shopifyHeaders(SECRETS.shopify, body, 'hang-1'));
    await waitFor(() => app.pending.length === 1, 20_000, 'the forward reached the app');

    listen.child.kill('SIGINT');
    const exit = await Promise.race([
      listen.exited,
      new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), 10_000).unref()),
    ]);
    expect(exit === 'still running' ? exit : exit.code).toBe(0);
  });

  // The gateway is gone (restarting, or the laptop went offline): listen waits between attempts,
  // up to 10 s. Ctrl-C then held it for the rest of that wait.
  it('Ctrl-C stops listen at once while it waits to reconnect to a gateway that went away', async () => {
    const gw = await startTestGateway(kind);
    let gone = false;
    cleanup.push(() => gone || gw.stop());
    const app = await startReceiver();
    cleanup.push(() => app.close());
    const listen = spawnListen(app.url, gw.url);
    await waitFor(() => listen.stderr().includes('Forwarding events'), 60_000, 'listen connected');
    gone = true;
    await gw.stop();
    await waitFor(() => listen.stderr().includes('reconnecting in 4.0 s'), 30_000, 'a long wait between attempts');

    listen.child.kill('SIGINT');
    const exit = await Promise.race([
      listen.exited,
      new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), 1_500).unref()),
    ]);
    expect(exit === 'still running' ? exit : exit.code).toBe(0);
  });

  it('a forward the local app never answers fails after --forward-timeout-ms, and listen goes on', async () => {
    const gw = await startTestGateway(kind);
    cleanup.push(() => gw.stop());
    const app = await startHangingApp();
    cleanup.push(() => app.close());
    const listen = spawnListen(app.url, gw.url, SECRETS.ops, ['--forward-timeout-ms', '1000']);
    await waitFor(() => listen.stderr().includes('Forwarding events'), 60_000, 'listen connected');

    const first = '{"note":"never answered"}';
    const a = (
      await post(
        `${gw.url}/api/webhooks/shopify/orders/create`,
        first,
        shopifyHeaders(SECRETS.shopify, first, 'slow-1'),
      )
    ).json.id;
    await waitFor(
      () =>
        new RegExp(
          `#${a}  shopify  orders/create  → failed: no answer within 1000 ms \\(is the local server at ${app.url} stuck\\?`,
        ).test(listen.stdout()),
      20_000,
      'the timed-out forward reported',
    );
    // Not stuck on it: the next event is forwarded too.
    const second = '{"note":"the next one"}';
    await post(
      `${gw.url}/api/webhooks/shopify/orders/create`,
      second,
      shopifyHeaders(SECRETS.shopify, second, 'slow-2'),
    );
    await waitFor(() => app.pending.length === 2, 20_000, 'the next event forwarded');
    expect(listen.child.exitCode).toBeNull();
  });

  it('--forward-timeout-ms that is not a whole number from 1 to 3600000 is a usage error', async () => {
    for (const value of ['0', '1.5', 'soon', '3600001']) {
      const listen = spawnListen('http://127.0.0.1:9/hooks', 'http://127.0.0.1:9', SECRETS.ops, [
        '--forward-timeout-ms',
        value,
      ]);
      const exit = await listen.exited;
      expect(exit.code, value).toBe(2);
      expect(exit.stderr, value).toContain(
        '--forward-timeout-ms must be a whole number of milliseconds from 1 to 3600000',
      );
    }
  });

  it('a --forward-to without http:// is a usage error naming the value and an example', async () => {
    const exit = await spawnListen('localhost:4000', 'http://127.0.0.1:9', SECRETS.ops).exited;
    expect(exit.code).toBe(2);
    expect(exit.stderr).toContain(
      '--forward-to must be an http(s) URL such as http://localhost:4000/webhooks, not "localhost:4000"',
    );
  });

  // Started with a wrong --url or token, listen has never had a stream: retrying cannot help, and
  // "Lost the stream" forever would hide why (tail stops with the reason too).
  it.each([
    [
      'no server at all',
      async () => ({ url: `http://127.0.0.1:${await freePort()}`, token: undefined }),
      /Cannot reach the gateway at .*ECONNREFUSED/,
    ],
    [
      'a web server that is not the gateway',
      async () => {
        const other = await startReceiver();
        cleanup.push(() => other.close());
        return { url: new URL(other.url).origin, token: undefined };
      },
      /not .*live stream/,
    ],
    [
      'the gateway, with a wrong token',
      async () => {
        const gw = await startTestGateway(kind);
        cleanup.push(() => gw.stop());
        return { url: gw.url, token: 'not-a-token' };
      },
      /401/,
    ],
  ] as [string, () => Promise<{ url: string; token?: string }>, RegExp][])(
    'a bad --url or token (%s) ends listen with the reason and exit code 1',
    async (_what, target, reason) => {
      const app = await startReceiver();
      cleanup.push(() => app.close());
      const { url, token } = await target();
      const listen = spawnListen(app.url, url, token);
      const exit = await Promise.race([
        listen.exited,
        waitFor(() => (listen.stderr().match(/Lost the stream/g)?.length ?? 0) >= 3, 60_000, 'retries').then(
          () => 'retrying forever' as const,
        ),
      ]);
      expect(exit === 'retrying forever' ? `${exit}: ${listen.stderr()}` : exit.code).toBe(1);
      expect(listen.stderr()).toMatch(reason);
    },
  );
});
