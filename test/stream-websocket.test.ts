import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { post, shopifyHeaders } from './helpers/signers';

interface Frame {
  event: string;
  id?: string;
  data?: any;
}

/** A real WebSocket client (the `ws` package) that records frames, the close code, or the refusal. */
function connect(url: string, headers: Record<string, string> = {}) {
  const socket = new WebSocket(url, { headers });
  const frames: Frame[] = [];
  const state: { closeCode?: number; refusedStatus?: number; open: boolean } = { open: false };
  socket.on('open', () => (state.open = true));
  socket.on('message', (data) => frames.push(JSON.parse(String(data)) as Frame));
  socket.on('close', (code) => (state.closeCode = code));
  socket.on('unexpected-response', (_req, res) => {
    state.refusedStatus = res.statusCode;
    res.resume();
    socket.terminate();
  });
  socket.on('error', () => {});
  return { socket, frames, state };
}

const wsUrl = (gw: TestGateway, path: string) => gw.url.replace(/^http/, 'ws') + path;

// Each test starts a gateway: generous timeouts for a loaded CI machine, not sleeps.
describe('live stream over WebSocket', { timeout: 180_000 }, () => {
  const open: ReturnType<typeof connect>[] = [];
  let gw: TestGateway | undefined;
  afterEach(async () => {
    for (const client of open.splice(0)) client.socket.terminate();
    await gw?.stop();
    gw = undefined;
  });

  it('answers an upgrade on both paths with the token in a header or the query, filtered like SSE', async () => {
    gw = await startTestGateway('pglite');
    const refused = connect(wsUrl(gw, '/api/events/stream'));
    const wrong = connect(wsUrl(gw, '/api/events/stream?token=nope'));
    open.push(refused, wrong);
    await waitFor(() => refused.state.refusedStatus && wrong.state.refusedStatus);
    expect([refused.state.refusedStatus, wrong.state.refusedStatus]).toEqual([401, 401]);

    const viaHeader = connect(wsUrl(gw, '/api/events/stream'), { authorization: `Bearer ${SECRETS.ops}` });
    const viaQuery = connect(wsUrl(gw, `/api/v1/webhooks/stream?token=${SECRETS.ops}&source=shopify`));
    const otherSource = connect(wsUrl(gw, `/api/events/stream?token=${SECRETS.ops}&source=easypost`));
    open.push(viaHeader, viaQuery, otherSource);
    await waitFor(() => [viaHeader, viaQuery, otherSource].every((c) => c.frames[0]?.event === 'ready'));
    expect(viaQuery.frames[0]!.data).toEqual({ filter: { source: 'shopify' } });

    const body = '{"order":1}';
    const res = await post(
      `${gw.url}/api/webhooks/shopify/orders/create`,
      body,
      shopifyHeaders(SECRETS.shopify, body, 'ws-1'),
    );
    for (const client of [viaHeader, viaQuery]) {
      await waitFor(
        () => client.frames.some((f) => f.event === 'completed' && f.data.id === res.json.id),
        10_000,
        'completed',
      );
      expect(client.frames.find((f) => f.event === 'received')).toMatchObject({
        id: String(res.json.id),
        data: { id: res.json.id, source: 'shopify', status: 'received', attempts: 0, arrival: true },
      });
    }
    expect(otherSource.frames.map((f) => f.event)).toEqual(['ready']);
    // The token in the query string never reaches the log.
    expect(gw.logs.join('')).not.toContain(SECRETS.ops);
  });

  it('carries the stored request to a client that asks for it, and resumes after an event id', async () => {
    gw = await startTestGateway('pglite');
    const bodies = ['{"n":1}', '{"n":2}'];
    const ids: number[] = [];
    for (const [i, body] of bodies.entries()) {
      ids.push(
        (
          await post(
            `${gw.url}/api/webhooks/shopify/orders/create`,
            body,
            shopifyHeaders(SECRETS.shopify, body, `ws-r${i}`),
          )
        ).json.id,
      );
    }
    const client = connect(wsUrl(gw, `/api/events/stream?token=${SECRETS.ops}&include=request&after=${ids[0]}`));
    open.push(client);
    await waitFor(() => client.frames.some((f) => f.event === 'received'));
    const resumed = client.frames.find((f) => f.event === 'received')!;
    expect(resumed.id).toBe(String(ids[1]));
    expect(resumed.data).toMatchObject({ id: ids[1], resumed: true, arrival: true, request: { provider: 'shopify' } });
    expect(Buffer.from(resumed.data.request.body_base64, 'base64').toString()).toBe(bodies[1]);
    expect(resumed.data.request.headers['x-shopify-topic']).toBe('orders/create');
    // Signatures are never stored, so never streamed.
    expect(JSON.stringify(resumed.data.request.headers)).not.toContain(
      createHmac('sha256', SECRETS.shopify).update(bodies[1]!).digest('base64'),
    );
    expect(Object.keys(resumed.data.request.headers)).not.toContain('x-shopify-hmac-sha256');
  });

  it('disconnects a client that stops reading with 1008 instead of buffering for it', async () => {
    gw = await startTestGateway('pglite', { streamClientBufferBytes: 64 * 1024 });
    const slow = connect(wsUrl(gw, `/api/events/stream?token=${SECRETS.ops}&include=request`));
    open.push(slow);
    await waitFor(() => slow.frames.length > 0);
    slow.socket.pause(); // stops reading from the TCP socket: the server's send buffer fills
    const filler = 'x'.repeat(256 * 1024);
    const cutOff = async () =>
      /stream_clients_cut_off_total\{transport="websocket"\} 1/.test(
        await (await fetch(`${gw!.url}/metrics`, { headers: { authorization: `Bearer ${SECRETS.ops}` } })).text(),
      );
    // Until kernel buffers and then the 64 KiB bound are full; each event is ~350 KiB on the wire.
    for (let i = 0; i < 200 && !(await cutOff()); i++) {
      const body = `{"i":${i},"pad":"${filler}"}`;
      await post(
        `${gw.url}/api/webhooks/shopify/orders/create`,
        body,
        shopifyHeaders(SECRETS.shopify, body, `slow-${i}`),
      );
    }
    await waitFor(cutOff, 10_000, 'slow client cut off');
    slow.socket.resume();
    await waitFor(() => slow.state.closeCode !== undefined, 10_000, 'close');
    expect(slow.state.closeCode).toBe(1008);
  });
});
