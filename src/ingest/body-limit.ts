import type { Context, MiddlewareHandler, Next } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { GatewayError } from '../errors';
import { ingestBusy, type BodyBudget } from './body-budget';
import { incompleteRequest, readBodyOrIncomplete } from './incomplete-body';

/**
 * The ops API's own request bodies (filters, names, rules, source and destination entries) are a
 * few KiB; anything larger is refused before it is buffered, so a token cannot make the gateway
 * read gigabytes.
 */
export const OPS_MAX_BODY_BYTES = 256 * 1024;

/** Refuses bodies over `maxBytes` with 413, as limitBodyBy does (the ops API's fixed limits). */
export function limitBody(maxBytes: number, budget?: BodyBudget): MiddlewareHandler {
  return limitBodyBy(
    () => maxBytes,
    () => new GatewayError(413, 'payload_too_large', `Request body exceeds the limit of ${maxBytes} bytes`),
    budget,
  );
}

/**
 * Refuses bodies over the request's limit (`maxBytesOf`, read once per request; ingest's depends on
 * the source) with 413. A declared Content-Length is checked up front and the body then read on
 * @hono/node-server's fast path — Node's parser never delivers more bytes than declared. Only
 * bodies of unknown length (chunked) go through a counting stream, which measured ~1.5× slower
 * per request because it turns the body into a web stream.
 *
 * With a `budget` (ingest), a declared body also takes its length from the budget before it is
 * read, and a chunked one takes each chunk as it arrives; both give it back once the request is
 * answered (which is after the body is read, committed or refused, or the connection is gone).
 * A declared body that does not fit waits for room, bounded in time and in count, before any of it
 * is read; a chunk that does not fit is refused at once (it is already in memory, and waiting with
 * it would hold bytes outside the budget). Refusals are 503 ingest_busy (src/ingest/body-budget.ts).
 */
export function limitBodyBy(
  maxBytesOf: (c: Context) => number,
  tooLarge: (c: Context, maxBytes: number) => GatewayError,
  budget?: BodyBudget,
): MiddlewareHandler {
  return async (c, next) => {
    const maxBytes = maxBytesOf(c);
    const declared = c.req.header('content-length');
    if (declared === undefined || !/^\d{1,15}$/.test(declared)) {
      const refuse = () => tooLarge(c, maxBytes);
      if (budget) return readBudgeted(c, next, maxBytes, budget, refuse);
      // The limit may differ per request: hono's counting middleware is made for this one.
      return bodyLimit({
        maxSize: maxBytes,
        onError: () => {
          throw refuse();
        },
      })(c, next);
    }
    const bytes = Number(declared);
    if (bytes > maxBytes) throw tooLarge(c, maxBytes);
    if (!budget) return next();
    // The fast path is tryTake alone: a body that fits takes its bytes without an await.
    if (!budget.tryTake(bytes) && !(await budget.waitToTake(bytes, c.req.raw.signal))) {
      // A client that left while waiting is counted as what it is, not as the gateway being busy.
      throw c.req.raw.signal.aborted ? incompleteRequest() : ingestBusy();
    }
    try {
      await next();
    } finally {
      budget.release(bytes);
    }
  };
}

/**
 * A body of unknown length, read here chunk by chunk: each chunk is taken from the budget as it
 * arrives (so the bytes counted are the bytes held), and everything taken is given back once the
 * request is answered, refused or aborted.
 */
async function readBudgeted(
  c: Context,
  next: Next,
  maxBytes: number,
  budget: BodyBudget,
  tooLarge: () => GatewayError,
) {
  const body = c.req.raw.body;
  if (!body) return next();
  let taken = 0;
  try {
    const chunks: Uint8Array[] = [];
    const reader = body.getReader();
    for (;;) {
      const { done, value } = await readBodyOrIncomplete(c, () => reader.read());
      if (done) break;
      if (taken + value.length > maxBytes) throw closing(tooLarge());
      if (!budget.tryTake(value.length)) throw closing(ingestBusy());
      taken += value.length;
      chunks.push(value);
    }
    c.req.raw = new Request(c.req.raw, { body: Buffer.concat(chunks, taken) });
    await next();
  } finally {
    budget.release(taken);
  }
}

/**
 * A refusal sent while the rest of the body is still unread: Node then closes the connection, so
 * the answer says `Connection: close`. Without it a kept-alive client (undici, a Node Agent) sent
 * its next delivery on that socket and saw "other side closed".
 */
function closing(err: GatewayError): GatewayError {
  const headers = { ...err.options.headers, connection: 'close' };
  return new GatewayError(err.status, err.code, err.message, { ...err.options, headers });
}
