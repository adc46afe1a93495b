import { randomBytes } from 'node:crypto';
import type { Locator, Page } from 'playwright-core';
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
import { opsCall, SECRETS, startTestGateway, type TestGateway } from './helpers/gateway';

if (!hasChromium) console.warn(NO_CHROMIUM_MESSAGE);

// Two operators on one source: the page read it, someone else changed it through the API, then
// an action is clicked in the page. The page sends the version it read (If-Match), so the gateway
// refuses (412) instead of acting on a source the operator has not seen; the page says so in its
// own words, reloads the item, and nothing was changed by the click.
describe.skipIf(!hasChromium)('UI actions on an item changed after the page read it', () => {
  let gw: TestGateway;
  let browser: TestBrowser;
  let page: Page;
  const STALE = 'was changed by someone else since this page read it — reloaded; review and try again.';

  const api = (method: string, path: string, body?: unknown) => opsCall(gw, method, path, body);
  const card = (name: string) => page.locator(`section[data-source="${name}"]`);
  const stale = (scope: Locator | Page, what: string) =>
    scope.getByRole('alert').filter({ hasText: `${what} ${STALE}` });
  /** The stored source, without what the clock changes (ages, on-hold counts). */
  const source = async (name: string) => {
    const { json } = await api('GET', `/api/sources/${name}`);
    return { version: json.version, paused: json.paused, fingerprints: json.secrets.map((s: any) => s.fingerprint) };
  };
  /** A database source created through the API, and the Sources page showing it, with `token`. */
  const shown = async (name: string, token = SECRETS.ops) => {
    if ((await api('GET', `/api/sources/${name}`)).status === 404)
      expect((await api('POST', '/api/sources', { name, provider: 'shopify' })).status).toBe(201);
    await signIn(page, gw.url, token);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Sources' }).click();
    await card(name)
      .getByRole('button', { name: /^(Pause|Resume)$/ })
      .waitFor();
  };
  /** Someone else changes the source after the page read it. */
  const changeElsewhere = async (name: string) =>
    expect((await api('PATCH', `/api/sources/${name}`, { rate_limit: { per_second: 7 } })).status).toBe(200);

  beforeAll(async () => {
    gw = await startTestGateway('pglite', {
      control: { keyring: loadKeyring({ key: randomBytes(32).toString('base64') }), refreshMs: 5000 },
    });
    ({ browser, page } = await launchBrowserTab({ width: 1280, height: 900 }));
    page.on('dialog', (dialog) => void dialog.accept());
  }, 300_000);
  afterAll(() => closeBrowserAndGateway(browser, gw));

  it('Rotate secret: refused and said so, no new secret; the card reloaded, so a second click rotates', async () => {
    await shown('rotated');
    await changeElsewhere('rotated');
    const before = await source('rotated');
    await card('rotated').getByRole('button', { name: 'Rotate secret', exact: true }).click();
    await stale(card('rotated'), 'Source "rotated"').waitFor();
    expect(await page.getByRole('dialog').count()).toBe(0);
    expect(await source('rotated')).toEqual(before);

    // The item was reloaded: the page now holds the stored version, and the same click goes through.
    await expect
      .poll(() => card('rotated').locator('label', { hasText: 'Options of' }).textContent())
      .toContain(`version ${before.version}`);
    await card('rotated').getByRole('button', { name: 'Rotate secret', exact: true }).click();
    await page.getByRole('dialog').waitFor();
    expect((await source('rotated')).fingerprints).toHaveLength(2);
  }, 120_000);

  it('Pause by an operator, on a source someone else paused meanwhile: refused, and the card shows it paused', async () => {
    const created = await api('POST', '/api/tokens', { name: 'stale-operator', role: 'operator' });
    await shown('paused', created.json.token);
    expect((await api('POST', '/api/sources/paused/pause')).status).toBe(200);
    const before = await source('paused');
    await card('paused').getByRole('button', { name: 'Pause', exact: true }).click();
    await stale(card('paused'), 'Source "paused"').waitFor();
    await card('paused').getByRole('button', { name: 'Resume', exact: true }).waitFor();
    expect(await card('paused').locator('.source-head').textContent()).toContain('paused');
    expect(await source('paused')).toEqual(before);
  }, 120_000);

  it('Revoke, after someone else rotated: refused, the secret kept, and the reloaded card lists both', async () => {
    await shown('revoked');
    const [first] = (await source('revoked')).fingerprints;
    expect((await api('POST', '/api/sources/revoked/rotate-secret', { overlap_seconds: 600 })).status).toBe(200);
    const before = await source('revoked');
    await card('revoked')
      .getByRole('button', { name: `Revoke secret ${first}` })
      .click();
    await stale(page, 'Source "revoked"').waitFor();
    await expect.poll(() => card('revoked').locator('tbody tr').count()).toBe(2);
    expect(await source('revoked')).toEqual(before);
  }, 120_000);

  it('Delete: refused, the source stays', async () => {
    await shown('deleted');
    await changeElsewhere('deleted');
    const before = await source('deleted');
    await card('deleted').getByRole('button', { name: 'Delete', exact: true }).click();
    await stale(card('deleted'), 'Source "deleted"').waitFor();
    expect(await source('deleted')).toEqual(before);
  }, 120_000);

  it('Pause on the Destinations page, after someone else changed the destination: refused, not paused', async () => {
    expect(
      (await api('POST', '/api/destinations', { name: 'erp', url: 'https://example.test/hooks', sources: [] })).status,
    ).toBe(201);
    await signIn(page, gw.url, SECRETS.ops);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Destinations' }).click();
    await page.getByRole('button', { name: 'Pause erp' }).waitFor();
    expect((await api('PATCH', '/api/destinations/erp', { timeout_ms: 3000 })).status).toBe(200);
    await page.getByRole('button', { name: 'Pause erp' }).click();
    await stale(page, 'Destination "erp"').waitFor();
    const { json } = await api('GET', '/api/destinations/erp');
    expect([json.paused, json.version]).toEqual([false, 2]);
    // Only the refused actions' 412s went wrong in the page.
    expect(new Set(browser.problems)).toEqual(
      new Set(['console: Failed to load resource: the server responded with a status of 412 (Precondition Failed)']),
    );
  }, 120_000);
});
