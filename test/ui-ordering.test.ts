import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKeyring } from '../src/control/crypto';
import { PermanentError } from '../src/worker/handlers';
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

// ORDERING_SCREENSHOT_DIR keeps the picture somewhere to look at; else a temporary folder.
const SHOTS = process.env.ORDERING_SCREENSHOT_DIR ?? mkdtempSync(join(tmpdir(), 'ui-ordering-'));

// The event page in headless Chromium (docs/ordering.md): an event waiting behind the failed head
// of its key (onFailure 'block') says "blocked by event N", linking to that head, where a Skip
// button releases the key.
describe.skipIf(!hasChromium)('a blocked ordered event on the event page in Chromium', () => {
  let gw: TestGateway;
  let browser: TestBrowser;
  let page: Page;

  beforeAll(async () => {
    gw = await startTestGateway('pglite', {
      control: { keyring: loadKeyring({ key: randomBytes(32).toString('base64') }), refreshMs: 5000 },
    });
    ({ browser, page } = await launchBrowserTab());
  }, 300_000);
  afterAll(() => closeBrowserAndGateway(browser, gw));

  it('shows the key and "blocked by event N" with a link to the head', async () => {
    const created = await fetch(`${gw.url}/api/sources`, {
      method: 'POST',
      headers: { authorization: `Bearer ${SECRETS.ops}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'orders',
        provider: 'shopify',
        ordering: { key: { jsonPath: '$.order_id' }, onFailure: 'block' },
      }),
    });
    const { secret } = (await created.json()) as { secret: string };
    gw.gateway.on('orders', '*', (event) => {
      if (event.rawText?.includes('"fail"')) throw new PermanentError('refused for good');
    });
    const send = async (body: string, id: string) =>
      (await post(`${gw.url}/api/webhooks/orders`, body, shopifyHeaders(secret, body, id))).json.id as number;
    const head = await send('{"order_id":"A-7","fail":true}', 'ui-o-1');
    const next = await send('{"order_id":"A-7"}', 'ui-o-2');
    await waitFor(async () => (await eventStatus(gw, head)) === 'failed', 10_000, 'the head to fail');
    await signIn(page, gw.url, SECRETS.ops);
    await page.goto(`${gw.url}/ui/events/${next}`);
    const link = page.getByRole('link', { name: `blocked by event ${head}` });
    await link.waitFor();
    expect(await link.getAttribute('href')).toBe(`/ui/events/${head}`);
    await expect.poll(() => page.locator('dl.summary').textContent()).toContain('A-7');
    await page.screenshot({ path: join(SHOTS, 'event-blocked.png'), fullPage: true });

    // The operator skips the failed head from its page: the waiting event is released and completes.
    await link.click();
    await page.getByRole('button', { name: 'Skip in its key' }).click();
    await page.getByText('Skipped: the event failed with "skipped by" you').waitFor();
    await waitFor(
      async () => (await eventStatus(gw, next)) === 'completed',
      15_000,
      'the event behind the skipped head to complete',
    );
    const [skipped] = await gw.query<{ last_error: string }>('select last_error from webhook_events where id = $1', [
      head,
    ]);
    expect(skipped?.last_error).toMatch(/^skipped by /);
    expect(await page.getByRole('button', { name: 'Skip in its key' }).count()).toBe(0);
    expect(browser.problems).toEqual([]);
  });
});
