import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { hasChromium, launchBrowser, type TestBrowser } from './helpers/browser';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { post, shopifyHeaders } from './helpers/signers';
import { seedEvents, type Seeded } from './helpers/ui-seed';
import { uiFor } from './helpers/ui-server';

// Not a check: regenerates the screenshots in docs/screenshots, shown in docs/operating.md (npm run screenshots).
const DIR = fileURLToPath(new URL('../docs/screenshots/', import.meta.url));

describe.skipIf(!process.env.UPDATE_SCREENSHOTS || !hasChromium)('UI screenshots', () => {
  let gw: TestGateway;
  let ui: { url: string; close(): Promise<void> };
  let browser: TestBrowser;
  let seeded: Seeded;

  beforeAll(async () => {
    gw = await startTestGateway('pglite', { logLevel: 'silent' });
    seeded = await seedEvents(gw, { orders: 9 });
    ui = await uiFor(gw);
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await ui?.close();
    await gw?.stop();
  });

  it('events list with stats and the live panel, and a failed event', async () => {
    const page = await browser.newPage();
    await page.goto(`${ui.url}/ui`);
    await page.getByLabel('Ops API token').fill(SECRETS.ops);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#live-state.on').waitFor();
    for (let n = 20; n < 23; n++) {
      const body = JSON.stringify({ id: 5_800_000_100 + n, total_price: '42.00' });
      await post(
        `${gw.url}/api/webhooks/shopify/orders/create`,
        body,
        shopifyHeaders(SECRETS.shopify, body, `live-${n}`),
      );
    }
    await waitFor(async () => (await page.locator('#live-list li').count()) >= 6, 10_000, 'live events');
    await page.locator('.new-events').click();
    await page.locator('.new-events').waitFor({ state: 'detached' });
    await page.screenshot({ path: `${DIR}events.png` });

    await page.locator(`a[href="/ui/events/${seeded.failed[0]}"]`).first().click();
    await page.locator('#replay').waitFor();
    await page.screenshot({ path: `${DIR}event.png` });
  });
});
