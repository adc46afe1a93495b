import { readFileSync } from 'node:fs';
import { Hono, type Context, type Next } from 'hono';
import { etag } from 'hono/etag';

const ASSETS_DIR = new URL('./assets/', import.meta.url);

/** The UI's files and their types; nothing else under /ui/assets is served. */
const ASSET_TYPES: Record<string, string> = {
  'app.js': 'text/javascript; charset=utf-8',
  'api.js': 'text/javascript; charset=utf-8',
  'dom.js': 'text/javascript; charset=utf-8',
  'events.js': 'text/javascript; charset=utf-8',
  'event.js': 'text/javascript; charset=utf-8',
  'live.js': 'text/javascript; charset=utf-8',
  'stats.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
  'icon.svg': 'image/svg+xml',
};

/**
 * Scripts and styles only from the gateway's own files (no inline script or style, nothing from
 * elsewhere); requests only to the gateway itself; the page cannot be framed.
 */
export const UI_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * The operator's web UI at /ui: one static page and its scripts, which read the ops API with the
 * token the operator signs in with. The page itself holds no data, so it needs no authentication;
 * every figure it shows comes from the token-protected API.
 */
export function createUiRoutes(): Hono {
  const files = new Map(Object.keys(ASSET_TYPES).map((name) => [name, readFileSync(new URL(name, ASSETS_DIR))]));
  const page = readFileSync(new URL('index.html', ASSETS_DIR), 'utf8');
  const app = new Hono();

  app.use('/ui', securityHeaders);
  app.use('/ui/*', securityHeaders, etag());

  const shell = (c: Context) => c.html(page, 200, { 'cache-control': 'no-cache' });
  app.get('/ui', shell);
  app.get('/ui/', shell);
  app.get('/ui/events/:id{[0-9]+}', shell);

  app.get('/ui/assets/:file', (c) => {
    const file = c.req.param('file');
    const body = files.get(file);
    if (!body) return c.json({ error: { code: 'not_found', message: `No UI asset ${file}` } }, 404);
    // no-cache: revalidated (ETag) on every load, so a new gateway version never runs stale scripts.
    return c.body(new Uint8Array(body), 200, { 'content-type': ASSET_TYPES[file]!, 'cache-control': 'no-cache' });
  });

  return app;
}

const securityHeaders = async (c: Context, next: Next) => {
  await next();
  c.header('content-security-policy', UI_CSP);
  c.header('x-content-type-options', 'nosniff');
  c.header('referrer-policy', 'no-referrer');
  c.header('x-frame-options', 'DENY');
};
