import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { SystemLog } from '../store/system-log';
import { SystemLogListQuery, SystemLogPage } from './access-schemas';
import { systemLogEntryJson } from './access-serialize';
import { requireRole } from './auth';
import { optionalDate, readPage } from './paging';
import { errorResponses } from './schemas';

const bearer = [{ opsToken: [] }];

/** The system log's list route, one page at a time (its export is in export-routes.ts). */
export function addSystemLogRoutes(app: OpenAPIHono, deps: { systemLog: SystemLog }): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/system-log',
      summary: 'The security system log (Keycloak and partner audit events), newest first (viewer)',
      security: bearer,
      middleware: requireRole('viewer'),
      request: { query: SystemLogListQuery },
      responses: {
        200: { description: 'One page', content: { 'application/json': { schema: SystemLogPage } } },
        ...errorResponses,
      },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const { page, nextCursor } = await readPage(q, (range) =>
        deps.systemLog.list({ ...systemLogFilter(q), ...range }),
      );
      return c.body(
        `{"entries":[${page.map(systemLogEntryJson).join(',')}],"next_cursor":${JSON.stringify(nextCursor)}}`,
        200,
        {
          'content-type': 'application/json',
        },
      ) as never;
    },
  );
}

/** The store's filter for the list's and the export's query (`event_type` → `eventType`, dates read). */
export function systemLogFilter(q: {
  category?: string;
  event_type?: string;
  username?: string;
  since?: string;
  until?: string;
}) {
  return {
    category: q.category,
    eventType: q.event_type,
    username: q.username,
    since: optionalDate(q.since),
    until: optionalDate(q.until),
  };
}
