import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium, launchBrowser, NO_CHROMIUM_MESSAGE, type TestBrowser } from './helpers/browser';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { post, shopifyHeaders } from './helpers/signers';
import { seedEvents, type Seeded } from './helpers/ui-seed';
import { uiFor } from './helpers/ui-server';

if (!hasChromium) console.warn(NO_CHROMIUM_MESSAGE);

// The operator's UI in a real headless Chromium against a real gateway; one tab, signed in once.
describe.skipIf(!hasChromium)('web UI in Chromium', () => {
  let gw: TestGateway;
  let ui: { url: string; close(): Promise<void> };
  let browser: TestBrowser;
  let page: Page;
  let seeded: Seeded;
  const rowIds = async () =>
    await page.locator('tbody tr').evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-event-id'))));
  const statusOf = async (id: number) =>
    (await gw.query<{ status: string }>('select status from webhook_events where id = $1', [id]))[0]!.status;

  beforeAll(async () => {
    gw = await startTestGateway('pglite');
    seeded = await seedEvents(gw);
    ui = await uiFor(gw);
    browser = await launchBrowser();
    page = await browser.newPage();
  });
  afterAll(async () => {
    await browser?.close();
    await ui?.close();
    await gw?.stop();
  });

  it('serves the page with a strict Content-Security-Policy and no inline script', async () => {
    const res = await fetch(`${ui.url}/ui`);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const html = await res.text();
    expect(html).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
    expect(html).not.toMatch(/\son[a-z]+=|style=/);
    const script = await fetch(`${ui.url}/ui/assets/app.js`);
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(script.headers.get('content-security-policy')).toBe(csp);
    expect((await fetch(`${ui.url}/ui/assets/..%2Froutes.ts`)).status).toBe(404);
  });

  it('refuses a wrong token and signs in with the right one, kept in sessionStorage', async () => {
    await page.goto(`${ui.url}/ui`);
    await page.getByLabel('Ops API token').fill('not-the-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toBe('The gateway refused this token.');
    expect(await page.evaluate('sessionStorage.length + localStorage.length')).toBe(0);

    await page.getByLabel('Ops API token').fill(SECRETS.ops);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('tbody tr').first().waitFor();
    expect(await page.evaluate('Object.values(sessionStorage)')).toEqual([SECRETS.ops]);
    expect(await page.evaluate('localStorage.length')).toBe(0);
    expect(await rowIds()).toEqual([...seeded.completed, ...seeded.failed].sort((a, b) => b - a));
  });

  it('shows each status in its own colour, with the word', async () => {
    const colour = (status: string) =>
      page
        .locator(`tbody .badge.status-${status}`)
        .first()
        .evaluate((el) => (globalThis as any).getComputedStyle(el).backgroundColor as string);
    const [completed, failed] = await Promise.all([colour('completed'), colour('failed')]);
    expect(completed).not.toBe(failed);
    expect(await page.locator('tbody .badge.status-failed').first().textContent()).toBe('failed');
  });

  it('filters by status, source, topic and payload text, and keeps the filter in the address', async () => {
    await page.getByLabel('Status').selectOption('failed');
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(rowIds).toEqual([...seeded.failed].reverse());
    expect(new URL(page.url()).search).toBe('?status=failed');

    await page.getByRole('button', { name: 'Clear' }).click();
    await page.getByLabel('Source').fill('easypost');
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(async () => (await rowIds()).length).toBe(2);

    await page.getByLabel('Source').fill('');
    await page.getByLabel('Topic').fill('LOGIN');
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(() => page.locator('tbody tr').allTextContents()).toEqual([expect.stringContaining('keycloak')]);

    await page.goto(`${ui.url}/ui?q=trk_1`);
    await expect
      .poll(() => page.locator('tbody tr').allTextContents())
      .toEqual([expect.stringContaining('tracker.updated')]);
    expect(await page.getByLabel('Payload contains').inputValue()).toBe('trk_1');
  });

  it('pages with the cursor: older events, then back to the newest', async () => {
    const all = [...seeded.completed, ...seeded.failed].sort((a, b) => b - a);
    await page.goto(`${ui.url}/ui?limit=3`);
    await expect.poll(rowIds).toEqual(all.slice(0, 3));
    await page.getByRole('link', { name: 'Older events →' }).click();
    await expect.poll(rowIds).toEqual(all.slice(3, 6));
    await page.getByRole('link', { name: '← Newest' }).click();
    await expect.poll(rowIds).toEqual(all.slice(0, 3));
  });

  it('shows payload, headers and attempts; a hostile payload stays text', async () => {
    await page.goto(`${ui.url}/ui/events/${seeded.hostile}`);
    const payload = page.getByLabel('Payload (JSON)');
    await expect.poll(() => payload.textContent()).toContain('<img src=x onerror=\\"window.__pwned=1\\"><script>');
    expect(await page.locator('main img, main script').count()).toBe(0);
    expect(await page.evaluate('window.__pwned')).toBeUndefined();
    expect(await page.getByRole('table', { name: /Headers kept/ }).textContent()).toContain('content-type');
    const attempts = page.getByRole('table', { name: /processing attempt/ });
    expect(await attempts.locator('tbody tr').count()).toBe(1);
    expect(await attempts.locator('.badge').textContent()).toBe('completed');
  });

  it('shows stats at a glance: counts, success rate, latency and queue depth', async () => {
    const stats = page.locator('#stats');
    const figure = (label: string) => stats.locator('.stat', { hasText: label }).locator('dd').textContent();
    await expect.poll(() => figure('Failed')).toBe('2');
    expect(await figure('Completed')).toBe(String(seeded.completed.length));
    expect(await figure('Success rate')).toBe(
      `${((seeded.completed.length / (seeded.completed.length + 2)) * 100).toFixed(1)} %`,
    );
    expect(await figure('Latency p50 / p99')).toMatch(/^\d+ ms \/ \d+ ms$/);
    expect(await figure('Queue due')).toBe('0');
  });

  it('the live panel shows a webhook as it arrives and as it completes', async () => {
    await page.goto(`${ui.url}/ui`);
    await page.locator('#live-state.on').waitFor();
    const body = JSON.stringify({ id: 31337, total_price: '5.00' });
    const res = await post(
      `${gw.url}/api/webhooks/shopify/orders/create`,
      body,
      shopifyHeaders(SECRETS.shopify, body, 'ui-live-1'),
    );
    const id = res.json.id as number;
    const items = page.locator('#live-list li', { has: page.locator(`a[href="/ui/events/${id}"]`) });
    await expect.poll(() => items.locator('.badge').allTextContents()).toEqual(['completed', 'received']);
    await page.getByRole('button', { name: '1 new event: show' }).click();
    await expect.poll(async () => (await rowIds())[0]).toBe(id);
  });

  it('a replay clicked in the UI makes the failed event complete, in the page and in the database', async () => {
    const id = seeded.failed[0]!;
    seeded.heal();
    await page.goto(`${ui.url}/ui/events/${id}`);
    await expect.poll(() => page.locator('#event-status').textContent()).toBe('failed');
    await page.getByRole('button', { name: 'Replay event' }).click();
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Replayed' }).count()).toBe(1);
    await expect.poll(() => page.locator('#event-status').textContent(), { timeout: 10_000 }).toBe('completed');
    expect(await statusOf(id)).toBe('completed');
    const outcomes = await gw.query<{ outcome: string }>(
      'select outcome from processing_log where event_id = $1 order by id',
      [id],
    );
    expect(outcomes.map((o) => o.outcome)).toEqual(['failed', 'completed']);
    expect(
      await page
        .getByRole('table', { name: /processing attempt/ })
        .locator('tbody tr')
        .count(),
    ).toBe(2);
    await waitFor(
      async () => (await page.locator('#stats .stat', { hasText: 'Failed' }).locator('dd').textContent()) === '1',
      5_000,
      'stats refreshed',
    );
  });

  it('signing out forgets the token', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Ops API token').waitFor();
    expect(await page.evaluate('sessionStorage.length + localStorage.length')).toBe(0);
    expect(await page.locator('#stats').isHidden()).toBe(true);
  });

  it('no page had a script error, a CSP violation or a failed request', () => {
    // The wrong-token sign-in above is the one expected 401.
    expect(browser.problems.filter((p) => !p.includes('401'))).toEqual([]);
  });
});
