import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import { limitBody } from '../ingest/body-limit';
import { requireRole } from '../ops/auth';
import { createOpsApp } from '../ops/routes';
import { ifMatch, versionFrom } from '../ops/if-match';
import { errorResponses } from '../ops/schemas';
import { DEFAULT_OVERLAP_SECONDS, type Change, type SourceService } from './service';
import type { SourceView } from './view';
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

const NameParam = z.object({
  name: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'must be a source name (a-z, 0-9, "-", "_")')
    .openapi({ param: { name: 'name', in: 'path' }, example: 'acme-shop' }),
});
const SecretParam = NameParam.extend({
  id: z.coerce
    .number()
    .int()
    .positive()
    .max(Number.MAX_SAFE_INTEGER)
    .openapi({ param: { name: 'id', in: 'path' }, example: 7 }),
});
const Secret = z
  .object({
    id: z.number().nullable(),
    fingerprint: z.string(),
    created_at: z.string().nullable(),
    age_seconds: z.number().nullable(),
    not_after: z.string().nullable(),
    expired: z.boolean(),
  })
  .openapi('SourceSecret');
const Source = z
  .object({
    name: z.string(),
    provider: z.string(),
    managed_by: z.enum(['file', 'database']),
    origin: z.enum(['api', 'apply']).nullable(),
    paused: z.boolean(),
    on_hold: z.number().openapi({ description: 'Stored events held while the source is paused' }),
    version: z.number().nullable().openapi({ description: 'Also sent as the ETag; send it back in If-Match' }),
    path: z.string().openapi({ example: '/api/webhooks/acme-shop' }),
    spec: z.record(z.string(), z.unknown()).nullable().openapi({
      description:
        'The entry minus name, provider and secrets (database sources); null for file sources and for callers without the admin role',
    }),
    ordering: z
      .object({
        key: z.union([z.object({ jsonPath: z.string() }), z.object({ header: z.string() })]),
        onFailure: z.enum(['continue', 'block']),
        missingKey: z.enum(['own_lane', 'no_key_lane']),
      })
      .nullable()
      .openapi({
        description:
          'Per-key ordering of its events (docs/ordering.md); set with "ordering" in the entry; null: unordered',
      }),
    transform: z
      .object({ language: z.enum(['jsonata', 'javascript']), code: z.string() })
      .nullable()
      .openapi({
        description:
          'Run by the worker before routing: filters, destinations and handlers see what it computes (docs/destinations.md#a-sources-transformation); set with "transform" in the entry, checked when saved (400 invalid_transform with the position); null: none',
      }),
    transform_version: z.number().int().nullable().openapi({
      description:
        '`version` at the last change of `transform`; each attempt records the one it ran (attempt_log[].transform_version). File sources: 0 with a transform, else null',
    }),
    secrets: z.array(Secret),
    created_at: z.string().nullable(),
    updated_at: z.string().nullable(),
  })
  .openapi('Source');
const SourceEntry = z.object({ name: z.string(), provider: z.string() }).catchall(z.unknown()).openapi('SourceEntry', {
  description:
    'One entry of the config file\'s "sources" (same keys, same validation). Without "secrets" one is generated and returned once.',
});
const SourcePatch = z
  .record(z.string(), z.unknown())
  .openapi('SourcePatch', { description: 'JSON merge patch of the entry; null removes a key' });
const RotateBody = z
  .object({
    secret: z
      .string()
      .min(1)
      .optional()
      .openapi({ description: 'The new secret; generated (and returned once) when left out' }),
    overlap_seconds: z
      .number()
      .int()
      .min(0)
      .max(30 * 24 * 3600)
      .default(DEFAULT_OVERLAP_SECONDS)
      .openapi({ description: 'How long the secrets it replaces stay valid' }),
    keep: z
      .array(z.string().regex(/^[0-9a-f]{12}$/, "must be a secret's fingerprint (12 hex digits)"))
      .max(100)
      .optional()
      .openapi({
        description: 'Fingerprints of secrets that stay valid as they are (apply: the other secrets its file lists)',
      }),
  })
  .strict();
