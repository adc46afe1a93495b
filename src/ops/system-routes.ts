import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { Hono } from 'hono';
import type { Database } from '../db/client';
import { securityHeaders } from '../http/security-headers';
import { createProbeRoutes } from './probe-routes';

const SWAGGER_DIR = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
const SWAGGER_FILES: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
};

/**
 * The API reference page's policy: the UI's (scripts, styles and requests only from the gateway,
 * no framing), plus data: images for the icons in Swagger UI's stylesheet. No inline script: the
 * page starts Swagger UI from /api/docs/assets/start.js. (React sets styles through the CSSOM,
 * which style-src does not restrict; test/security-api-docs.test.ts sees no violation in Chromium.)
 */
export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

const DOCS_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>webhook-gateway API</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/api/docs/assets/swagger-ui.css"></head>
<body><div id="ui"></div><script src="/api/docs/assets/swagger-ui-bundle.js"></script>
<script src="/api/docs/assets/start.js"></script>
</body></html>`;

/**
 * The token typed into Authorize lives in the page's memory only (persistAuthorization: false), so
 * closing the tab or Logout forgets it and no script can read it from storage later. Earlier
 * versions persisted it in localStorage under "authorized": removed on every load. No requests to
 * the public validator service.
 */
const DOCS_START = `localStorage.removeItem('authorized');
window.ui = SwaggerUIBundle({ url: '/api/openapi.json', dom_id: '#ui', persistAuthorization: false, validatorUrl: null });
`;

/** Health, readiness, Prometheus metrics (./probe-routes.ts) and the interactive API reference (served locally, no CDN). */
export function createSystemRoutes(deps: {
  database: () => Database;
  scrapeMetrics: () => Promise<string>;
  isStopping?: () => boolean;
  schemaIncompatible?: () => boolean;
}): Hono {
  const app = new Hono();
  app.route('/', createProbeRoutes(deps));

  const headers = securityHeaders(DOCS_CSP);
  app.use('/api/docs', headers);
  app.use('/api/docs/*', headers);
  app.get('/api/docs', (c) => c.html(DOCS_PAGE, 200, { 'cache-control': 'no-cache' }));
  app.get('/api/docs/assets/start.js', (c) =>
    c.body(DOCS_START, 200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-cache' }),
  );
  app.get('/api/docs/assets/:file', async (c) => {
    const file = c.req.param('file');
    const type = SWAGGER_FILES[file];
    if (!type) return c.json({ error: { code: 'not_found', message: `No asset ${file}` } }, 404);
    return c.body(await readFile(join(SWAGGER_DIR, file)), 200, {
      'content-type': type,
      'cache-control': 'public, max-age=86400',
    });
  });

  return app;
}
