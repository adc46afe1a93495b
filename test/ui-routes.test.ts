import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createUiRoutes } from '../src/ui/routes';

// How /ui is served from a build directory, without a browser: a missing build, and a build's
// manifest as the only list of files that may be served.
describe('UI routes', () => {
  const dirs: string[] = [];
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-ui-routes-'));
    dirs.push(dir);
    return dir;
  };
  afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  it('without a build, /ui answers 503 and says how to build it', async () => {
    const app = createUiRoutes({ dir: join(tempDir(), 'missing') });
    for (const path of ['/ui', '/ui/events', '/ui/events/7', '/ui/assets/app-X.js']) {
      const res = await app.request(path);
      expect(res.status, path).toBe(503);
      expect(await res.text()).toContain('npm run build:ui');
      expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    }
  });

  it('a build whose manifest names a missing file counts as not built', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>ui</title>');
    writeFileSync(
      join(dir, 'manifest.json'),
      JSON.stringify({ source_hash: 'x', assets: { 'app-gone.js': 'text/javascript' } }),
    );
    const res = await createUiRoutes({ dir }).request('/ui');
    expect(res.status).toBe(503);
    expect(await res.text()).toContain('npm run build:ui');
  });

  it('serves only the files the manifest names, with their types, cached for good', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'assets', 'chunks'), { recursive: true });
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>ui</title>');
    writeFileSync(join(dir, 'assets', 'app-A1.js'), 'export {}');
    writeFileSync(join(dir, 'assets', 'chunks', 'chunk-B2.js'), 'export {}');
    writeFileSync(join(dir, 'assets', 'not-listed.js'), 'export {}');
    writeFileSync(
      join(dir, 'manifest.json'),
      JSON.stringify({
        source_hash: 'x',
        assets: {
          'app-A1.js': 'text/javascript; charset=utf-8',
          'chunks/chunk-B2.js': 'text/javascript; charset=utf-8',
        },
      }),
    );
    const app = createUiRoutes({ dir });

    const page = await app.request('/ui/events/42');
    expect(page.status).toBe(200);
    expect(page.headers.get('cache-control')).toBe('no-cache');
    expect(await page.text()).toContain('<title>ui</title>');

    const chunk = await app.request('/ui/assets/chunks/chunk-B2.js');
    expect(chunk.status).toBe(200);
    expect(chunk.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(chunk.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(chunk.headers.get('x-content-type-options')).toBe('nosniff');

    for (const path of ['/ui/assets/not-listed.js', '/ui/assets/../manifest.json', '/ui/assets/%2e%2e/index.html']) {
      expect((await app.request(path)).status, path).toBe(404);
    }
    expect((await app.request('/ui/events/abc')).status).toBe(404);
  });
});
