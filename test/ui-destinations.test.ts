import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKeyring } from '../src/control/crypto';
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

// With UPDATE_SCREENSHOTS (npm run screenshots) the page's picture goes to docs/screenshots;
// DESTINATIONS_SCREENSHOT_DIR keeps it elsewhere to look at.
const SHOTS = process.env.UPDATE_SCREENSHOTS
  ? fileURLToPath(new URL('../docs/screenshots/', import.meta.url))
  : process.env.DESTINATIONS_SCREENSHOT_DIR;

// The Destinations page in headless Chromium against a real gateway and a real receiver: a
// destination created in the UI shows its secret once, its health after a delivery, and holds
// then releases deliveries with Pause and Resume.
describe.skipIf(!hasChromium)('Destinations page in Chromium', () => {
  let gw: TestGateway;
  let browser: TestBrowser;
  let page: Page;
  const received: string[] = [];
  const receiver = createServer((req, res) => {
    received.push(String(req.headers['webhook-id']));
    req.resume().on('end', () => res.writeHead(204).end());
  });
  let n = 0;
  const send = async () => {
    const body = JSON.stringify({ id: ++n });
    return (
      await post(
        `${gw.url}/api/webhooks/shopify`,
        body,
        shopifyHeaders(SECRETS.shopify, body, `ui-dest-${n}-${Date.now()}`),
      )
    ).json.id as number;
  };
  const shot = async (name: string) => {
    if (!SHOTS) return;
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  };

  beforeAll(async () => {
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    gw = await startTestGateway('pglite', {
      control: { keyring: loadKeyring({ key: randomBytes(32).toString('base64') }), refreshMs: 5000 },
    });
    ({ browser, page } = await launchBrowserTab());
  }, 300_000);
  afterAll(async () => {
    await closeBrowserAndGateway(browser, gw);
    await new Promise((r) => receiver.close(r));
  });

  it('creates a destination (secret shown once), shows its health, pauses and resumes it', async () => {
    await signIn(page, gw.url, SECRETS.ops);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Destinations' }).click();
    await page.getByRole('heading', { name: 'Destinations' }).waitFor();

    await page.getByLabel('Name').fill('erp');
    await page.getByLabel('URL').fill('https://user:pw@example.test/x');
    await page.getByRole('button', { name: 'Create destination' }).click();
    await expect.poll(() => page.locator('#field-url-error').textContent()).toMatch(/without user:password@/);

    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
    await page.getByLabel('URL').fill(url);
    await page.getByLabel('Sources').fill('shopify');
    await page.getByLabel('Header').fill('X-Api-Key: ui-header-value');
    await page.getByRole('button', { name: 'Create destination' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    const secret = await dialog.getByLabel('Secret', { exact: true }).inputValue();
    expect(secret).toMatch(/^whsec_/);
    await dialog.getByLabel('I have stored this secret').check();
    await dialog.getByRole('button', { name: 'Done' }).click();
    await dialog.waitFor({ state: 'hidden' });
    expect(await page.content()).not.toContain(secret);

    const row = page.locator('tr[data-destination="erp"]');
    await expect.poll(() => row.textContent()).toContain('active');
    const first = await send();
    await expect.poll(() => received.includes(`evt_${first}`), { timeout: 10_000 }).toBe(true);
    await page.reload();
    await expect.poll(() => row.textContent(), { timeout: 10_000 }).toContain(`#${first} delivered (204)`);

    await row.getByRole('button', { name: 'Pause erp' }).click();
    await expect.poll(() => row.textContent()).toContain('paused');
    const held = await send();
    await expect
      .poll(
        async () =>
          (await gw.query('select 1 from event_queue where event_id = $1 and held_for is not null', [held])).length,
        { timeout: 10_000 },
      )
      .toBe(1);
    await page.reload();
    await expect.poll(() => row.locator('td').nth(7).textContent()).toBe('1');
    await shot('destinations');
    expect(await page.content()).not.toContain('ui-header-value');

    await row.getByRole('button', { name: 'Resume erp' }).click();
    await expect.poll(() => received.includes(`evt_${held}`), { timeout: 5_000 }).toBe(true);
    await page.reload();
    await expect.poll(() => row.textContent()).toContain('active');
    await expect.poll(() => row.locator('td').nth(7).textContent()).toBe('0');

    // A viewer reads the health but is offered no action.
    const created = await fetch(`${gw.url}/api/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${SECRETS.ops}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'ui-dest-viewer', role: 'viewer' }),
    });
    const { token } = (await created.json()) as { token: string };
    await page
      .getByRole('button', { name: 'Sign out' })
      .or(page.getByRole('link', { name: 'Sign out' }))
      .click();
    await page.getByLabel('Ops API token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Destinations' }).click();
    await expect.poll(() => row.textContent()).toContain('active');
    expect(await page.getByRole('button', { name: 'Create destination' }).count()).toBe(0);
    expect(await row.getByRole('button').count()).toBe(0);
    expect(await row.locator('td').nth(4).textContent()).toBe('closed');

    // An open circuit (as a dead endpoint leaves it) shows in the Circuit column, with its counts.
    await gw.query(
      "insert into destination_health (name, state, consecutive_failures, opened_at) values ('erp', 'open', 5, now())",
    );
    await page.reload();
    await expect.poll(() => row.locator('td').nth(4).textContent()).toBe('open');
    expect(await row.locator('td').nth(4).locator('span').first().getAttribute('title')).toContain(
      '5 consecutive failure(s); opens at 5',
    );
    await shot('destinations-circuit-open');
  }, 120_000);
});
