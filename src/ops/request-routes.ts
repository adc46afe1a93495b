import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { z } from '@hono/zod-openapi';
import type { RejectedRequestRow } from '../db/schema-alerts';
import type { RejectedRequestStore } from '../store/rejected-requests';
import { requireRole } from './auth';
import { optionalDate, readPage } from './paging';
import {
  LastRejections,
  LastRequestQuery,
  RejectedRequest,
  RejectedRequestPage,
  RequestListQuery,
} from './request-schemas';
import { createOpsApp } from './ops-app';
import { errorResponses } from './schemas';

export interface RequestRoutesDeps {
  requests: RejectedRequestStore;
  /** Every push source's name now (file and runtime ones), for "last rejection" of every source. */
  sources: () => readonly string[];
}

const bearer = [{ opsToken: [] }];
const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});

/** GET /api/requests (the rejected-request log) and GET /api/requests/last (per source, the latest and why). */
export function createRequestRoutes(deps: RequestRoutesDeps): OpenAPIHono {
  const app = createOpsApp();
  const auth = requireRole('viewer');
  app.use('/api/requests', auth);
  app.use('/api/requests/*', auth);

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/requests',
      summary: 'List rejected requests, newest first',
      security: bearer,
      request: { query: RequestListQuery },
      responses: { 200: json(RejectedRequestPage, 'One page of rejected requests'), ...errorResponses },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const { page, nextCursor } = await readPage(q, (range) =>
        deps.requests.list({
          source: q.source,
          cause: q.cause,
          since: optionalDate(q.since),
          until: optionalDate(q.until),
          ...range,
        }),
      );
      return c.json({ requests: page.map(rejectedRequestJson), next_cursor: nextCursor }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/requests/last',
      summary: "Each source's latest rejected request: the first thing to check after rotating a secret",
      security: bearer,
      request: { query: LastRequestQuery },
      responses: { 200: json(LastRejections, 'Per source, the latest rejection or null'), ...errorResponses },
    }),
    async (c) => {
      const { source } = c.req.valid('query');
      const names = source ? [source] : deps.sources();
      const rows = await deps.requests.lastPerSource(names);
      const bySource = Object.fromEntries(names.map((name) => [name, null])) as Record<
        string,
        z.infer<typeof RejectedRequest> | null
      >;
      for (const row of rows) bySource[row.source] = rejectedRequestJson(row);
      return c.json({ sources: bySource }, 200);
    },
  );
  return app;
}

export function rejectedRequestJson(row: RejectedRequestRow): z.infer<typeof RejectedRequest> {
  return {
    id: row.id,
    received_at: row.receivedAt.toISOString(),
    source: row.source,
    cause: row.cause,
    status: row.status,
    client: row.client,
    user_agent: row.userAgent,
    body_bytes: row.bodyBytes,
    body_sha256: row.bodySha256,
    headers: row.headers,
    count: row.repeatCount,
    aggregate: row.aggregateMinute !== null,
  };
}
