import type { IncomingMessage, ServerResponse } from 'node:http';
import { RequestError } from '@hono/node-server';

/**
 * Why @hono/node-server refuses a request before the app sees it, by the message of its
 * RequestError (src/url.ts and src/request.ts of @hono/node-server), in our words: theirs are not
 * an API, and an unknown one gets the general answer below.
 */
const REFUSALS: Record<string, { code: string; message: string }> = {
  'Backslash in request path': {
    code: 'invalid_path',
    message:
      'The request path contains a backslash; separate path segments with "/" and percent-encode a backslash as %5C',
  },
  'Invalid host header': {
    code: 'invalid_host',
    message: "The Host header is not a host name or address with an optional port; send the gateway's host",
  },
  'Missing host header': {
    code: 'invalid_host',
    message: "The request has no Host header; send the gateway's host",
  },
};

const GENERAL = {
  code: 'invalid_request_target',
  message:
    "The request target and Host header do not form a valid URL; send an absolute path such as /api/webhooks/<source> and the gateway's host",
};

/**
 * The answer to a request @hono/node-server cannot turn into a URL (a backslash in the path, a
 * malformed Host header): the gateway's JSON error, where the server's default is an empty 400.
 * Nothing from the request is quoted back. Anything else reaching here was thrown by the app
 * itself outside Hono's onError (which answers all its routes): a generic 500, as the default.
 * `onRefused` gets the code of each refusal (not of the 500: that is no verdict on the request).
 */
export function answerRefusedRequest(err: unknown, onRefused: (code: string) => void): Response {
  if (!(err instanceof RequestError)) return json(500, { code: 'internal_error', message: 'Internal error' });
  const refusal = REFUSALS[err.message] ?? GENERAL;
  onRefused(refusal.code);
  return json(400, refusal);
}

// A plain Response with a string body: @hono/node-server writes it out without streaming it.
const json = (status: number, error: { code: string; message: string }) =>
  new Response(JSON.stringify({ error }), { status, headers: { 'content-type': 'application/json' } });

/**
 * An HTTP/1.1 request without a Host header, which must be refused with 400 (RFC 9112 §3.2). Node
 * does that itself with an empty body unless `requireHostHeader` is off; the gateway turns it off
 * and answers here instead. HTTP/1.0 has no Host requirement and is served as before.
 */
export function lacksRequiredHost(request: IncomingMessage): boolean {
  return request.httpVersionMajor === 1 && request.httpVersionMinor === 1 && request.headers.host === undefined;
}

/** The JSON 400 for a request lacking its Host header; the connection closes, as Node's own answer did. */
export function refuseMissingHost(response: ServerResponse, onRefused: (code: string) => void): void {
  refuseBeforeTheApp(response, 400, REFUSALS['Missing host header']!, onRefused);
}

/**
 * A request body framed with a transfer coding besides `chunked` ("Transfer-Encoding: gzip,
 * chunked"). Node's parser (llhttp) only requires `chunked` to be the last coding and hands the
 * chunks' bytes over still gzip-coded: such a body was verified and stored as those bytes. RFC
 * 9112 §6.1: a server that does not understand a transfer coding answers 501. No webhook sender is
 * known to code its requests so; the check costs one header lookup per request.
 */
export function hasUnsupportedTransferCoding(request: IncomingMessage): boolean {
  const coding = request.headers['transfer-encoding'];
  return coding !== undefined && coding.split(',').some((token) => token.trim().toLowerCase() !== 'chunked');
}

/** The JSON 501 for a request with a transfer coding other than chunked; its body is not read. */
export function refuseTransferCoding(response: ServerResponse, onRefused: (code: string) => void): void {
  const error = {
    code: 'unsupported_transfer_coding',
    message:
      'The only transfer coding the gateway reads is chunked; send the body with Content-Length or chunked alone',
  };
  refuseBeforeTheApp(response, 501, error, onRefused);
}

function refuseBeforeTheApp(
  response: ServerResponse,
  status: number,
  error: { code: string; message: string },
  onRefused: (code: string) => void,
): void {
  onRefused(error.code);
  const body = JSON.stringify({ error });
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    connection: 'close',
  });
  response.end(body);
}
