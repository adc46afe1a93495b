import { GatewayError, notFound } from '../errors';
import { limitBody, OPS_MAX_BODY_BYTES } from '../ingest/body-limit';
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { AuditLog } from '../store/audit';
import type { TokenStore } from '../store/tokens';
import {
  AuditListQuery,
  AuditPage,
  CreateTokenBody,
  CreatedToken,
  durationMs,
  TokenList,
  TokenNameParam,
  TokenView,
} from './access-schemas';
import { exactJson } from '../http/exact-json';
import { auditEntryView, tokenView } from './access-serialize';
import { auditContext } from './audit-context';
import { requireRole } from './auth';
import { optionalDate, readPage } from './paging';
import { ErrorBody, errorResponses } from './schemas';

export interface AccessDeps {
  tokens: TokenStore;
  audit: AuditLog;
  trustedProxies: number;
}

const bearer = [{ opsToken: [] }];
const admin = requireRole('admin');
const json = <T>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } });

/** `30d` → the time 30 days from now. */
export function expiryFrom(duration: string, now = Date.now()): Date {
  return new Date(now + durationMs(duration));
}

const WhoAmI = z
  .object({ token_name: z.string(), role: z.enum(['viewer', 'operator', 'admin', 'metrics']) })
  .openapi('WhoAmI');

/** Tokens (create, list, revoke) and the audit log: all admin; and who the caller is (any token). */
export function addAccessRoutes(app: OpenAPIHono, deps: AccessDeps): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/whoami',
      summary: "The calling token's name and role (any token): the UI offers only the actions the role may take",
      security: bearer,
      middleware: requireRole('metrics'),
      responses: { 200: json(WhoAmI, 'Who is calling'), ...errorResponses },
    }),
    (c) => {
      const { tokenName, role } = c.get('identity');
      return c.json({ token_name: tokenName, role }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/tokens',
      summary: 'List ops API tokens (admin): names, roles, prefixes and dates, never the tokens',
      security: bearer,
      middleware: admin,
      responses: { 200: json(TokenList, 'Every token, revoked ones included'), ...errorResponses },
    }),
    async (c) => c.json({ tokens: (await deps.tokens.list()).map(tokenView) }, 200),
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/tokens',
      summary: 'Create a token (admin). The answer holds the token: it is shown this once only',
      security: bearer,
      middleware: [admin, limitBody(OPS_MAX_BODY_BYTES)],
      request: { body: { content: { 'application/json': { schema: CreateTokenBody } }, required: true } },
      responses: {
        201: json(CreatedToken, 'The new token'),
        409: json(ErrorBody, 'The name is taken'),
        ...errorResponses,
      },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const result = await deps.tokens.create({
        name: body.name,
        role: body.role,
        expiresAt: body.expires_in ? expiryFrom(body.expires_in) : null,
      });
      if (result.status === 'name_taken') {
        throw new GatewayError(
          409,
          'token_name_taken',
          `A token named "${body.name}" exists (names stay taken after revocation); choose another name`,
        );
      }
      const view = tokenView(result.row);
      await deps.audit.record({
        ...auditContext(c, deps.trustedProxies),
        action: 'token.create',
        target: `token:${body.name}`,
        after: view,
      });
      c.header('cache-control', 'no-store');
      return c.json({ ...view, token: result.token }, 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/api/tokens/{name}',
      summary: 'Revoke a token (admin): refused on every instance within a second',
      security: bearer,
      middleware: admin,
      request: { params: TokenNameParam },
      responses: {
        200: json(TokenView, 'The revoked token'),
        404: json(ErrorBody, 'No such token'),
        ...errorResponses,
      },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      const before = await deps.tokens.byName(name);
      if (!before) throw notFound('token_not_found', `No token named "${name}"; GET /api/tokens lists them`);
      const after = (await deps.tokens.revoke(name))!;
      await deps.audit.record({
        ...auditContext(c, deps.trustedProxies),
        action: 'token.revoke',
        target: `token:${name}`,
        before: tokenView(before),
        after: tokenView(after),
      });
      return c.json(tokenView(after), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/audit',
      summary: 'The operator audit log, newest first (admin)',
      security: bearer,
      middleware: admin,
      request: { query: AuditListQuery },
      responses: { 200: json(AuditPage, 'One page of entries'), ...errorResponses },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const { page, nextCursor } = await readPage(q, (range) =>
        deps.audit.list({
          action: q.action,
          actor: q.actor,
          target: q.target,
          since: optionalDate(q.since),
          until: optionalDate(q.until),
          ...range,
        }),
      );
      // before/after keep a filter's digits (820982911946154508): c.json would round them.
      return exactJson(c, { entries: page.map(auditEntryView), next_cursor: nextCursor }, 200) as never;
    },
  );
}
