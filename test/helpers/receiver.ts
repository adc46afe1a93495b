import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Delivery {
  /** The request body exactly as it arrived on the socket. */
  bytes: Buffer;
  /** The request's path (and query). */
  path: string;
  headers: IncomingHttpHeaders;
}

/**
 * A real HTTP server on a free loopback port (127.0.0.1 unless told, e.g. ::1) that records every
 * POST's raw bytes and answers 200: a destination we can run ourselves, so nothing is mocked
 * between the gateway and the socket.
 */
export async function startReceiver(host = '127.0.0.1') {
  const deliveries: Delivery[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      deliveries.push({ bytes: Buffer.concat(chunks), path: request.url ?? '', headers: request.headers });
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/hooks`,
    deliveries,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
