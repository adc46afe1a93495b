import { createServer, maxHeaderSize, type RequestListener, type Server, type ServerOptions } from 'node:http';
import { getRequestListener, serve } from '@hono/node-server';
import type { Hono } from 'hono';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import type { GatewayConfig } from '../config/env';
import { createClientErrorHandler } from '../http/client-error';
import { continueWhenBodyIsRead } from '../http/expect-continue';
import { answerOtherUpgradesAsHttp } from '../http/upgrade-fallback';
import { keepUpgradeRefusalBodies } from '../http/upgrade-refusal';
import {
  answerRefusedRequest,
  hasUnsupportedTransferCoding,
  lacksRequiredHost,
  refuseMissingHost,
  refuseTransferCoding,
} from '../http/refused-request';
import type { Metrics } from '../ops/metrics';

/**
 * How long an idle keep-alive connection stays open between requests: Node's default (5 s),
 * written down so it is a decision. A client reusing the connection later reconnects.
 */
const KEEP_ALIVE_TIMEOUT_MS = 5_000;

/**
 * Starts the HTTP server (and the live stream's WebSocket upgrades); resolves once it listens on
 * HOST and `port` (PORT unless given: a worker's own listener is on WORKER_HTTP_PORT).
 */
export async function startHttpServer(
  app: Hono,
  config: GatewayConfig,
  metrics: Metrics,
  logger: Logger,
  port: number = config.port,
) {
  const webSockets = new WebSocketServer({ noServer: true, maxPayload: 4096 });
  let server: Server | undefined;
  // serve() builds its request listener without an error handler, so a request it cannot turn into
  // a URL (a backslash in the path, a malformed Host header) got an empty 400. The same listener
  // with one, on the server serve() asks for: serve() still sets up the WebSocket upgrades on it.
  // Every request answered before the app sees it is counted by its code: it reaches no app log.
  const refused = (code: string) => metrics.httpRefused(code);
  const appListener = getRequestListener(app.fetch, {
    hostname: config.host,
    errorHandler: (err) => answerRefusedRequest(err, refused),
  });
  const listener: RequestListener = (request, response) => {
    if (lacksRequiredHost(request)) refuseMissingHost(response, refused);
    else if (hasUnsupportedTransferCoding(request)) refuseTransferCoding(response, refused);
    else void appListener(request, response);
  };
  const withErrorHandler = ((options: ServerOptions) => createServer(options, listener)) as typeof createServer;
  // serve() runs this fetch for WebSocket upgrades only (plain requests go to `listener`).
  const upgradeRefusals = keepUpgradeRefusalBodies(app.fetch);
  const listening = await new Promise<number>((resolve, reject) => {
    server = <Server>serve(
      {
        fetch: upgradeRefusals.fetch,
        createServer: withErrorHandler,
        // WebSocket upgrades of the live stream; clients send nothing we read, so frames stay small.
        websocket: { server: webSockets },
        port,
        hostname: config.host,
        // Slow-loris protection: a client gets this long for its headers, and for the whole request.
        serverOptions: {
          headersTimeout: config.timeouts.headersMs,
          requestTimeout: config.timeouts.requestMs,
          keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
          // How often Node checks those timeouts (default 30 s, far too lax for slow-loris).
          connectionsCheckingInterval: Math.min(1000, config.timeouts.headersMs),
          // A request without Host is refused by `listener` with a JSON error, not by Node with an empty one.
          requireHostHeader: false,
        },
      },
      (info) => resolve(info.port),
    );
    answerOtherUpgradesAsHttp(server, upgradeRefusals);
    // `Expect: 100-continue`: the 100 is sent once the body is read, not before the head is judged.
    continueWhenBodyIsRead(server, listener);
    server.once('error', reject);
    // Requests Node's parser refuses (bad request line, oversized headers, bad chunked body) or
    // that time out never reach the app: answered here with JSON where Node's default is empty.
    server.on(
      'clientError',
      createClientErrorHandler(
        logger,
        {
          maxHeaderBytes: maxHeaderSize,
          headersTimeoutMs: config.timeouts.headersMs,
          requestTimeoutMs: config.timeouts.requestMs,
        },
        refused,
      ),
    );
    // Every open connection costs memory and a file descriptor; past the cap new ones are
    // closed as soon as they are accepted (Node's 'drop' event), before any byte is read.
    server.maxConnections = config.maxConnections;
    server.on('drop', () => metrics.connectionDropped());
  });
  return { port: listening, ...httpServerControls(server!, webSockets) };
}

export type HttpServer = Awaited<ReturnType<typeof startHttpServer>>;

function httpServerControls(server: Server, webSockets: WebSocketServer) {
  return {
    /** Open connections right now (0 once the server stopped listening). */
    openConnections(): Promise<number> {
      if (!server.listening) return Promise.resolve(0);
      return new Promise<number>((resolve) => server.getConnections((_, count) => resolve(count ?? 0)));
    },

    /**
     * Stops accepting connections; requests in flight finish and are answered (with
     * "connection: close"); whatever is still open after `timeoutMs` is cut. `finished()` waits
     * for the server to close and cancels that cut-off.
     */
    close(timeoutMs: number) {
      const closing = new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      // Upgraded sockets are no longer the HTTP server's connections: told to go away here, and
      // destroyed with everything else at the shutdown timeout.
      for (const client of webSockets.clients) client.close(1001, 'gateway stopping');
      const cutOff = setTimeout(() => {
        server.closeAllConnections();
        for (const client of webSockets.clients) client.terminate();
      }, timeoutMs);
      return {
        async finished(): Promise<void> {
          await closing;
          clearTimeout(cutOff);
        },
      };
    },
  };
}
