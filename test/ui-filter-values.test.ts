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
import { post, shopifyHeaders } from './helpers/signers';

if (!hasChromium) console.warn(NO_CHROMIUM_MESSAGE);

// A filter in the events list's address that is not valid (a hand-edited or truncated link) is
// named with what to write instead, and nothing is listed: dropping it would show every event as
// if the filter had been applied, and offer to bulk-replay them.
describe.skipIf(!hasChromium)('filters in the events address that are not valid, in Chromium', () => {
  let gw: TestGateway;
  let browser: TestBrowser;
  let page: Page;
  /** Every GET /api/events the page made (the list's loads; not the live stream). */
  const listLoads: string[] = [];
  const main = () => page.locator('main').textContent();

  beforeAll(async () => {
    gw = await startTestGateway('pglite');
    const body = '{"id":1}';
    expect(
      (await post(`${gw.url}/api/webhooks/shopify/orders/create`, body, shopifyHeaders(SECRETS.shopify, body, 'f-1')))
        .status,
    ).toBe(200);
    ({ browser, page } = await launchBrowserTab());
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (url.pathname === '/api/events') listLoads.push(url.search);
    });
    await signIn(page, gw.url, SECRETS.ops);
  }, 300_000);
  afterAll(() => closeBrowserAndGateway(browser, gw));

  const cases: [string, RegExp][] = [
    ['status=bogus', /status: “bogus” is not a status: use received, processing, completed, failed/],
    ['source=shopify&status=Failed', /status: “Failed” is not a status/],
    ['since=yesterday', /since: “yesterday” is not a time: use ISO 8601/],
    ['until=2026-11-23', /until: “2026-11-23” is not a time/],
    ['since=2026-11-23T10:00:00Z&until=2026-11-22T10:00:00Z', /until: Must be after “Received from”/],
    [`topic=${'t'.repeat(257)}`, /topic: At most 256 characters \(this is 257\)/],
    [`source=${'s'.repeat(201)}`, /source: At most 200 characters/],
  ];
  it.each(cases)('?%s is named, nothing is listed and bulk replay is not offered', async (search, message) => {
    listLoads.length = 0;
    await page.goto(`${gw.url}/ui/events?${search}`);
    await expect.poll(main).toMatch(/filters that are not valid, so no events are shown/);
    expect(await main()).toMatch(message);
    expect(await page.locator('tbody tr').count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Count matching events' }).count()).toBe(0);
    expect(listLoads).toEqual([]);
  });

  it('the field says what is wrong; correcting it in the form lists the events', async () => {
    await page.goto(`${gw.url}/ui/events?status=bogus`);
    await expect.poll(() => page.locator('#field-status-error').textContent()).toMatch(/not a status/);
    await page.getByLabel('Topic').fill('orders/create');
    await page.getByLabel('Status').selectOption({ label: 'any' });
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.locator('tbody tr').first().waitFor();
    expect(new URL(page.url()).search).toBe('?topic=orders%2Fcreate');
    expect(await main()).not.toMatch(/not valid/);
  });

  it('an old dashboard address (/ui?status=bogus) opens the list with the filter named, not dropped', async () => {
    await page.goto(`${gw.url}/ui?status=bogus`);
    await expect.poll(main).toMatch(/“bogus” is not a status/);
    expect(new URL(page.url()).search).toBe('?status=bogus');
  });

  it('valid filters still load, and no page had an error', async () => {
    listLoads.length = 0;
    await page.goto(`${gw.url}/ui/events?source=shopify&since=2020-01-01T00:00:00Z`);
    await page.locator('tbody tr').first().waitFor();
    expect(listLoads.length).toBeGreaterThan(0);
    expect(browser.problems).toEqual([]);
  });
});
