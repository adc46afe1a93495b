import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { closeBrowserAndGateway, hasChromium, launchBrowser, type TestBrowser } from './helpers/browser';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { post, shopifyHeaders } from './helpers/signers';
import { seedEvents, type Seeded } from './helpers/ui-seed';

// Not a check: regenerates the screenshots in docs/screenshots, shown in docs/operating.md (npm run screenshots).
const DIR = fileURLToPath(new URL('../docs/screenshots/', import.meta.url));
// A PGlite gateway, nine signed orders and Chromium: 35 s for the gateway alone was measured at a
// load average of 22 on two cores while other suites ran.
const SETUP_TIMEOUT_MS = 180_000;

describe.skipIf(!process.env.UPDATE_SCREENSHOTS || !hasChromium)('UI screenshots', () => {
  let gw: TestGateway;
  let browser: TestBrowser;
  let page: Page;
  let seeded: Seeded;

  beforeAll(async () => {
    gw = await startTestGateway('pglite', { logLevel: 'silent' });
    seeded = await seedEvents(gw, { orders: 9 });
    browser = await launchBrowser();
    page = await browser.newPage();
    await page.goto(`${gw.url}/ui`);
    await page.getByLabel('Ops API token').fill(SECRETS.ops);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#live-state.on').waitFor();
  }, SETUP_TIMEOUT_MS);
  afterAll(() => closeBrowserAndGateway(browser, gw));

  it('dashboard with the live panel', async () => {
    for (let n = 20; n < 23; n++) {
      const body = JSON.stringify({ id: 5_800_000_100 + n, total_price: '42.00' });
      await post(
        `${gw.url}/api/webhooks/shopify/orders/create`,
        body,
        shopifyHeaders(SECRETS.shopify, body, `live-${n}`),
      );
    }
    await waitFor(async () => (await page.locator('#live-list li').count()) >= 6, 10_000, 'live events');
    await waitFor(
      async () =>
        (await page.locator('#stats .stat', { hasText: 'Completed' }).textContent())!.includes(
          String(seeded.completed.length + 3),
        ),
      10_000,
      'stats refreshed',
    );
    await page.screenshot({ path: `${DIR}dashboard.png` });
  });

  it('events list with a filter and bulk replay counted', async () => {
    await page.getByRole('link', { name: 'Events', exact: true }).click();
    await page.locator('tbody tr').first().waitFor();
    await page.screenshot({ path: `${DIR}events.png` });
    await page.goto(`${gw.url}/ui/events?status=failed`);
    await page.getByText('Replay all events matching these filters').click();
    await page.getByRole('button', { name: 'Count matching events' }).click();
    await page.getByRole('button', { name: /^Replay \d+ events?$/ }).waitFor();
    await page.screenshot({ path: `${DIR}bulk-replay.png` });
  });

  it('rejected requests: bad signatures, a missing one, a request to a source that does not exist', async () => {
    const body = JSON.stringify({ id: 5_800_000_900 });
    const url = `${gw.url}/api/webhooks/shopify/orders/create`;
    for (let n = 0; n < 3; n++)
      await post(url, body, {
        ...shopifyHeaders('rotated-on-one-side', body, `bad-${n}`),
        'user-agent': 'Shopify-Captain-Hook',
      });
    await post(url, body, { 'x-shopify-topic': 'orders/create', 'user-agent': 'curl/8.5.0' });
    await post(`${gw.url}/api/webhooks/shopfiy`, body, { 'user-agent': 'Shopify-Captain-Hook' });
    // The log is written in batches once a second: load the page until all five are in.
    await waitFor(
      async () => {
        await page.goto(`${gw.url}/ui/requests`);
        await page.getByRole('heading', { name: 'Rejected requests' }).first().waitFor();
        return (await page.locator('tbody tr').count()) >= 5;
      },
      20_000,
      'five rejected requests',
    );
    await page.screenshot({ path: `${DIR}requests.png` });
  });

  it('a failed event, and an order with numbers beyond 2^53', async () => {
    await page.goto(`${gw.url}/ui/events/${seeded.failed[0]}`);
    await page.locator('#replay').waitFor();
    await page.screenshot({ path: `${DIR}event.png`, fullPage: true });
    await page.goto(`${gw.url}/ui/events/${seeded.exact}`);
    await page.getByLabel('Payload (JSON)').waitFor();
    await page.screenshot({ path: `${DIR}event-exact-numbers.png` });
  });
});
