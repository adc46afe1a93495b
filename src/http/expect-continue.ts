import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';

/**
 * Requests sent with `Expect: 100-continue` get their `100 Continue` only once something starts
 * reading their body: a request refused from its head (no or a malformed signature, an unknown
 * source, a Content-Length over the source's body limit, a full body budget) is answered with its final
 * status and the body is never sent.
 *
 * Without a 'checkContinue' listener Node writes `100 Continue` as soon as the headers are parsed
 * (lib/_http_server.js, parserOnIncoming), before any route has looked at them: curl (for bodies
 * over its threshold, or with -H 'Expect: 100-continue'), .NET's HttpClient and Java's
 * HttpURLConnection then sent a body the gateway was about to refuse, which @hono/node-server
 * read and dropped (its drainIncoming, up to 64 MiB) — a 413 for a declared 99 MB body invited
 * that body first. RFC 9110 §10.1.1 lets a server answer the final status instead. When it does
 * without having sent 100, Node marks the response `Connection: close` and ends the connection
 * (ServerResponse: `_expect_continue && !_sent100` turns keep-alive off), so a body that arrives
 * anyway is never read as the next request.
 */
export function continueWhenBodyIsRead(server: Server, listener: RequestListener): void {
  server.on('checkContinue', (request: IncomingMessage, response: ServerResponse) => {
    // IncomingMessage starts pulling bytes off the socket in _read: the first read of the body,
    // whoever makes it (hono's body readers, a stream, Node's own dump after the answer).
    const read = request._read.bind(request);
    request._read = (size: number) => {
      request._read = read;
      // After the final answer went out (Node's dump of an unread body) a 100 would be a second
      // status line; Node writes 100 only while nothing of the response was written.
      if (!response.headersSent && !response.writableEnded) response.writeContinue();
      read(size);
    };
    listener(request, response);
  });
}
