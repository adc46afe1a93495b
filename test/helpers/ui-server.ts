import { serve } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { createUiRoutes } from '../../src/ui/routes';
import type { TestGateway } from './gateway';

/**
 * The gateway's address with the UI on it. When gateway.ts mounts createUiRoutes() the gateway
 * serves /ui itself; until then the UI routes are put in front of the gateway's app on another port.
 */
export async function uiFor(gw: TestGateway): Promise<{ url: string; close(): Promise<void> }> {
  const probe = await fetch(`${gw.url}/ui`);
  await probe.body?.cancel();
  if (probe.ok) return { url: gw.url, close: async () => {} };

  const ui = createUiRoutes();
  const server = serve({
    fetch: (request: Request) =>
      new URL(request.url).pathname.startsWith('/ui') ? ui.fetch(request) : gw.gateway.app.fetch(request),
    port: 0,
    hostname: '127.0.0.1',
  });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
