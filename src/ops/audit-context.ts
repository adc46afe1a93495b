import { randomUUID } from 'node:crypto';
import type { Context } from 'hono';
import { clientAddress } from '../ingest/client-address';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Who made a change and from where, for recordAudit: the token name set by requireRole, the
 * request id (the caller's X-Request-Id when it is a plain token, else a new UUID, echoed back in
 * the response so an operator can quote it) and the client address (TRUST_PROXY rules).
 */
export function auditContext(c: Context, trustedProxies: number) {
  const given = c.req.header('x-request-id');
  const requestId = given && REQUEST_ID.test(given) ? given : randomUUID();
  c.header('x-request-id', requestId);
  return {
    actor: c.get('identity')?.tokenName ?? 'unknown',
    requestId,
    clientAddress: clientAddress(c, trustedProxies),
  };
}
