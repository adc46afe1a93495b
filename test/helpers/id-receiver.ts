import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface IdReceiverOptions {
  /** The port to listen on; 0 (the default) takes a free one. */
  port?: number;
  /** The status each delivery is answered with (204 unless told). */
  status?: () => number;
  /** While true, every new connection is reset before any answer; the port stays held, so no other process takes it. */
  dead?: () => boolean;
}

/**
 * A destination on a loopback port that records each delivery's webhook-id and arrival time: for
 * tests that count which events arrived and when, not what their bytes were (see receiver.ts for that).
 */
export async function startIdReceiver({ port = 0, status = () => 204, dead = () => false }: IdReceiverOptions = {}) {
  const got: { id: string; at: number }[] = [];
  const server = createServer((req, res) => {
    req.resume().on('end', () => {
      got.push({ id: String(req.headers['webhook-id']), at: Date.now() });
      res.writeHead(status()).end();
    });
  });
  server.on('connection', (socket) => {
    if (dead()) socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    got,
    /** The webhook-ids received so far, in arrival order. */
    ids: () => got.map((g) => g.id),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
