import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  closeBrowserAndGateway,
  hasChromium,
  launchBrowser,
  NO_CHROMIUM_MESSAGE,
  signIn,
  type TestBrowser,
} from './helpers/browser';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { easypostSignature, post, shopifyHeaders } from './helpers/signers';

if (!hasChromium) console.warn(NO_CHROMIUM_MESSAGE);

// A PGlite gateway and Chromium on two shared cores (see test/ui-browser.test.ts).
const SETUP_TIMEOUT_MS = 180_000;
// Written to docs/screenshots with UPDATE_SCREENSHOTS=1 (shown in docs/operating.md), else to a temporary file.
const SCREENSHOT = process.env.UPDATE_SCREENSHOTS
  ? fileURLToPath(new URL('../docs/screenshots/dashboard-charts.png', import.meta.url))
  : join(tmpdir(), `dashboard-charts-${process.pid}.png`);

describe.skipIf(!hasChromium)('dashboard charts in Chromium', () => {
  let gw: TestGateway;
  let browser: TestBrowser;
  let page: Page;
  const summaries = () =>
    page.locator('.chart-canvas').evaluateAll((els) => els.map((el) => el.getAttribute('aria-label')));

  beforeAll(async () => {
    gw = await startTestGateway('pglite', { logLevel: 'silent', worker: { cron: '0 0 1 1 *' } });
    for (let n = 0; n < 3; n++) {
      const body = JSON.stringify({ id: 7_000 + n, total_price: '42.00' });
      expect(
        (
          await post(
            `${gw.url}/api/webhooks/shopify/orders/create`,
            body,
            shopifyHeaders(SECRETS.shopify, body, `chart-${n}`),
          )
        ).status,
      ).toBe(200);
    }
    const body = JSON.stringify({ id: 'evt_chart', description: 'tracker.updated' });
    expect(
      (
        await post(`${gw.url}/api/webhooks/easypost`, body, {
          'x-hmac-signature': easypostSignature(SECRETS.easypost, body),
        })
      ).status,
    ).toBe(200);
    expect(
      (await post(`${gw.url}/api/webhooks/shopify/orders/create`, '{}', shopifyHeaders('stale-secret', '{}', 'bad')))
        .status,
    ).toBe(401);
    await waitFor(
      async () => {
        await gw.gateway.worker.tick();
        return (await gw.query(`select 1 from webhook_events where status = 'completed'`)).length === 4;
      },
      20_000,
      'processing',
    );
    browser = await launchBrowser();
    page = await browser.newPage();
    await signIn(page, gw.url, SECRETS.ops);
  }, SETUP_TIMEOUT_MS);
  afterAll(() => closeBrowserAndGateway(browser, gw));

  it('draws counts, latency and backlog for the last hour, with a text summary of each', async () => {
    await page.locator('.chart-canvas canvas').nth(2).waitFor();
    expect(await page.locator('.chart figcaption').allTextContents()).toEqual([
      'Requests and events per minute, last hour',
      'Receive → completed latency per minute, last hour',
      'Backlog (due events), last hour',
    ]);
    const [counts, latency, backlog] = await summaries();
    expect(counts).toBe('last hour: 4 received, 4 completed, 0 failed, 1 rejected.');
    expect(latency).toMatch(/^Highest p99 \d/);
    expect(backlog).toMatch(/^0 due now; at most 0 last hour\.$/);
    // uPlot's legend names each line.
    const legend = await page.locator('.chart').first().locator('.u-legend .u-label').allTextContents();
    expect(legend).toEqual(expect.arrayContaining(['Received', 'Completed', 'Failed', 'Rejected']));
    // Lines were drawn: the counts canvas has pixels in the "completed" green (#17612f), drawn over the received line it equals here.
    const green = () =>
      page
        .locator('.chart-canvas canvas')
        .first()
        .evaluate((canvas) => {
          const { data } = (
            canvas as unknown as {
              getContext(kind: '2d'): { getImageData(...box: number[]): { data: Uint8ClampedArray } };
              width: number;
              height: number;
            }
          )
            .getContext('2d')
            .getImageData(
              0,
              0,
              (canvas as unknown as { width: number }).width,
              (canvas as unknown as { height: number }).height,
            );
          let n = 0;
          for (let i = 0; i < data.length; i += 4)
            if (
              Math.abs(data[i]! - 0x17) < 40 &&
              Math.abs(data[i + 1]! - 0x61) < 40 &&
              Math.abs(data[i + 2]! - 0x2f) < 40
            )
              n++;
          return n;
        });
    await expect.poll(green).toBeGreaterThan(10);
  });

  it('narrows to one source and widens the window with the pickers', async () => {
    const source = page.getByLabel('Source', { exact: true });
    await expect
      .poll(() => source.locator('option').allTextContents())
      .toEqual(['all sources', 'easypost', 'keycloak', 'shopify']);
    await source.selectOption('shopify');
    await expect
      .poll(async () => (await summaries())[0])
      .toBe('last hour (shopify): 3 received, 3 completed, 0 failed, 1 rejected.');
    await page.getByLabel('Window', { exact: true }).selectOption('24h');
    await expect
      .poll(async () => (await summaries())[0])
      .toBe('last 24 hours (shopify): 3 received, 3 completed, 0 failed, 1 rejected.');
    expect(await page.locator('.chart figcaption').first().textContent()).toBe(
      'Requests and events per minute, last 24 hours (shopify)',
    );
    await source.selectOption('');
    await expect
      .poll(async () => (await summaries())[0])
      .toBe('last 24 hours: 4 received, 4 completed, 0 failed, 1 rejected.');
    await page.getByLabel('Window', { exact: true }).selectOption('1h');
    await expect.poll(async () => (await summaries())[0]).toMatch(/^last hour: 4 received/);
    await page.locator('#charts-title').scrollIntoViewIfNeeded();
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(browser.problems).toEqual([]);
  });
});
