import type { OpenAPIHono } from '@hono/zod-openapi';

/** Serves the OpenAPI document of the ops API at /api/openapi.json (the reference page is /api/docs). */
export function describeOpenApi(app: OpenAPIHono): void {
  app.openAPIRegistry.registerComponent('securitySchemes', 'opsToken', {
    type: 'http',
    scheme: 'bearer',
    description: 'One of the OPS_API_TOKEN values',
  });
  app.doc31('/api/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'webhook-gateway ops API',
      version: '1',
      description:
        'Find, inspect and replay stored webhook events. Live stream: GET /api/events/stream (Server-Sent Events, same filters as the list). Metrics: GET /metrics (Prometheus; also accepts the read-only METRICS_TOKEN). The token you enter under Authorize is kept in this page only and forgotten when it is closed.',
    },
  });
}
