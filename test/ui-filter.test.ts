import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
import { eventStatus, SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { post, shopifyHeaders } from './helpers/signers';

if (!hasChromium) console.warn(NO_CHROMIUM_MESSAGE);

// FILTER_SCREENSHOT_DIR keeps the picture somewhere to look at; else a temporary folder.
const SHOTS = process.env.FILTER_SCREENSHOT_DIR ?? mkdtempSync(join(tmpdir(), 'ui-filter-'));

// The event page in headless Chromium: an event a destination's filter skipped shows that
// destination's delivery as "ignored" with the error "filtered", and the event as completed.
describe.skipIf(!hasChromium)('a filtered delivery on the event page in Chromium', () => {
  let gw: TestGateway;
  let browser: TestBrowser;
  let page: Page;

  beforeAll(async () => {
    gw = await startTestGateway('pglite', {
      destinations: [
        {
          name: 'big-orders',
          // Never called: the filter skips the only event this test sends.
          url: 'http://127.0.0.1:9/hooks',
          secret: `whsec_${randomBytes(24).toString('base64')}`,
          timeoutMs: 2000,
          sources: ['shopify'],
          filter: { body: { total: { $gt: 100 } } },
        },
      ],
    });
    ({ browser, page } = await launchBrowserTab());
  }, 300_000);
  afterAll(() => closeBrowserAndGateway(browser, gw));

  it('shows outcome ignored and error filtered in the Deliveries table', async () => {
    const body = JSON.stringify({ id: 1, total: 5 });
    const id = (
      await post(
        `${gw.url}/api/webhooks/shopify`,
        body,
        shopifyHeaders(SECRETS.shopify, body, `ui-filter-${Date.now()}`),
      )
    ).json.id as number;
    await waitFor(async () => (await eventStatus(gw, id)) === 'completed', 10_000, 'the event to complete');
    await signIn(page, gw.url, SECRETS.ops);
    await page.goto(`${gw.url}/ui/events/${id}`);
    const row = page
      .getByRole('table', { name: 'Forwarding to destinations' })
      .getByRole('row')
      .filter({ hasText: 'big-orders' });
    await row.waitFor();
    // Outcome, no HTTP status, no rule version (a file destination has none: "–" in the Rule column), the error.
    await expect.poll(() => row.textContent()).toMatch(/ignored––filtered/);
    await page
      .getByRole('table', { name: 'Forwarding to destinations' })
      .getByRole('columnheader', { name: 'Rule' })
      .waitFor();
    await page.screenshot({ path: join(SHOTS, 'event-filtered.png'), fullPage: true });
  });
});
