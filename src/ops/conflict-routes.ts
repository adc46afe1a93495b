import { eventDocument, type DocumentLookup } from '../routing/document';
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { notFound } from '../errors';
import type { ConflictQueries } from '../store/conflicts';
import { requireRole } from './auth';
import { createOpsApp } from './ops-app';
import { ConflictDetail, ConflictPage, ConflictQuery, ErrorBody, IdParam, errorResponses } from './schemas';
import { conflictDetailJson, conflictSummary } from './serialize';
import type { SourceMask } from './source-mask';

export interface ConflictRoutesDeps {
  conflicts: ConflictQueries;
  /** What the API hides of a source's events (src/ops/source-mask.ts); conflicts are hidden alike. */
  maskFor: (source: string) => SourceMask;
  /** The source provider's documentOf (src/routing/document.ts): the payload shown for a wrapped body. */
  documentOf?: DocumentLookup;
}

const bearer = [{ opsToken: [] }];

/**
 * Deliveries that repeated a stored event's id with other bytes (src/store/conflicts.ts): listed
 * newest first without bodies, and one by one with its headers and bytes, masked like events.
 */
export function createConflictRoutes(deps: ConflictRoutesDeps): OpenAPIHono {
  const app = createOpsApp();
  // Reading conflicts is a viewer's.
  const auth = requireRole('viewer');
  app.use('/api/conflicts', auth);
  app.use('/api/conflicts/*', auth);

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/conflicts',
      summary: 'List conflicting deliveries (same id as a stored event, other bytes), newest first',
      security: bearer,
      request: { query: ConflictQuery },
      responses: {
        200: { description: 'One page of conflicts', content: { 'application/json': { schema: ConflictPage } } },
        ...errorResponses,
      },
    }),
    async (c) => {
      const query = c.req.valid('query');
      const page = await deps.conflicts.list({
        source: query.source,
        eventId: query.event_id,
        since: query.since ? new Date(query.since) : undefined,
        beforeId: query.cursor ? Number(query.cursor) : undefined,
        limit: query.limit + 1,
      });
      const conflicts = page.slice(0, query.limit);
      const next = page.length > query.limit ? String(conflicts[conflicts.length - 1]!.id) : null;
      return c.json(
        {
          conflicts: conflicts.map((conflict) => conflictSummary(conflict, deps.maskFor(conflict.source))),
          next_cursor: next,
        },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/conflicts/{id}',
      summary: 'One conflicting delivery with its headers and exact bytes',
      security: bearer,
      request: { params: IdParam },
      responses: {
        200: { description: 'The conflict', content: { 'application/json': { schema: ConflictDetail } } },
        404: { description: 'No such conflict', content: { 'application/json': { schema: ErrorBody } } },
        ...errorResponses,
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const conflict = await deps.conflicts.get(id);
      if (!conflict) throw notFound('conflict_not_found', `No conflict with id ${id}`);
      // As text around the stored payload, like the event detail: numbers beyond 2^53 stay exact.
      return c.body(
        conflictDetailJson(conflict, deps.maskFor(conflict.source), eventDocument(deps.documentOf, conflict)),
        200,
        {
          'content-type': 'application/json',
        },
      ) as never;
    },
  );

  return app;
}
