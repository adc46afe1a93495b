import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UI_CSP } from '../src/ui/routes';
import { hasChromium, launchBrowser, NO_CHROMIUM_MESSAGE, type TestBrowser } from './helpers/browser';
import { SECRETS, startTestGateway, type TestGateway } from './helpers/gateway';

if (!hasChromium) console.warn(NO_CHROMIUM_MESSAGE);

// Security review #12.10: /api/docs could be framed, had no CSP, and Swagger UI kept the ops token
// in localStorage, where sign-out did not clear it.

describe('the API reference at /api/docs', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway('pglite', {}, { role: 'web' });
  });
  afterAll(() => gw?.stop());

  it('carries the same security headers as /ui, a CSP without inline script, and no inline script', async () => {
    const ui = await fetch(`${gw.url}/ui`);
    await ui.body?.cancel();
    for (const path of ['/api/docs', '/api/docs/assets/start.js', '/api/docs/assets/swagger-ui-bundle.js']) {
      const res = await fetch(`${gw.url}${path}`);
      expect(res.status, path).toBe(200);
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp, path).toContain("frame-ancestors 'none'");
      expect(csp, path).toContain("default-src 'none'");
      expect(csp, path).toContain("script-src 'self';");
      for (const header of ['x-frame-options', 'x-content-type-options', 'referrer-policy']) {
        expect(res.headers.get(header), `${path} ${header}`).toBe(ui.headers.get(header));
      }
      if (path === '/api/docs') expect(await res.text()).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
      else await res.body?.cancel();
    }
    expect(ui.headers.get('content-security-policy')).toBe(UI_CSP);
    const start = await (await fetch(`${gw.url}/api/docs/assets/start.js`)).text();
    expect(start).toContain('persistAuthorization: false');
  });

  describe.skipIf(!hasChromium)('in Chromium', () => {
    let browser: TestBrowser;
    let page: Page;
    beforeAll(async () => {
      browser = await launchBrowser();
      page = await browser.newPage();
      // Swagger UI's bundle is 1.5 MB of script: slow to start on a loaded machine.
      page.setDefaultTimeout(60_000);
    });
    afterAll(() => browser?.close());

    const stored = () =>
      page.evaluate<string>('JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage })');

    it('keeps the token in memory only: it works for requests and is never written to storage', async () => {
      // A token an earlier version persisted is removed on load.
      await page.goto(`${gw.url}/api/docs`, { waitUntil: 'domcontentloaded' });
      await page.evaluate(
        `localStorage.setItem('authorized', ${JSON.stringify(JSON.stringify({ opsToken: { value: SECRETS.ops } }))})`,
      );
      await page.reload({ waitUntil: 'domcontentloaded' });
      await page.locator('.swagger-ui .info .title').filter({ hasText: 'webhook-gateway ops API' }).waitFor();
      expect(await stored()).not.toContain(SECRETS.ops);

      await page.locator('button.authorize').first().click();
      await page.locator('.auth-container input').fill(SECRETS.ops);
      await page.locator('.auth-btn-wrapper button.authorize').click();
      await page.locator('.auth-btn-wrapper button.btn-done').click();

      // The token is used: a call from the page (connect-src 'self') is answered 200.
      await page.locator('#operations-default-get_api_stats .opblock-summary').click();
      await page.getByRole('button', { name: 'Try it out' }).click();
      await page.getByRole('button', { name: 'Execute' }).click();
      await page.locator('.live-responses-table .response-col_status').filter({ hasText: '200' }).first().waitFor();

      expect(await stored()).not.toContain(SECRETS.ops);
      await page.reload({ waitUntil: 'domcontentloaded' });
      await page.locator('.swagger-ui .info .title').waitFor();
      expect(await stored()).not.toContain(SECRETS.ops);
      expect(browser.problems).toEqual([]);
    }, 180_000);
  });
});
