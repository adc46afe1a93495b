import { z, type OpenAPIHono } from '@hono/zod-openapi';
import { ErrorBody, errorResponses } from './schemas';
import { STREAM_PATHS } from './stream';
import { StreamQuery } from './stream-feed';

// The routes written as plain Hono handlers (the stream, polling, health and metrics), described
// in the same OpenAPI document as the typed ops routes. test/openapi-coverage.test.ts fails when a
// route under /api, /metrics or /health* is served but missing here.

const bearer = [{ opsToken: [] }];
const errorJson = (description: string) => ({ description, content: { 'application/json': { schema: ErrorBody } } });
const looseJson = (description: string, name: string) => ({
  description,
  content: { 'application/json': { schema: z.object({}).passthrough().openapi(name) } },
});

export function describePlainRoutes(app: OpenAPIHono): void {
  const registry = app.openAPIRegistry;
  for (const path of STREAM_PATHS) {
    registry.registerPath({
      method: 'get',
      path,
      summary:
        path === STREAM_PATHS[0] ? 'Live stream of events (SSE, or WebSocket on upgrade)' : 'Live stream (alias)',
      description:
        'Server-Sent Events: `event: <received|completed|failed>` with the event as JSON; arrivals carry `id:` and resume with `Last-Event-ID` (or `after`). ' +
        'With `Upgrade: websocket` the same messages arrive as text frames `{"event","id"?,"data"}`; a client that leaves more than STREAM_CLIENT_BUFFER_BYTES unread is closed with 1008. ' +
        'The token may also be sent as `?token=` (browsers cannot set headers on EventSource or WebSocket).',
      security: bearer,
      request: { query: StreamQuery.extend({ token: z.string().optional().describe('The ops token, for browsers') }) },
      responses: {
        101: { description: 'Switched to WebSocket' },
        200: { description: 'The event stream', content: { 'text/event-stream': { schema: z.string() } } },
        ...errorResponses,
      },
    });
  }

  registry.registerPath({
    method: 'post',
    path: '/api/sps/poll',
    summary: 'Start poll runs now (one source with ?source= or {"source"}, else all)',
    security: bearer,
    request: { query: z.object({ source: z.string().optional() }) },
    responses: {
      202: looseJson('Runs started (or skipped, with why)', 'PollStarted'),
      404: errorJson('No such poll source'),
      409: errorJson('A run of the source is in progress'),
      503: errorJson('The gateway is stopping'),
      ...errorResponses,
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/api/sps/runs',
    summary: 'Poll runs, newest first',
    security: bearer,
    request: {
      query: z.object({
        source: z.string().optional(),
        status: z.string().optional(),
        limit: z.string().optional(),
        cursor: z.string().optional(),
      }),
    },
    responses: { 200: looseJson('One page of runs ({runs, next_cursor})', 'PollRunPage'), ...errorResponses },
  });
  registry.registerPath({
    method: 'get',
    path: '/api/sps/runs/{id}',
    summary: 'One poll run with its documents',
    security: bearer,
    request: { params: z.object({ id: z.string() }) },
    responses: { 200: looseJson('The run', 'PollRunDetail'), 404: errorJson('No such run'), ...errorResponses },
  });
  registry.registerPath({
    method: 'get',
    path: '/api/sps/sources',
    summary: "Each poll source's schedule, lock and last run",
    security: bearer,
    responses: { 200: looseJson('{sources}', 'PollSources'), ...errorResponses },
  });

  registry.registerPath({
    method: 'get',
    path: '/healthz',
    summary: 'Liveness: the process answers (no token)',
    responses: { 200: looseJson('{"status":"ok"}', 'Health') },
  });
  registry.registerPath({
    method: 'get',
    path: '/readyz',
    summary: 'Readiness: the database answers (no token)',
    responses: {
      200: looseJson('{"status":"ready","checks":…}', 'Readiness'),
      503: looseJson('{"status":"unavailable","checks":…}', 'Unready'),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/metrics',
    summary: 'Prometheus metrics (ops token or the read-only METRICS_TOKEN)',
    security: bearer,
    responses: {
      200: { description: 'Prometheus text format', content: { 'text/plain': { schema: z.string() } } },
      401: errorResponses[401],
      503: {
        description:
          'metrics_incomplete: under start --web-processes, a process of the group did not send its metrics in time (docs/scaling.md); retry',
        content: { 'application/json': { schema: ErrorBody } },
      },
    },
  });
}
