import type { OpenAPIHono } from '@hono/zod-openapi';
import { describePlainRoutes } from './openapi-paths';

/** Serves the OpenAPI document of the ops API at /api/openapi.json (the reference page is /api/docs). */
export function describeOpenApi(app: OpenAPIHono): void {
  app.openAPIRegistry.registerComponent('securitySchemes', 'opsToken', {
    type: 'http',
    scheme: 'bearer',
    description:
      'An ops API token (gwt_…, created with POST /api/tokens) or an OPS_API_TOKEN value (admin). Each operation names the role it needs: viewer, operator or admin (metrics: /metrics only).',
  });
  describePlainRoutes(app);
  app.doc31('/api/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'webhook-gateway ops API',
      version: '1',
      description:
        'Find, inspect and replay stored webhook events; follow them live (GET /api/events/stream: Server-Sent Events or WebSocket, same filters as the list); run polls; health. Metrics: GET /metrics (Prometheus; any token, including the metrics-only METRICS_TOKEN). Roles: viewer reads, operator also replays, admin also manages tokens and reads the audit log; a token with too small a role gets 403. Sources, destinations, alert rules and alert channels have a version, answered as the ETag: send it back in If-Match on a change and the change is made only if no one else changed them since (412 version_mismatch otherwise: GET again); without If-Match the last write wins. The token you enter under Authorize is kept in this page only and forgotten when it is closed.',
    },
  });
}
