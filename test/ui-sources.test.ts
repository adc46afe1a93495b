import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKeyring } from '../src/control/crypto';
import {
  closeBrowserAndGateway,
  hasChromium,
  launchBrowser,
  NO_CHROMIUM_MESSAGE,
  signIn as signInAs,
  type TestBrowser,
} from './helpers/browser';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { post, shopifyHeaders } from './helpers/signers';

if (!hasChromium) console.warn(NO_CHROMIUM_MESSAGE);

// With UPDATE_SCREENSHOTS (npm run screenshots) the page's picture goes to docs/screenshots for
// docs/operating.md; otherwise every step's picture goes to a temporary folder to look at.
const DOCS = fileURLToPath(new URL('../docs/screenshots/', import.meta.url));
const SHOTS = process.env.SOURCES_SCREENSHOT_DIR ?? join(tmpdir(), 'gw-ui-sources');

// The Sources page in headless Chromium against a real gateway: create a source (secret shown
// once, and it verifies), copy its URL, rotate, pause, send a test event that lands on hold,
// an edit refused after someone else's change, and what viewer and operator tokens are offered.
describe.skipIf(!hasChromium)('Sources page in Chromium', () => {
  let gw: TestGateway;
  let browser: TestBrowser;
  let page: Page;
  const card = () => page.locator('section[data-source="acme-shop"]');
  const admin = { authorization: `Bearer ${SECRETS.ops}`, 'content-type': 'application/json' };

  const signIn = async (token: string) => {
    await signInAs(page, gw.url, token);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Sources' }).click();
    await page.getByRole('heading', { name: 'Sources', level: 1 }).waitFor();
  };
  const shot = async (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  /** Reads the secret from the shown-once dialog, then confirms and closes it. */
  const takeSecret = async () => {
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    const secret = await dialog.getByLabel('Secret', { exact: true }).inputValue();
    await dialog.getByLabel('I have stored this secret').check();
    await dialog.getByRole('button', { name: 'Done' }).click();
    await dialog.waitFor({ state: 'hidden' });
    return secret;
  };
  const token = async (name: string, role: string) => {
    const created = await fetch(`${gw.url}/api/tokens`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ name, role }),
    });
    return ((await created.json()) as { token: string }).token;
  };

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    gw = await startTestGateway('pglite', {
      control: { keyring: loadKeyring({ key: randomBytes(32).toString('base64') }), refreshMs: 5000 },
    });
    browser = await launchBrowser({ width: 1280, height: 900 });
    await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: gw.url });
    page = await browser.newPage();
    page.setDefaultTimeout(30_000);
  }, 300_000);
  afterAll(() => closeBrowserAndGateway(browser, gw));

  it('creates a source, copies its URL, rotates its secret, pauses it and sends a test event that is held', async () => {
    await signIn(SECRETS.ops);
    await page.locator('section[data-source="shopify"]').getByText('managed by file').waitFor();

    await page.getByText('Add a source').click();
    await page.getByLabel('Provider').selectOption('shopify');
    await page.getByLabel('Name', { exact: true }).fill('Acme Shop');
    await page.getByRole('button', { name: 'Create source' }).click();
    await expect.poll(() => page.locator('#field-name-error').textContent()).toMatch(/lower-case/);
    await page.getByLabel('Name', { exact: true }).fill('acme-shop');
    await page.getByRole('button', { name: 'Create source' }).click();
    const first = await takeSecret();
    const body = JSON.stringify({ id: 1, total_price: '9.00' });
    expect((await post(`${gw.url}/api/webhooks/acme-shop`, body, shopifyHeaders(first, body, 'ui-1'))).status).toBe(
      200,
    );
    // A sender still on a wrong secret: the card shows its last rejection and why.
    expect(
      (await post(`${gw.url}/api/webhooks/acme-shop`, body, shopifyHeaders('wrong-secret-000000', body, 'ui-2')))
        .status,
    ).toBe(401);
    const cause = await waitFor(
      async () => {
        const last = await fetch(`${gw.url}/api/requests/last?source=acme-shop`, { headers: admin });
        return ((await last.json()) as { sources: Record<string, { cause: string } | null> }).sources['acme-shop']
          ?.cause;
      },
      10_000,
      'the rejection recorded',
    );

    await card().getByRole('button', { name: 'Copy the URL of acme-shop' }).click();
    await card().getByText('Copied').waitFor();
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(`${gw.url}/api/webhooks/acme-shop`);

    await card().getByLabel('Overlap (s)').fill('3600');
    await card().getByRole('button', { name: 'Rotate secret' }).click();
    await page.getByRole('dialog').getByText('previous secrets stay valid for 3600 s').waitFor();
    const second = await takeSecret();
    expect(second).not.toBe(first);
    expect(await page.content()).not.toContain(second);
    await expect.poll(() => card().locator('tbody tr').count()).toBe(2);
    expect(await card().locator('.source-facts').textContent()).toContain(cause);
    // Its body limit: none of its own, so the gateway's MAX_BODY_BYTES.
    expect(await card().locator('.source-facts').textContent()).toContain(
      'Body limitMAX_BODY_BYTES (the gateway default)',
    );

    await card().getByRole('button', { name: 'Pause' }).click();
    await card().getByText('0 on hold').waitFor();
    await card().getByLabel('Topic').fill('orders/paid');
    await card().getByRole('button', { name: 'Send a test event' }).click();
    const notice = page.getByRole('status').filter({ hasText: 'Test event accepted' });
    await notice.waitFor();
    expect(await notice.textContent()).toContain('(orders/paid), on hold while paused');
    await card().getByText('1 on hold').waitFor();
    await shot('sources');
    if (process.env.UPDATE_SCREENSHOTS) await page.screenshot({ path: `${DOCS}sources.png`, fullPage: true });

    await notice.getByRole('link').click();
    await page.getByRole('heading', { name: /Event #\d+/ }).waitFor();
    // The heading shows while the event still loads ("Loading event…", seen on a loaded CI run):
    // wait for the topic itself, not for a read of the page right after the heading.
    await page.locator('main').getByText('orders/paid').first().waitFor();
    expect(await page.locator('main').textContent()).toContain('orders/paid');
    await page.goBack();
    await card().getByRole('button', { name: 'Resume' }).click();
    await card().getByText('active').waitFor();
  }, 180_000);

  it('refuses an options edit made on a stale version, reloads the source and keeps the edit beside it', async () => {
    await card().getByText('Edit options').click();
    // Someone else changes the source after this page read it.
    const patched = await fetch(`${gw.url}/api/sources/acme-shop`, {
      method: 'PATCH',
      headers: admin,
      body: JSON.stringify({ rate_limit: { per_second: 5 } }),
    });
    expect(patched.status).toBe(200);
    await card()
      .getByLabel(/Options of acme-shop/)
      .fill('{"rate_limit": {"per_second": 50}}');
    await card().getByRole('button', { name: 'Save options' }).click();
    await card()
      .getByText('Source "acme-shop" was changed by someone else since this page read it — reloaded')
      .waitFor();
    // The box now shows what is stored (a save starts from it); the refused edit stays readable.
    const options = card().getByLabel(/Options of acme-shop/);
    await expect.poll(() => options.inputValue()).toContain('"per_second": 5\n');
    await card().getByText('Your edit, not saved').click();
    expect(await card().locator('pre').textContent()).toBe('{"rate_limit": {"per_second": 50}}');
    await shot('sources-stale-edit');
    const [row] = await gw.query<{ spec: unknown }>(`select spec from sources where name = 'acme-shop'`);
    expect(JSON.stringify(row!.spec)).toContain('"per_second":5');
  }, 60_000);

  it('offers a viewer no actions and an operator only pause and resume', async () => {
    await signIn(await token('ui-viewer', 'viewer'));
    await card().getByText('URL to give the provider').waitFor();
    expect(await page.getByText('Add a source').count()).toBe(0);
    expect(await card().getByRole('button').allTextContents()).toEqual(['Copy']);
    await shot('sources-viewer');

    await signIn(await token('ui-operator', 'operator'));
    await card().getByRole('button', { name: 'Pause' }).waitFor();
    expect(await card().getByRole('button').allTextContents()).toEqual(['Copy', 'Pause']);
    // The only failed request is the stale edit's 412, which the page reported.
    expect(browser.problems).toEqual([
      'console: Failed to load resource: the server responded with a status of 412 (Precondition Failed)',
    ]);
  }, 120_000);
});
