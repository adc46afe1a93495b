import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { GatewayError, badRequest } from '../errors';

// Optimistic concurrency of the ops API's configuration (sources, destinations, alert rules and
// channels): each row has a version, answered as the ETag; a change sent with If-Match is made only
// if the row is still at that version, else refused with 412 and nothing written. Without If-Match a
// change is made whatever the version (the behaviour before If-Match existed).

/** The If-Match request header, for a route's OpenAPI description. */
export const ifMatch = z.object({
  'if-match': z.string().optional().openapi({ description: 'The ETag (version) you last read' }),
});

/** If-Match: "3", W/"3" or 3; `*` (or none) matches any version. */
export function versionFrom(c: Context): number | undefined {
  const header = c.req.header('if-match')?.trim();
  if (!header || header === '*') return undefined;
  const match = /^(?:W\/)?"?(\d{1,9})"?$/.exec(header);
  if (!match) throw badRequest('invalid_if_match', 'If-Match: send the ETag as GET returned it, e.g. "3"');
  return Number(match[1]);
}

/** Sets the ETag of an answer to the row's version. */
export function setEtag(c: Context, version: number | null | undefined): void {
  if (version) c.header('etag', `"${version}"`);
}

/** 412 version_mismatch: `what` (`Alert rule "x"`) is at `version` now, not at the one sent. */
export function versionMismatch(what: string, version: number | undefined): GatewayError {
  return new GatewayError(
    412,
    'version_mismatch',
    `${what} changed since the version you sent in If-Match; it is now version ${version}: GET it again and retry`,
  );
}
