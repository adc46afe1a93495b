import type { IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import type { Context } from 'hono';
import { markRepeatedHeaders } from '../../providers/repeated-headers';
import { storedTraceContext } from '../tracing/spans';

/**
 * A request's headers as one record of lower-case names, as the request's Fetch `Headers` lists
 * them: a repeated header's values joined with ", " (Set-Cookie: the last one), values without
 * leading or trailing HTTP whitespace. Read from Node's raw header list when the request came in
 * through @hono/node-server: iterating `c.req.raw.headers` there makes it build a full undici
 * `Headers` per request (each name validated, the list sorted), 3–4 % of the gateway process's CPU
 * under the ingest bench (CPU profile, 2026-12-03). Other runtimes (tests' `app.request`) go the
 * `Headers` way.
 */
export function requestHeaders(c: Context): Record<string, string> {
  const incoming = (c.env as { incoming?: IncomingMessage | Http2ServerRequest } | undefined)?.incoming;
  const headers: Record<string, string> = {};
  if (!incoming?.rawHeaders) {
    c.req.raw.headers.forEach((value, name) => {
      headers[name] = value;
    });
    return headers;
  }
  return fromRawHeaders(incoming.rawHeaders);
}

/** Node's `rawHeaders` ([name, value, name, value, …], names as sent) folded like a Fetch `Headers`. */
export function fromRawHeaders(raw: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  let repeated: Set<string> | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    // HTTP/2 pseudo-headers (:method, :path) are not headers.
    if (name.startsWith(':')) continue;
    const value = trimHttpWhitespace(raw[i + 1]!);
    const earlier = headers[name];
    if (earlier !== undefined) (repeated ??= new Set()).add(name);
    headers[name] = earlier === undefined || name === 'set-cookie' ? value : `${earlier}, ${value}`;
  }
  // For the readers of signature and identity headers, which refuse a repeated one.
  if (repeated) markRepeatedHeaders(headers, repeated);
  return headers;
}

/** Fetch's header value normalisation: HTTP tab or space, CR, LF stripped at both ends. */
function trimHttpWhitespace(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && isHttpWhitespace(value.charCodeAt(start))) start++;
  while (end > start && isHttpWhitespace(value.charCodeAt(end - 1))) end--;
  return start === 0 && end === value.length ? value : value.slice(start, end);
}

const isHttpWhitespace = (code: number) => code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;

/** The request's Content-Length, when it is a valid one. */
export function declaredLength(c: Context): number | undefined {
  const declared = Number(c.req.header('content-length'));
  return Number.isSafeInteger(declared) && declared >= 0 ? declared : undefined;
}

/**
 * The headers stored with the event: the provider's kept ones that the request has and, with
 * tracing on, the ingest span's context (the attempt spans link to it). Built by assignment, not
 * by spreading: a spread object literal is built in V8's slow path, once per webhook.
 */
export function storedHeaders(names: readonly string[], headers: Record<string, string>): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const name of names) {
    const value = headers[name];
    if (value !== undefined) kept[name] = value;
  }
  const { traceparent } = storedTraceContext();
  if (traceparent !== undefined) kept.traceparent = traceparent;
  return kept;
}
