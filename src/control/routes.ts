import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import { inexactNumbers } from '../config/inexact-numbers';
import { badRequest } from '../errors';
import { parseExactOrPlain } from '../json/exact-values';
import { limitBody } from '../ingest/body-limit';
import { requireRole } from '../ops/auth';
import { createOpsApp } from '../ops/ops-app';
import { errorResponses } from '../ops/schemas';
import type { Change, SourceService } from './service';
import { addPauseRoutes } from './pause-routes';
import { bearer, error, ifMatch, json, versionFrom } from './route-openapi';
import { addSecretRoutes } from './secret-routes';
import { createSourceAnswer } from './source-answer';
import { guardedResponses, NameParam, Source, SourceEntry, SourcePatch, WithSecret } from './source-schemas';
import { addTestEventRoute } from './test-event-route';

export interface ControlRoutesDeps {
  sources: SourceService;
  /** Called after every change with before/after views (fingerprints only, never a secret). */
  audit?: (entry: Change, c: Context) => Promise<void>;
  /** Called after a resume, to wake the worker for the held events. */
  onResumed?: () => void;
  /** The gateway's HTTP app, for test events sent through ingest (the route exists only with it). */
  ingest?: (request: Request) => Response | Promise<Response>;
}

const MAX_BODY_BYTES = 256 * 1024;

/**
 * `/api/sources…`: sources managed at runtime (src/control). Their secrets are in
 * src/control/secret-routes.ts, pause and resume in src/control/pause-routes.ts, the schemas in
 * src/control/source-schemas.ts.
 */
export function createControlRoutes(deps: ControlRoutesDeps): OpenAPIHono {
  const app = createOpsApp();
  // Sources and secrets are admin's; holding and releasing a source's events is an operator's
  // action, like replay (docs/security.md, roles). Anyone may read the list (the UI's Sources page),
  // but only admins see `spec`: its destinations may hold literal credentials.
  const admin = requireRole('admin');
  const operator = requireRole('operator');
  const viewer = requireRole('viewer');
  const gate: MiddlewareHandler = (c, next) =>
    c.req.method === 'GET'
      ? viewer(c, next)
      : c.req.method === 'POST' && /\/(pause|resume)$/.test(c.req.path)
        ? operator(c, next)
        : admin(c, next);
  const { shown, answer } = createSourceAnswer(deps.audit);
  // A source entry is a few hundred bytes; JSON Schemas in `schemas` make it a few KiB.
  const bounded = limitBody(MAX_BODY_BYTES);
  for (const path of ['/api/sources', '/api/sources/*']) app.use(path, gate, bounded);

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/sources',
      summary: 'Every push source: file/env ones (read-only) and runtime ones (any role; `spec` for admins only)',
      security: bearer,
      responses: { 200: json(z.object({ sources: z.array(Source) }), 'The sources'), ...errorResponses },
    }),
    async (c) => c.json({ sources: (await deps.sources.list()).map((s) => shown(c, s)) }, 200),
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/sources',
      summary: 'Create a source (the secret, when generated, is returned once)',
      security: bearer,
      request: {
        query: z.object({
          origin: z.enum(['api', 'apply']).default('api').openapi({
            description:
              '`apply` (used by `webhook-gateway apply`): deleted by a later apply whose file no longer lists it',
          }),
        }),
        body: { content: { 'application/json': { schema: SourceEntry } }, required: true },
      },
      responses: { 201: json(WithSecret, 'Created'), 409: error('Name taken, or no master key'), ...errorResponses },
    }),
    async (c) => {
      await refuseInexactNumbers(c);
      return answer(c, await deps.sources.create(c.req.valid('json'), c.req.valid('query').origin), 201) as never;
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/sources/{name}',
      summary: "One source, with its secrets' fingerprints and ages",
      security: bearer,
      request: { params: NameParam },
      responses: {
        200: json(Source, 'The source (ETag: its version)'),
        404: error('No such source'),
        ...errorResponses,
      },
    }),
    async (c) => {
      const source = await deps.sources.get(c.req.valid('param').name);
      if (source.version) c.header('etag', `"${source.version}"`);
      return c.json(shown(c, source), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'patch',
      path: '/api/sources/{name}',
      summary: 'Change a runtime source (JSON merge patch of its entry)',
      security: bearer,
      request: {
        params: NameParam,
        headers: ifMatch,
        body: { content: { 'application/json': { schema: SourcePatch } }, required: true },
      },
      responses: { 200: json(Source, 'Changed'), ...guardedResponses },
    }),
    async (c) => {
      await refuseInexactNumbers(c);
      return answer(
        c,
        await deps.sources.update(c.req.valid('param').name, c.req.valid('json'), versionFrom(c)),
      ) as never;
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/api/sources/{name}',
      summary: 'Delete a runtime source (its stored events stay)',
      security: bearer,
      request: { params: NameParam, headers: ifMatch },
      responses: { 200: json(z.object({ deleted: z.string() }), 'Deleted'), ...guardedResponses },
    }),
    async (c) => answer(c, await deps.sources.remove(c.req.valid('param').name, versionFrom(c))) as never,
  );

  addSecretRoutes(app, { sources: deps.sources, answer });
  addPauseRoutes(app, { sources: deps.sources, answer, onResumed: deps.onResumed });
  if (deps.ingest) addTestEventRoute(app, { sources: deps.sources, audit: deps.audit, ingest: deps.ingest }, NameParam);
  return app;
}

/**
 * 400 invalid_value for a number the source would not keep (src/config/inexact-numbers.ts), read
 * from the body as sent: c.req.valid('json') has been through JSON.parse, which rounded it already.
 */
async function refuseInexactNumbers(c: Context): Promise<void> {
  const problems = inexactNumbers(parseExactOrPlain(await c.req.text()));
  if (problems.length > 0) throw badRequest('invalid_value', problems.join('; '));
}
