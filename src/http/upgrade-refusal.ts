import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

/** A refusal's JSON is a few hundred bytes; anything larger is not one of ours and stays unsent. */
const MAX_REFUSAL_BODY_BYTES = 64 * 1024;

/** node-server's bindings: `incoming` is the request (HTTP/1.1 or HTTP/2), `outgoing` its response. */
type Bindings = { incoming?: object; outgoing?: unknown };
type Fetch = (request: Request, env: Bindings) => Response | Promise<Response>;

/**
 * The JSON body of a refused WebSocket upgrade. @hono/node-server runs the app for an upgrade
 * request and, when the app answers instead of upgrading (401 without a token, 404 on a path with
 * no WebSocket), writes the app's status and headers with `Content-Length: 0`: the body saying what
 * was wrong and what to do was dropped. `fetch` (given to serve(), which uses it for upgrades
 * only) keeps a refusal's body by request; `restoreBody` puts it back under that head.
 */
export function keepUpgradeRefusalBodies(appFetch: Fetch) {
  const bodies = new WeakMap<object, Buffer>();
  return {
    fetch: async (request: Request, env: Bindings) => {
      const response = await appFetch(request, env);
      // `outgoing` is set for plain requests; an upgrade has none.
      if (!env.incoming || env.outgoing !== undefined || response.status < 400 || !response.body) return response;
      const body = Buffer.from(await response.arrayBuffer());
      if (body.length <= MAX_REFUSAL_BODY_BYTES) bodies.set(env.incoming, body);
      return new Response(null, { status: response.status, headers: response.headers });
    },

    /**
     * Adds the kept body to node-server's refusal of `request` on `socket`: its next `end(head)`
     * carrying `Content-Length: 0` gets the body and its length. Any other end (ws refusing a bad
     * handshake with its own body, a WebSocket closing) passes untouched.
     */
    restoreBody(request: IncomingMessage, socket: Duplex) {
      const end = socket.end.bind(socket) as (...args: unknown[]) => Duplex;
      socket.end = ((...args: unknown[]) => {
        socket.end = end as Duplex['end'];
        const [head, ...rest] = args;
        const body = bodies.get(request);
        if (!body || typeof head !== 'string' || !/^HTTP\/1\.1 [45]\d\d /.test(head) || !head.endsWith('\r\n\r\n'))
          return end(...args);
        const lines = head.slice(0, -4).split('\r\n');
        const at = lines.indexOf('Content-Length: 0');
        if (at < 0) return end(...args);
        lines[at] = `Content-Length: ${body.length}`;
        return end(Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body]), ...rest);
      }) as Duplex['end'];
    },
  };
}

export type UpgradeRefusalBodies = ReturnType<typeof keepUpgradeRefusalBodies>;
