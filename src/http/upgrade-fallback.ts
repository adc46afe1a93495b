import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { UpgradeRefusalBodies } from './upgrade-refusal';

/** Headers that only ask for the protocol switch; the request given back as HTTP/1.1 drops them. */
const UPGRADE_ONLY = new Set(['upgrade', 'http2-settings']);

/**
 * Requests asking to switch to another protocol than WebSocket are answered as plain HTTP/1.1.
 *
 * Node 20 hands every request carrying `Connection: upgrade` to the server's 'upgrade' listeners
 * as soon as there is one (the live stream's WebSocket needs one), and @hono/node-server's listener
 * returns without a word for anything but `Upgrade: websocket`: the request was never answered.
 * curl --http2 sends `Upgrade: h2c` on its first cleartext request, and so does Java's HttpClient
 * (HTTP/2 by default): a signed webhook sent that way hung until the sender gave up, unstored
 * (test/http-upgrade-requests.test.ts). RFC 9110 §7.8 lets a server ignore Upgrade, so the request
 * is handed back to the HTTP server as it was sent, minus the upgrade headers, its body bytes
 * untouched. WebSocket upgrades still reach the listeners serve() installed, which stay the only
 * 'upgrade' listener as far as they can tell (node-server answers refused ones only then), and a
 * refused one gets the app's JSON body back (src/http/upgrade-refusal.ts).
 */
export function answerOtherUpgradesAsHttp(server: Server, refusals?: UpgradeRefusalBodies): void {
  const webSocketListeners = server.listeners('upgrade') as ((...args: unknown[]) => void)[];
  server.removeAllListeners('upgrade');
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    // The same test node-server makes: what it takes, it answers.
    if (request.headers.upgrade?.toLowerCase() === 'websocket') {
      refusals?.restoreBody(request, socket);
      for (const listener of webSocketListeners) listener.call(server, request, socket, head);
      return;
    }
    if (socket.destroyed) return;
    // The parser stopped right after the headers: `head` is the start of the body (or of the next
    // request). Node's parser has already refused bad names, values and line breaks, so the
    // headers are written back as read (latin1: one byte per character, as Node decodes them).
    socket.unshift(Buffer.concat([Buffer.from(requestHeadWithoutUpgrade(request), 'latin1'), head]));
    server.emit('connection', socket);
  });
}

function requestHeadWithoutUpgrade(request: IncomingMessage): string {
  const lines = [`${request.method} ${request.url} HTTP/${request.httpVersion}`];
  const raw = request.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (UPGRADE_ONLY.has(lower)) continue;
    let value = raw[i + 1]!;
    if (lower === 'connection') {
      value = value
        .split(',')
        .map((token) => token.trim())
        .filter((token) => token !== '' && !UPGRADE_ONLY.has(token.toLowerCase()))
        .join(', ');
      if (value === '') continue;
    }
    lines.push(`${name}: ${value}`);
  }
  return `${lines.join('\r\n')}\r\n\r\n`;
}