const WithSecret = Source.extend({
  secret: z.string().optional().openapi({ description: 'Shown once: only when the gateway generated it' }),
});
const Rotated = WithSecret.extend({ secret_id: z.number() });

// Shared with src/control/destination-routes.ts.
export const bearer = [{ opsToken: [] }];
export const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});
export const error = (description: string) => json(errorResponses[400].content['application/json'].schema, description);
const guardedResponses = {
  404: error('No such source'),
  409: error('Managed by the file, or no master key'),
  412: error('If-Match does not match the current version'),
  ...errorResponses,
};
export { ifMatch, versionFrom } from '../ops/if-match';

/** `/api/sources…`: sources managed at runtime (src/control). */
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
  const shown = (c: Context, source: SourceView): SourceView =>
    c.get('identity').role === 'admin' ? source : { ...source, spec: null };
  // A source entry is a few hundred bytes; JSON Schemas in `schemas` make it a few KiB.
  const bounded = limitBody(MAX_BODY_BYTES);
  for (const path of ['/api/sources', '/api/sources/*']) app.use(path, gate, bounded);

  const answer = async (
    c: Context,
    change: Change & { secret?: string; secret_id?: number },
    status: 200 | 201 = 200,
  ) => {
    await deps.audit?.({ action: change.action, source: change.source, before: change.before, after: change.after }, c);
    const { action: _a, source: _s, before: _b, after, ...extra } = change;
    if (after?.version) c.header('etag', `"${after.version}"`);
    // Pause and resume are an operator's: their answer shows the source as GET does for that role.
    return c.json(after ? { ...shown(c, after), ...extra } : { deleted: change.source }, status);
  };

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
    async (c) => answer(c, await deps.sources.create(c.req.valid('json'), c.req.valid('query').origin), 201) as never,
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
    async (c) =>
      answer(c, await deps.sources.update(c.req.valid('param').name, c.req.valid('json'), versionFrom(c))) as never,
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

  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/sources/{name}/rotate-secret',
      summary: 'Add a secret; the previous ones stay valid for overlap_seconds (default 24 h)',
      security: bearer,
      request: {
        params: NameParam,
        headers: ifMatch,
        body: { content: { 'application/json': { schema: RotateBody } }, required: false },
      },
      responses: { 200: json(Rotated, 'Rotated; `secret` is shown this once'), ...guardedResponses },
    }),
    async (c) => {
      const raw = c.req.header('content-type')?.includes('json') ? c.req.valid('json') : undefined;
      const body = RotateBody.parse(raw ?? {});
      return answer(
        c,
        await deps.sources.rotateSecret(
          c.req.valid('param').name,
          { secret: body.secret, overlapSeconds: body.overlap_seconds, keep: body.keep },
          versionFrom(c),
        ),
      ) as never;
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/api/sources/{name}/secrets/{id}',
      summary: 'Revoke one secret at once',
      security: bearer,
      request: { params: SecretParam, headers: ifMatch },
      responses: { 200: json(Source, 'Revoked'), ...guardedResponses },
    }),
    async (c) => {
      const { name, id } = c.req.valid('param');
      return answer(c, await deps.sources.revokeSecret(name, id, versionFrom(c))) as never;
    },
  );

  for (const action of ['pause', 'resume'] as const) {
    app.openapi(
      createRoute({
        method: 'post',
        path: `/api/sources/{name}/${action}`,
        security: bearer,
        summary:
          action === 'pause'
            ? "Hold the source's events: still accepted and stored, not processed"
            : 'Process the held events again',
        request: { params: NameParam, headers: ifMatch },
        responses: { 200: json(Source, action === 'pause' ? 'Paused' : 'Resumed'), ...guardedResponses },
      }),
      async (c) => {
        const change = await deps.sources.setPaused(c.req.valid('param').name, action === 'pause', versionFrom(c));
        if (action === 'resume') deps.onResumed?.();
        return answer(c, change) as never;
      },
    );
  }
  if (deps.ingest) addTestEventRoute(app, { sources: deps.sources, audit: deps.audit, ingest: deps.ingest }, NameParam);
  return app;
}
