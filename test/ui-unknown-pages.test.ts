import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  closeBrowserAndGateway,
  hasChromium,
  launchBrowserTab,
  NO_CHROMIUM_MESSAGE,
  signIn,
  type TestBrowser,
} from './helpers/browser';
import { SECRETS, startTestGateway, type TestGateway } from './helpers/gateway';

if (!hasChromium) console.warn(NO_CHROMIUM_MESSAGE);

// An address under /ui that is no page (a typo, an old bookmark) is answered for a browser: the
// UI's own not-found page with status 404 and links back, not the API's JSON error.
describe.skipIf(!hasChromium)('unknown UI addresses in Chromium', () => {
  let gw: TestGateway;
  let browser: TestBrowser;
  let page: Page;

  beforeAll(async () => {
    gw = await startTestGateway('pglite');
    ({ browser, page } = await launchBrowserTab());
  }, 300_000);
  afterAll(() => closeBrowserAndGateway(browser, gw));

  it('answer 404 with the HTML page under the UI policy; API addresses keep their JSON 404', async () => {
    for (const path of ['/ui/nope', '/ui/events/abc', '/ui/sources/x/y']) {
      const res = await fetch(`${gw.url}${path}`);
      expect(res.status, path).toBe(404);
      expect(res.headers.get('content-type'), path).toMatch(/^text\/html/);
      expect(res.headers.get('content-security-policy'), path).toContain("default-src 'none'");
      expect(await res.text(), path).toMatch(/^<!doctype html>/i);
    }
    const api = await fetch(`${gw.url}/api/nope`, { headers: { authorization: `Bearer ${SECRETS.ops}` } });
    expect(api.status).toBe(404);
    expect(await api.json()).toMatchObject({ error: { code: 'not_found' } });
    const asset = await fetch(`${gw.url}/ui/assets/missing.js`);
    expect([asset.status, ((await asset.json()) as { error: { code: string } }).error.code]).toEqual([
      404,
      'not_found',
    ]);
  });

  it('a signed-in operator sees the not-found page, with a link back to the dashboard', async () => {
    await signIn(page, gw.url, SECRETS.ops);
    const response = await page.goto(`${gw.url}/ui/nope`);
    expect(response?.status()).toBe(404);
    await page.getByRole('heading', { name: 'No page here' }).waitFor();
    expect(await page.locator('body').textContent()).not.toContain('not_found');
    await page.getByRole('main').getByRole('link', { name: 'dashboard' }).click();
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    // Chromium reports the document's own 404 status once; nothing else went wrong.
    expect(browser.problems).toEqual([
      'console: Failed to load resource: the server responded with a status of 404 (Not Found)',
    ]);
  }, 60_000);
});
