import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import { redactUrlSecrets } from '../deliver/redact';
import { limitBody } from '../ingest/body-limit';
import { requireRole } from '../ops/auth';
import { createOpsApp } from '../ops/ops-app';
import { errorResponses } from '../ops/schemas';
import { addPreviewRoute, type PreviewDeps } from './destination-preview';
import {
  Destination,
  DestinationInput,
  DestinationPatch,
  NameParam,
  RotateBody,
  WithSecret,
} from './destination-schemas';
import type { DestinationChange, DestinationService } from './destination-service';
import type { DestinationView } from './destination-view';
import { exactJson, exactJsonBody } from '../http/exact-json';
import { bearer, error, ifMatch, json, versionFrom } from './route-openapi';

export interface DestinationRoutesDeps {
  destinations: DestinationService;
  /** Called after every change with before/after views (fingerprint and header names, never a secret). */
  audit?: (change: DestinationChange, c: Context) => Promise<void>;
  /** Called after a resume or delete: the held events are due, wake the worker. */
  onReleased?: () => void;
  /** POST /api/destinations/{name}/preview; left out, the route is not mounted. */
  preview?: PreviewDeps;
}

// Room for a transform's 64 KiB of code once JSON-escaped (a newline or quote takes 2 bytes), with
// a filter and a preview's payload beside it.
const MAX_BODY_BYTES = 256 * 1024;

const guardedResponses = {
  404: error('No such destination'),
  409: error('Declared in the file, or no master key'),
  412: error('If-Match does not match the current version'),
  ...errorResponses,
};

/**
 * A destination as the caller may see it. A URL can carry a credential (`?token=…`, `user:pass@`):
 * below admin — who can change the URL anyway — user info, query values and fragment are redacted,
 * as delivery errors are (src/deliver/redact.ts). The audit log, admin-only, keeps the URL whole.
 */
const shownTo = (c: Context, view: DestinationView): DestinationView =>
  c.get('identity')?.role === 'admin' ? view : { ...view, url: redactUrlSecrets(view.url) };

/** `/api/destinations…`: destinations managed at runtime, and the file's shown read-only. */
export function createDestinationRoutes(deps: DestinationRoutesDeps): OpenAPIHono {
  const app = createOpsApp();
  // Reading health is a viewer's; holding and releasing deliveries and previewing an operator's (like replay);
  // everything else, which can redirect or sign events, an admin's.
  const [viewer, operator, admin] = [requireRole('viewer'), requireRole('operator'), requireRole('admin')];
  const gate: MiddlewareHandler = (c, next) =>
    c.req.method === 'GET'
      ? viewer(c, next)
      : c.req.method === 'POST' && /\/(pause|resume|preview)$/.test(c.req.path)
        ? operator(c, next)
        : admin(c, next);
  for (const path of ['/api/destinations', '/api/destinations/*']) app.use(path, gate, limitBody(MAX_BODY_BYTES));

  const answer = async (c: Context, change: DestinationChange, status: 200 | 201 = 200) => {
    await deps.audit?.(change, c);
    if (change.after?.version) c.header('etag', `"${change.after.version}"`);
    // Exact: a filter's numbers are shown with the digits they were saved with.
    return exactJson(
      c,
      change.after
        ? { ...shownTo(c, change.after), ...(change.secret ? { secret: change.secret } : {}) }
        : { deleted: change.destination },
      status,
    );
  };

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/destinations',
      summary: "Every destination with its health: the file's (read-only) and runtime ones",
      security: bearer,
      responses: { 200: json(z.object({ destinations: z.array(Destination) }), 'The destinations'), ...errorResponses },
    }),
    async (c) =>
      exactJson(c, { destinations: (await deps.destinations.list()).map((view) => shownTo(c, view)) }, 200) as never,
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/destinations',
      summary: 'Create a destination (the secret, when generated, is returned once)',
      security: bearer,
      request: {
        query: z.object({
          origin: z
            .enum(['api', 'apply'])
            .default('api')
            .openapi({ description: '`apply`: deleted by a later apply whose file no longer lists it' }),
        }),
        body: { content: { 'application/json': { schema: DestinationInput } }, required: true },
      },
      responses: { 201: json(WithSecret, 'Created'), 409: error('Name taken, or no master key'), ...errorResponses },
    }),
    async (c) =>
      answer(c, await deps.destinations.create(await exactJsonBody(c), c.req.valid('query').origin), 201) as never,
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/destinations/{name}',
      summary: 'One destination with its health and last deliveries',
      security: bearer,
      request: { params: NameParam },
      responses: {
        200: json(Destination, 'The destination (ETag: its version)'),
        404: error('No such destination'),
        ...errorResponses,
      },
    }),
    async (c) => {
      const found = await deps.destinations.get(c.req.valid('param').name);
      if (found.version) c.header('etag', `"${found.version}"`);
      return exactJson(c, shownTo(c, found), 200) as never;
    },
  );

  app.openapi(
    createRoute({
      method: 'patch',
      path: '/api/destinations/{name}',
      summary: 'Change url, timeout_ms, headers or the attached sources',
      security: bearer,
      request: {
        params: NameParam,
        headers: ifMatch,
        body: { content: { 'application/json': { schema: DestinationPatch } }, required: true },
      },
      responses: { 200: json(Destination, 'Changed'), ...guardedResponses },
    }),
    async (c) =>
      answer(
        c,
        await deps.destinations.update(c.req.valid('param').name, await exactJsonBody(c), versionFrom(c)),
      ) as never,
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/api/destinations/{name}',
      summary: 'Delete a runtime destination (events held for it are released)',
      security: bearer,
      request: { params: NameParam, headers: ifMatch },
      responses: { 200: json(z.object({ deleted: z.string() }), 'Deleted'), ...guardedResponses },
    }),
    async (c) => {
      const change = await deps.destinations.remove(c.req.valid('param').name, versionFrom(c));
      deps.onReleased?.();
      return answer(c, change) as never;
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/destinations/{name}/rotate-secret',
      summary: 'Replace the signing secret at once (returned once when generated)',
      security: bearer,
      request: {
        params: NameParam,
        headers: ifMatch,
        body: { content: { 'application/json': { schema: RotateBody } }, required: false },
      },
      responses: { 200: json(WithSecret, 'Rotated; `secret` is shown this once'), ...guardedResponses },
    }),
    async (c) => {
      const raw = c.req.header('content-type')?.includes('json') ? c.req.valid('json') : undefined;
      const body = RotateBody.parse(raw ?? {});
      return answer(
        c,
        await deps.destinations.rotateSecret(c.req.valid('param').name, body.secret, versionFrom(c)),
      ) as never;
    },
  );

  for (const action of ['pause', 'resume'] as const) {
    app.openapi(
      createRoute({
        method: 'post',
        path: `/api/destinations/{name}/${action}`,
        security: bearer,
        summary:
          action === 'pause'
            ? 'Hold deliveries to the destination: events wait, no attempt counted'
            : 'Deliver the held events again',
        request: { params: NameParam, headers: ifMatch },
        responses: { 200: json(Destination, action === 'pause' ? 'Paused' : 'Resumed'), ...guardedResponses },
      }),
      async (c) => {
        const change = await deps.destinations.setPaused(c.req.valid('param').name, action === 'pause', versionFrom(c));
        if (action === 'resume') deps.onReleased?.();
        return answer(c, change) as never;
      },
    );
  }
  if (deps.preview) addPreviewRoute(app, deps.preview, NameParam);
  return app;
}
