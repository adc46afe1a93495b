import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  closeBrowserAndGateway,
  hasChromium,
  launchBrowserTab,
  NO_CHROMIUM_MESSAGE,
  screenshotPath,
  signIn as signInAs,
  type TestBrowser,
} from './helpers/browser';
import { SECRETS, startTestGateway, type TestGateway } from './helpers/gateway';

if (!hasChromium) console.warn(NO_CHROMIUM_MESSAGE);

const SHOTS = process.env.ROLES_SCREENSHOT_DIR;

// The Tokens and Audit pages in headless Chromium against a real gateway: a token created in the
// UI is shown once, works on the API, is revoked from its row, and both changes are in the audit log.
describe.skipIf(!hasChromium)('Tokens and Audit pages in Chromium', () => {
  let gw: TestGateway;
  let browser: TestBrowser;
  let page: Page;

  const signIn = (token: string) => signInAs(page, gw.url, token);
  // tokens.png and audit.png are the docs' (npm run screenshots); tokens-created only for ROLES_SCREENSHOT_DIR.
  const shot = async (name: string) => {
    const path = screenshotPath(name, SHOTS, name !== 'tokens-created');
    if (path) await page.screenshot({ path, fullPage: true });
  };

  beforeAll(async () => {
    gw = await startTestGateway('pglite');
    ({ browser, page } = await launchBrowserTab());
  }, 300_000);
  afterAll(() => closeBrowserAndGateway(browser, gw));

  it('creates a token shown once, lists it, and revokes it', async () => {
    await signIn(SECRETS.ops);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Tokens' }).click();
    await page.getByRole('heading', { name: 'Tokens' }).waitFor();

    await page.getByLabel('Name').fill('Bad Name');
    await page.getByRole('button', { name: 'Create token' }).click();
    await expect.poll(() => page.locator('#field-name-error').textContent()).toMatch(/lower-case/);

    await page.getByLabel('Name').fill('ui-made');
    await page.getByLabel('Role').selectOption('viewer');
    await page.getByLabel('Expires in').fill('30d');
    await page.getByRole('button', { name: 'Create token' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    const token = await dialog.getByLabel('Secret', { exact: true }).inputValue();
    expect(token).toMatch(/^gwt_[A-Za-z0-9_-]{43}$/);
    await shot('tokens-created');
    expect(await dialog.getByRole('button', { name: 'Done' }).isDisabled()).toBe(true);
    await dialog.getByLabel('I have stored this secret').check();
    await dialog.getByRole('button', { name: 'Done' }).click();
    await dialog.waitFor({ state: 'hidden' });
    expect(await page.content()).not.toContain(token);

    const row = page.locator('tr[data-token="ui-made"]');
    await expect.poll(() => row.textContent()).toContain('viewer');
    expect(await row.textContent()).toContain('active');
    expect(await row.textContent()).toContain(token.slice(0, 8));
    const stats = await fetch(`${gw.url}/api/stats`, { headers: { authorization: `Bearer ${token}` } });
    expect(stats.status).toBe(200);
    await shot('tokens');

    page.once('dialog', (d) => void d.accept());
    await row.getByRole('button', { name: 'Revoke ui-made' }).click();
    await expect.poll(() => row.textContent()).toContain('revoked');
    expect((await gw.query(`select 1 from api_tokens where name = 'ui-made' and revoked_at is not null`)).length).toBe(
      1,
    );
  }, 120_000);

  it('shows the audit log with filters', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit' }).click();
    await page.getByRole('heading', { name: 'Audit log' }).waitFor();
    const actions = () => page.locator('tbody tr td:nth-child(3)').allTextContents();
    await expect.poll(actions).toEqual(['token.revoke', 'token.create']);
    expect(await page.locator('tbody tr').first().textContent()).toContain('token:ui-made');
    await shot('audit');
    await page.getByLabel('Action').fill('token.create');
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(actions).toEqual(['token.create']);
  }, 60_000);

  it('tells a viewer the Tokens and Audit pages need an admin: no refused request, no console error', async () => {
    const res = await fetch(`${gw.url}/api/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${SECRETS.ops}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'ui-viewer', role: 'viewer' }),
    });
    const { token } = (await res.json()) as { token: string };
    const asked: string[] = [];
    page.on('request', (request) => asked.push(new URL(request.url()).pathname));
    await signIn(token);
    await page.goto(`${gw.url}/ui/tokens`);
    await expect
      .poll(() => page.locator('main').textContent())
      .toMatch(/Listing, creating and revoking tokens needs the admin role; your token has the viewer role\./);
    expect(await page.getByRole('heading', { name: 'Tokens' }).isVisible()).toBe(true);
    // Also when reached from the navigation, without a page load.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit' }).click();
    await expect
      .poll(() => page.locator('main').textContent())
      .toMatch(/Reading the audit log needs the admin role; your token has the viewer role\./);
    expect(await page.getByRole('button', { name: 'Apply' }).count()).toBe(0);
    await page.goto(`${gw.url}/ui/audit`);
    await expect.poll(() => page.locator('main').textContent()).toMatch(/admin token/);
    expect(asked.filter((path) => path === '/api/tokens' || path.startsWith('/api/audit'))).toEqual([]);
    expect(browser.problems).toEqual([]);
  }, 60_000);
});
