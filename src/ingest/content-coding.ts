import type { MiddlewareHandler } from 'hono';
import { GatewayError } from '../errors';

/**
 * Refuses a request body sent with a Content-Encoding (gzip, deflate, br, …) with
 * `415 unsupported_content_encoding` and `Accept-Encoding: identity`, before it is read
 * (RFC 9110 §15.5.16 and §12.5.3: a server that does not decode a content coding answers 415 and
 * lists what it accepts). `identity` (no coding) is accepted.
 *
 * Until 2026-12-06 such a body was verified and stored as the compressed bytes, without its
 * Content-Encoding header. The senders that compress sign the uncompressed body (GetStream's
 * webhook compression: "the payload signature check is done on the uncompressed payload";
 * QuickNode Streams: "signs the uncompressed JSON before gzipping it"), so they were answered
 * `401 invalid_signature` ("does not match the request body"), which sends an operator after the secret; a sender that signed the
 * compressed bytes had a 200 for a payload no filter, transformation, schema or destination could
 * read, nor tell was compressed. Decoding instead would store bytes other than those received and
 * needs a bound on the inflated size (a few KiB of gzip inflate to gigabytes): a decision for when
 * a provider needs it, not a side effect.
 */
export function refuseContentCoding(next: MiddlewareHandler): MiddlewareHandler {
  return (c, after) => {
    const coding = c.req.header('content-encoding');
    if (coding !== undefined && !isIdentity(coding)) {
      throw new GatewayError(
        415,
        'unsupported_content_encoding',
        'The body is sent with a Content-Encoding; the gateway verifies and stores bodies as signed and does not decode them: send it uncompressed (turn off compression in the sender)',
        { headers: { 'accept-encoding': 'identity' } },
      );
    }
    return next(c, after);
  };
}

/** No coding at all: empty, or `identity` (a repeated header arrives joined with ", "). */
function isIdentity(coding: string): boolean {
  return coding.split(',').every((token) => ['', 'identity'].includes(token.trim().toLowerCase()));
}
