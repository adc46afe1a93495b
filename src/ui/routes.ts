import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Hono, type Context } from 'hono';
import { etag } from 'hono/etag';
import { securityHeaders } from '../http/security-headers';
import { readUiManifest } from './manifest';
import { uiDistDir } from './paths';

/**
 * Scripts and styles only from the gateway's own files (no inline script or style, no eval, nothing
 * from elsewhere); requests only to the gateway itself; the page cannot be framed.
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
 * The UI's pages: each answers with the same shell, and the client router draws the page. A new
 * page in src/ui/app/pages.ts gets its path here too (test/ui-browser.test.ts loads every one).
 */
const PAGES = [
  '/ui',
  '/ui/',
  '/ui/events',
  '/ui/events/:id{[0-9]+}',
  '/ui/sources',
  '/ui/destinations',
  '/ui/destinations/:name{[a-z0-9][a-z0-9_-]{0,62}}',
  '/ui/audit',
  '/ui/tokens',
  '/ui/requests',
  '/ui/alerts',
];

const NOT_BUILT = 'The web UI has not been built. Run `npm run build:ui` (or `npm run build`) and restart the gateway.';

/**
 * The operator's web UI at /ui: the shell page and the bundle `npm run build:ui` wrote to dist/ui,
 * read once at start-up. The page itself holds no data, so it needs no authentication; every
 * figure it shows comes from the token-protected ops API. Without a build, /ui says how to make one.
 */
export function createUiRoutes(options: { dir?: string } = {}): Hono {
  const dir = options.dir ?? uiDistDir();
  const bundle = readBundle(dir);
  const app = new Hono();
  const headers = securityHeaders(UI_CSP);
  app.use('/ui', headers);
  app.use('/ui/*', headers, etag());

  if (!bundle) {
    const notBuilt = (c: Context) => c.text(NOT_BUILT, 503, { 'cache-control': 'no-store' });
    for (const path of PAGES) app.get(path, notBuilt);
    app.get('/ui/assets/*', notBuilt);
    return app;
  }

  const { page, files } = bundle;
  // no-cache: the shell is revalidated (ETag) on every load, so a new gateway version never runs stale scripts.
  const shell = (c: Context) => c.html(page, 200, { 'cache-control': 'no-cache' });
  for (const path of PAGES) app.get(path, shell);

  app.get('/ui/assets/*', (c) => {
    // Only names in the manifest are served: the path is a map key, never a file-system path.
    const name = c.req.path.slice('/ui/assets/'.length);
    const file = files.get(name);
    if (!file) return c.json({ error: { code: 'not_found', message: `No UI asset ${name}` } }, 404);
    // Asset names carry a hash of their content, so a browser may keep them for good.
    return c.body(file.body, 200, {
      'content-type': file.type,
      'cache-control': 'public, max-age=31536000, immutable',
    });
  });

  // Any other address under /ui is a page that does not exist: the shell with status 404, whose
  // router draws the not-found page (links back to the dashboard), not a JSON error in a browser.
  app.get('/ui/*', (c) => c.html(page, 404, { 'cache-control': 'no-cache' }));

  return app;
}

/** The built shell and every asset the manifest names, or null when the build is missing or incomplete. */
function readBundle(dir: string) {
  const manifest = readUiManifest(dir);
  if (!manifest) return null;
  try {
    const page = readFileSync(join(dir, 'index.html'), 'utf8');
    const files = new Map(
      Object.entries(manifest.assets).map(([name, type]) => [
        name,
        { body: new Uint8Array(readFileSync(join(dir, 'assets', name))), type },
      ]),
    );
    return { page, files };
  } catch {
    // A build interrupted (or being rewritten) while the gateway started: answer as if unbuilt.
    return null;
  }
}
