import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UI_CSP } from '../src/ui/routes';
import { hasChromium, launchBrowser, NO_CHROMIUM_MESSAGE, type TestBrowser } from './helpers/browser';

if (!hasChromium) console.warn(NO_CHROMIUM_MESSAGE);

const GALLERY = fileURLToPath(new URL('./helpers/ui-gallery.tsx', import.meta.url));
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLc4y';

// The shared components that the coming pages (sources, destinations, tokens, charts) are built
// from, on a gallery page bundled like the UI and served under the UI's Content-Security-Policy.
describe.skipIf(!hasChromium)('UI components in Chromium', () => {
  let dir: string;
  let server: Server;
  let url: string;
  let browser: TestBrowser;
  let page: Page;
  const requested: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gw-ui-gallery-'));
    await build({
      entryPoints: { gallery: GALLERY },
      outdir: dir,
      bundle: true,
      splitting: true,
      format: 'esm',
      jsx: 'automatic',
      jsxImportSource: 'preact',
      logLevel: 'warning',
    });
    server = createServer((req, res) => {
      const path = new URL(req.url!, 'http://x').pathname;
      requested.push(path);
      const headers = { 'content-security-policy': UI_CSP, 'x-content-type-options': 'nosniff' };
      if (path === '/favicon.ico') {
        res.writeHead(204).end();
        return;
      }
      if (path === '/') {
        res.writeHead(200, { ...headers, 'content-type': 'text/html; charset=utf-8' });
        res.end(
          '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>gallery</title>' +
            '<link rel="stylesheet" href="/gallery.css"><script type="module" src="/gallery.js"></script>' +
            '</head><body><div id="app"></div></body></html>',
        );
        return;
      }
      try {
        const body = readFileSync(join(dir, path.replace(/^\/+/, '').replace(/\.\./g, '')));
        const type = path.endsWith('.css') ? 'text/css' : 'text/javascript';
        res.writeHead(200, { ...headers, 'content-type': type });
        res.end(body);
      } catch {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    browser = await launchBrowser();
    await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: url.slice(0, -1) });
    page = await browser.newPage();
    await page.goto(url);
    await page.getByRole('heading', { name: 'Components' }).waitFor();
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => server?.close(resolve));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a secret is shown once: copied, confirmed, then gone from the page', async () => {
    await page.getByRole('button', { name: 'Rotate secret' }).click();
    const dialog = page.getByRole('dialog', { name: 'New signing secret for shopify' });
    await dialog.waitFor();
    expect(await dialog.getByLabel('Secret', { exact: true }).inputValue()).toBe(SECRET);
    expect(await dialog.textContent()).toContain('Shown once');

    // Neither Escape nor Done closes it before the operator confirms they stored it.
    await page.keyboard.press('Escape');
    expect(await dialog.isVisible()).toBe(true);
    expect(await dialog.getByRole('button', { name: 'Done' }).isDisabled()).toBe(true);

    await dialog.getByRole('button', { name: 'Copy' }).click();
    await expect.poll(() => dialog.getByRole('status').textContent()).toBe('Copied to the clipboard.');
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(SECRET);

    await dialog.getByLabel('I have stored this secret').check();
    await dialog.getByRole('button', { name: 'Done' }).click();
    await expect.poll(() => page.locator('#closed').textContent()).toBe('1');
    expect(await page.getByRole('dialog').count()).toBe(0);
    expect(await page.content()).not.toContain(SECRET);
  });

  it('a form shows each mistake on its own field and focuses the first', async () => {
    const name = page.getByLabel('Name', { exact: true });
    const target = page.getByLabel('URL');
    await name.fill('Billing ERP');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect
      .poll(() => page.locator('#field-name-error').textContent())
      .toBe('Lower-case letters, digits and dashes, starting with a letter.');
    expect(await page.locator('#field-url-error').textContent()).toBe('An http:// or https:// address.');
    expect(await name.getAttribute('aria-invalid')).toBe('true');
    expect(await name.getAttribute('aria-describedby')).toBe('field-name-hint field-name-error');
    await expect.poll(() => page.evaluate('document.activeElement?.id')).toBe('field-name');

    await name.fill('billing-erp');
    await target.fill('https://erp.example.com/hooks');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => page.locator('#saved').textContent()).toBe('Saved billing-erp');
    expect(await page.locator('.field-error').count()).toBe(0);
    expect(await name.getAttribute('aria-invalid')).toBe('false');
  });

  it('an empty table says so instead of drawing empty rows', async () => {
    expect(await page.getByText('No destinations yet.').count()).toBe(1);
    expect(await page.getByRole('table', { name: 'Destinations' }).count()).toBe(0);
  });

  it('the chart slot loads uPlot as its own chunk and draws on a canvas under the strict CSP', async () => {
    const figure = page.getByRole('figure');
    await figure.locator('canvas').waitFor();
    expect(await figure.locator('figcaption').textContent()).toBe('Events per minute, last 30 minutes');
    expect(await figure.getByRole('img').getAttribute('aria-label')).toMatch(/^Between 20 and 32 events/);
    // Some pixels drawn: the canvas is not blank.
    const inked = await figure.locator('canvas').evaluate((canvas: any) => {
      const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
      let n = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n++;
      return n;
    });
    expect(inked).toBeGreaterThan(500);
    expect(await figure.locator('.u-legend').textContent()).toContain('received');
    expect(requested.filter((p) => p.startsWith('/chunk') || p.includes('uPlot')).length).toBeGreaterThan(0);
  });

  it('no script error, CSP violation or failed request on the page', () => {
    expect(browser.problems).toEqual([]);
  });

  it('a CSP violation would have been caught (the check above can fail)', async () => {
    await page.evaluate(`document.body.setAttribute('style', 'color: red')`);
    await expect.poll(() => browser.problems.join('\n')).toContain('CSP violation: style-src-attr');
  });

  it.skipIf(!process.env.UPDATE_SCREENSHOTS)('screenshot of the secret dialog over the gallery', async () => {
    await page.reload();
    await page.getByRole('button', { name: 'Rotate secret' }).click();
    await page.getByRole('dialog').waitFor();
    await page.screenshot({ path: fileURLToPath(new URL('../docs/screenshots/components.png', import.meta.url)) });
  });
});
