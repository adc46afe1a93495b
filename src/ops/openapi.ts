import type { OpenAPIHono } from '@hono/zod-openapi';
import { describePlainRoutes } from './openapi-paths';

/** Serves the OpenAPI document of the ops API at /api/openapi.json (the reference page is /api/docs). */
export function describeOpenApi(app: OpenAPIHono): void {
  app.openAPIRegistry.registerComponent('securitySchemes', 'opsToken', {
    type: 'http',
    scheme: 'bearer',
    description: 'One of the OPS_API_TOKEN values',
  });
  describePlainRoutes(app);
  app.doc31('/api/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'webhook-gateway ops API',
      version: '1',
      description:
        'Find, inspect and replay stored webhook events; follow them live (GET /api/events/stream: Server-Sent Events or WebSocket); run polls; health and Prometheus metrics. The token you enter under Authorize is kept in this page only and forgotten when it is closed.',
    },
  });
}
