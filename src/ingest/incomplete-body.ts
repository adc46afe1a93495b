import type { IncomingMessage } from 'node:http';
import type { Context } from 'hono';
import { GatewayError } from '../errors';

/**
 * Reads a request body with `read`; when the read fails because the client is gone (it closed the
 * connection mid-body, or the server cut it at REQUEST_TIMEOUT_MS after answering 408), the
 * failure is the client's: a 400 `incomplete_request`, counted and logged as a rejection like any
 * other, not an "unhandled error". Node rejects such a read with `Error: aborted` (ECONNRESET,
 * from abortIncoming in lib/_http_server.js), which reached the app's error handler and was
 * logged at error level with its stack, once per disconnecting sender. Nothing was stored either
 * way; no byte of the body is in the error or the log.
 */
export async function readBodyOrIncomplete<T>(c: Context, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    if (clientWentAway(c)) throw incompleteRequest(err);
    throw err;
  }
}

/** The client closed its connection before its body was complete (or before it was read at all). */
export const incompleteRequest = (cause?: unknown) =>
  new GatewayError(
    400,
    'incomplete_request',
    'The connection was closed before the request body was complete; send the request again',
    { cause },
  );

/** The request's connection closed before its body was complete (Node marks the request destroyed). */
function clientWentAway(c: Context): boolean {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  return incoming !== undefined && !incoming.complete && incoming.destroyed;
}
