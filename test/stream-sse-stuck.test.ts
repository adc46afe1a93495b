import net from 'node:net';
import { afterEach, describe, it } from 'vitest';
import { databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { post, shopifyHeaders } from './helpers/signers';

// The SSE twin of the WebSocket test in stream-websocket.test.ts: a client that stops reading
// altogether must be cut off and counted, not kept forever with its notifications waiting.
describe.each(databaseKinds())('live stream (SSE) on %s', { timeout: 180_000 }, (kind) => {
  let gw: TestGateway | undefined;
  let socket: net.Socket | undefined;
  afterEach(async () => {
    socket?.destroy();
    await gw?.stop();
  });

  it('cuts off a client that stops reading instead of keeping it forever', async () => {
    gw = await startTestGateway(kind);
    const { port } = new URL(gw.url);
    const stuck = net.connect(Number(port), '127.0.0.1');
    socket = stuck;
    let received = '';
    let closed = false;
    stuck.on('close', () => (closed = true));
    stuck.on('data', (chunk: Buffer) => (received += chunk.toString()));
    stuck.on('error', () => {});
    stuck.write(
      `GET /api/events/stream?include=request HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${SECRETS.ops}\r\n\r\n`,
    );
    await waitFor(() => received.includes('event: ready'), 10_000, 'ready');
    stuck.pause(); // stops reading from the TCP socket: the server's writes block
    const cutOff = async () =>
      /stream_clients_cut_off_total\{transport="sse"\} 1/.test(
        await (await fetch(`${gw!.url}/metrics`, { headers: { authorization: `Bearer ${SECRETS.ops}` } })).text(),
      );
    // Large events fill the kernel buffers, then small ones the 1,000 notifications a client may
    // leave waiting (each event is announced when received and when completed).
    const filler = 'x'.repeat(512 * 1024);
    for (let i = 0; i < 1200 && !(await cutOff()); i++) {
      const body = i < 60 ? `{"i":${i},"pad":"${filler}"}` : `{"i":${i}}`;
      await post(
        `${gw.url}/api/webhooks/shopify/orders/create`,
        body,
        shopifyHeaders(SECRETS.shopify, body, `stuck-${i}`),
      );
    }
    await waitFor(cutOff, 30_000, 'stuck client cut off');
    stuck.resume();
    await waitFor(() => closed, 10_000, 'connection closed');
  });
});
