import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  closeBrowserAndGateway,
  hasChromium,
  launchBrowser,
  NO_CHROMIUM_MESSAGE,
  type TestBrowser,
} from './helpers/browser';
import { databaseKinds } from './helpers/database';
import { eventStatus, SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { post, shopifyHeaders } from './helpers/signers';
import { EXACT_LITERALS, seedEvents, type Seeded } from './helpers/ui-seed';

if (!hasChromium) console.warn(NO_CHROMIUM_MESSAGE);

// A PGlite gateway, the seeded events and Chromium: starting the gateway alone took 35 s at a load
// average of 22 on two cores while other suites ran.
const SETUP_TIMEOUT_MS = 180_000;

// Every page of the operator's UI in a real headless Chromium against a real gateway (on each
// database kind); one tab.
for (const kind of databaseKinds())
  describe.skipIf(!hasChromium)(`web UI in Chromium (${kind})`, () => {
    let gw: TestGateway;
    let browser: TestBrowser;
    let page: Page;
    let seeded: Seeded;
    let all: number[];
    const rowIds = async () =>
      await page.locator('tbody tr').evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-event-id'))));
    const open = async (path: string) => {
      await page.goto(`${gw.url}${path}`);
      await page.locator('main h1').waitFor();
    };

    beforeAll(async () => {
      gw = await startTestGateway(kind);
      seeded = await seedEvents(gw);
      all = [...seeded.completed, ...seeded.failed].sort((a, b) => b - a);
      browser = await launchBrowser();
      page = await browser.newPage();
    }, SETUP_TIMEOUT_MS);
    afterAll(() => closeBrowserAndGateway(browser, gw));

    it('serves every page with a strict Content-Security-Policy, no inline script or style', async () => {
      for (const path of ['/ui', '/ui/', '/ui/events', `/ui/events/${seeded.hostile}`, '/ui/audit', '/ui/tokens']) {
        const res = await fetch(`${gw.url}${path}`);
        expect(res.status, path).toBe(200);
        const csp = res.headers.get('content-security-policy') ?? '';
        expect(csp).toContain("default-src 'none'");
        expect(csp).toContain("script-src 'self'");
        expect(csp).toContain("style-src 'self'");
        expect(csp).not.toMatch(/unsafe-(inline|eval)/);
        expect(res.headers.get('x-content-type-options')).toBe('nosniff');
        expect(res.headers.get('x-frame-options')).toBe('DENY');
        const html = await res.text();
        expect(html).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
        expect(html).not.toMatch(/\son[a-z]+=|style=|<style/);
      }
      const html = await (await fetch(`${gw.url}/ui`)).text();
      const script = html.match(/src="(\/ui\/assets\/app-[A-Z0-9]+\.js)"/)![1]!;
      const asset = await fetch(`${gw.url}${script}`);
      expect(asset.headers.get('content-type')).toMatch(/^text\/javascript/);
      expect(asset.headers.get('cache-control')).toContain('immutable');
      expect(asset.headers.get('content-security-policy')).toContain("default-src 'none'");
      expect(await asset.text()).not.toMatch(/\beval\(|new Function\(/);
      expect((await fetch(`${gw.url}/ui/assets/..%2F..%2Fpackage.json`)).status).toBe(404);
      expect((await fetch(`${gw.url}/ui/assets/manifest.json`)).status).toBe(404);
      expect((await fetch(`${gw.url}/ui/no-such-page`)).status).toBe(404);
    });

    it('sign-in: says what is wrong next to the field, keeps the token in sessionStorage only', async () => {
      // A token an earlier version kept in localStorage ("remember me") is forgotten on load.
      await page.goto(`${gw.url}/ui`);
      await page.evaluate(`localStorage.setItem('webhook-gateway.ops-token', ${JSON.stringify(SECRETS.ops)})`);
      await page.reload();
      const token = page.getByLabel('Ops API token');
      await token.waitFor();
      expect(await page.evaluate('localStorage.length')).toBe(0);

      await page.getByRole('button', { name: 'Sign in' }).click();
      await expect.poll(() => page.locator('#field-token-error').textContent()).toMatch(/^Enter an ops API token/);
      expect(await token.getAttribute('aria-invalid')).toBe('true');
      expect(await token.getAttribute('aria-describedby')).toBe('field-token-error');

      await token.fill('not-the-token');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await expect.poll(() => page.locator('#field-token-error').textContent()).toBe('The gateway refused this token.');
      expect(await page.evaluate('sessionStorage.length + localStorage.length')).toBe(0);

      await token.fill(SECRETS.ops);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
      expect(await page.evaluate('Object.values(sessionStorage)')).toEqual([SECRETS.ops]);
      expect(await page.evaluate('localStorage.length')).toBe(0);
    });

    it('navigation lists only the pages that exist', async () => {
      const links = await page.getByRole('navigation', { name: 'Main' }).getByRole('link').allTextContents();
      expect(links).toEqual([
        'Dashboard',
        'Events',
        'Sources',
        'Destinations',
        'Audit',
        'Tokens',
        'Rejected requests',
        'Alerts',
        'API reference',
      ]);
      expect(await page.getByRole('link', { name: 'Dashboard' }).getAttribute('aria-current')).toBe('page');
      await page.getByRole('link', { name: 'Events', exact: true }).click();
      await page.getByRole('heading', { name: 'Events' }).waitFor();
      expect(new URL(page.url()).pathname).toBe('/ui/events');
      expect(await page.title()).toBe('Events · webhook-gateway');
    });

    it('dashboard: figures for 24 hours, events by source, the latest failures', async () => {
      await open('/ui');
      const stats = page.locator('#stats');
      const figure = (label: string) => stats.locator('.stat', { hasText: label }).locator('dd').textContent();
      await expect.poll(() => figure('Failed')).toBe('2');
      expect(await figure('Completed')).toBe(String(seeded.completed.length));
      expect(await figure('Success rate')).toBe(
        `${((seeded.completed.length / (seeded.completed.length + 2)) * 100).toFixed(1)} %`,
      );
      expect(await figure('Latency p50 / p99')).toMatch(/^\d+ ms \/ \d+ ms$/);
      expect(await figure('Queue due')).toBe('0');

      const bySource = page.getByRole('table', { name: /by source, and where each is now/ });
      const cells = () =>
        bySource
          .locator('tbody tr')
          .evaluateAll((rows) => rows.map((r) => Array.from(r.children, (cell: any) => cell.textContent as string)));
      // source, all, received, processing, completed, failed
      await expect.poll(cells).toContainEqual(['easypost', '2', '0', '0', '2', '0']);
      expect(await cells()).toContainEqual([
        'shopify',
        String(seeded.completed.length - 3 + 2),
        '0',
        '0',
        String(seeded.completed.length - 3),
        '2',
      ]);
      const failures = page.getByRole('table', { name: /failed for good/ });
      await expect
        .poll(() => failures.locator('tbody tr td:first-child').allTextContents())
        .toEqual([...seeded.failed].reverse().map((id) => `#${id}`));

      await stats.locator('.stat', { hasText: 'Failed' }).getByRole('link').click();
      await expect.poll(rowIds).toEqual([...seeded.failed].reverse());
      expect(new URL(page.url()).search).toBe('?status=failed');
    });

    it('an address from before the dashboard (/ui?status=failed) still opens the filtered list', async () => {
      await page.goto(`${gw.url}/ui?status=failed`);
      await expect.poll(() => new URL(page.url()).pathname).toBe('/ui/events');
      await expect.poll(rowIds).toEqual([...seeded.failed].reverse());
    });

    it('events: each status in its own colour, with the word', async () => {
      await open('/ui/events');
      await expect.poll(rowIds).toEqual(all.slice(0, 50));
      const colour = (status: string) =>
        page
          .locator(`tbody .badge.status-${status}`)
          .first()
          .evaluate((el) => (globalThis as any).getComputedStyle(el).backgroundColor as string);
      const [completed, failed] = await Promise.all([colour('completed'), colour('failed')]);
      expect(completed).not.toBe(failed);
      expect(await page.locator('tbody .badge.status-failed').first().textContent()).toBe('failed');
    });

    it('filters by status, source, topic, payload text and time, and keeps them in the address', async () => {
      await page.getByLabel('Status').selectOption('failed');
      await page.getByRole('button', { name: 'Apply' }).click();
      await expect.poll(rowIds).toEqual([...seeded.failed].reverse());
      expect(new URL(page.url()).search).toBe('?status=failed');

      await page.getByRole('button', { name: 'Clear' }).click();
      await expect.poll(() => page.getByLabel('Status').inputValue()).toBe('');
      await page.getByLabel('Source').fill('easypost');
      await page.getByRole('button', { name: 'Apply' }).click();
      await expect.poll(async () => (await rowIds()).length).toBe(2);

      await page.getByLabel('Source').fill('');
      await page.getByLabel('Topic').fill('LOGIN');
      await page.getByRole('button', { name: 'Apply' }).click();
      await expect
        .poll(() => page.locator('tbody tr').allTextContents())
        .toEqual([expect.stringContaining('keycloak')]);

      await open('/ui/events?q=trk_1');
      await expect
        .poll(() => page.locator('tbody tr').allTextContents())
        .toEqual([expect.stringContaining('tracker.updated')]);
      expect(await page.getByLabel('Payload contains').inputValue()).toBe('trk_1');

      // Received from an hour ahead: nothing yet.
      await page.getByRole('button', { name: 'Clear' }).click();
      const ahead = new Date(Date.now() + 3_600_000 - new Date().getTimezoneOffset() * 60_000)
        .toISOString()
        .slice(0, 16);
      await page.getByLabel('Received from').fill(ahead);
      await page.getByRole('button', { name: 'Apply' }).click();
      await expect.poll(() => page.getByText('No events match these filters.').count()).toBe(1);
      expect(new URL(page.url()).searchParams.get('since')).toMatch(/^\d{4}-\d\d-\d\dT/);
    });

    it('filter mistakes are shown on their own field and nothing is loaded', async () => {
      await open('/ui/events');
      const before = page.url();
      await page.getByLabel('Payload contains').fill('x'.repeat(201));
      await page.getByLabel('Received from').fill('2026-11-23T10:00');
      await page.getByLabel('Received before').fill('2026-11-22T10:00');
      await page.getByRole('button', { name: 'Apply' }).click();
      await expect
        .poll(() => page.locator('#field-q-error').textContent())
        .toBe('At most 200 characters (this is 201).');
      expect(await page.locator('#field-until-error').textContent()).toBe('Must be after “Received from”.');
      expect(await page.locator('#field-since-error').count()).toBe(0);
      expect(await page.getByLabel('Payload contains').getAttribute('aria-invalid')).toBe('true');
      await expect.poll(() => page.evaluate('document.activeElement?.id')).toBe('field-q');
      expect(page.url()).toBe(before);
    });

    it('pages with the cursor: older events, then back to the newest', async () => {
      await open('/ui/events?limit=3');
      await expect.poll(rowIds).toEqual(all.slice(0, 3));
      await page.getByRole('link', { name: 'Older events →' }).click();
      await expect.poll(rowIds).toEqual(all.slice(3, 6));
      expect(new URL(page.url()).searchParams.get('limit')).toBe('3');
      await page.getByRole('link', { name: '← Newest' }).click();
      await expect.poll(rowIds).toEqual(all.slice(0, 3));
      await page.goBack();
      await expect.poll(rowIds).toEqual(all.slice(3, 6));
    });

    it('event page: payload, headers and attempts; a hostile payload stays text', async () => {
      await open(`/ui/events/${seeded.hostile}`);
      const payload = page.getByLabel('Payload (JSON)');
      await expect.poll(() => payload.textContent()).toContain('<img src=x onerror=\\"window.__pwned=1\\"><script>');
      expect(await page.locator('main img, main script').count()).toBe(0);
      expect(await page.evaluate('window.__pwned')).toBeUndefined();
      expect(await page.getByRole('table', { name: /Headers kept/ }).textContent()).toContain('content-type');
      const attempts = page.getByRole('table', { name: /processing attempt/ });
      expect(await attempts.locator('tbody tr').count()).toBe(1);
      expect(await attempts.locator('.badge').textContent()).toBe('completed');
      expect(await page.title()).toBe(`Event #${seeded.hostile} · webhook-gateway`);
    });

    it('shows every number of a payload exactly as it was sent', async () => {
      // The API's answer carries the stored text with every literal (body.data).
      const raw = await (
        await fetch(`${gw.url}/api/events/${seeded.exact}`, { headers: { authorization: `Bearer ${SECRETS.ops}` } })
      ).text();
      for (const literal of EXACT_LITERALS) expect(raw).toContain(literal);

      await open(`/ui/events/${seeded.exact}`);
      const payload = page.getByLabel('Payload (JSON)');
      await expect.poll(() => payload.textContent()).toContain('"id": 820982911946154508');
      const text = (await payload.textContent())!;
      expect(text).toContain('"total": 12345678901234567890.120');
      expect(text).toContain('"tiny": 1E-7');
      expect(text).toContain('"zero": -0');
      expect(text).toContain('"price": 1.10');
      expect(text).toContain('"variant_id": 43729076486375834');
    });

    it("the event page lists the event's conflicting deliveries", async () => {
      const original = '{"order":"ui-conflict","total":"1.00"}';
      const other = '{"order":"ui-conflict","total":"2.00"}';
      const first = await post(
        `${gw.url}/api/webhooks/shopify`,
        original,
        shopifyHeaders(SECRETS.shopify, original, 'wh-ui-conflict'),
      );
      const copy = await post(
        `${gw.url}/api/webhooks/shopify`,
        other,
        shopifyHeaders(SECRETS.shopify, other, 'wh-ui-conflict'),
      );
      expect(copy.json.status).toBe('conflict');
      const [stored] = await gw.query<{ id: string }>('select id from event_conflicts where event_id = $1', [
        first.json.id,
      ]);

      await open(`/ui/events/${first.json.id}`);
      await page.locator('h2#conflicts').waitFor();
      expect(await page.locator('dl.summary').textContent()).toContain('1 with other bytes');
      const row = page
        .locator('table', { has: page.locator('caption', { hasText: 'Conflicting deliveries' }) })
        .locator('tbody tr');
      await expect.poll(() => row.count()).toBe(1);
      expect(await row.textContent()).toContain(`GET /api/conflicts/${stored!.id}`);
      expect(await row.textContent()).toContain(`${Buffer.byteLength(other)} bytes`);
    });

    it('the live panel shows a webhook as it arrives and as it completes', async () => {
      await open('/ui/events');
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
      await items.first().getByRole('link').click();
      await page.getByRole('heading', { name: `Event #${id}` }).waitFor();
    });

    it('a replay clicked in the UI makes the failed event complete, in the page and in the database', async () => {
      const id = seeded.failed[0]!;
      seeded.heal();
      await open(`/ui/events/${id}`);
      await expect.poll(() => page.locator('#event-status').textContent()).toBe('failed');
      await page.getByRole('button', { name: 'Replay event' }).click();
      await expect.poll(() => page.getByRole('status').filter({ hasText: 'Replayed' }).count()).toBe(1);
      await expect.poll(() => page.locator('#event-status').textContent(), { timeout: 10_000 }).toBe('completed');
      expect(await eventStatus(gw, id)).toBe('completed');
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
    });

    it('bulk replay counts first (changing nothing), then replays what the filters match', async () => {
      const id = seeded.failed[1]!;
      await open('/ui/events');
      await page.getByText('Replay all events matching these filters').click();
      expect(await page.getByRole('button', { name: 'Count matching events' }).count()).toBe(0);

      await open('/ui/events?status=failed');
      await page.getByText('Replay all events matching these filters').click();
      await page.getByRole('button', { name: 'Count matching events' }).click();
      await expect
        .poll(() => page.getByRole('status').filter({ hasText: 'match these filters' }).textContent())
        .toBe('1 event match these filters.');
      expect(await eventStatus(gw, id)).toBe('failed');

      await page.getByRole('button', { name: 'Replay 1 event' }).click();
      await expect
        .poll(() => page.getByRole('status').filter({ hasText: 'Replayed' }).textContent())
        .toBe('Replayed 1 event.');
      await waitFor(async () => (await eventStatus(gw, id)) === 'completed', 10_000, 'bulk-replayed event completed');
      await expect.poll(rowIds, { timeout: 10_000 }).toEqual([]);
    });

    it('the stats follow the replays', async () => {
      await open('/ui');
      const failed = page.locator('#stats .stat', { hasText: 'Failed' }).locator('dd');
      await expect.poll(() => failed.textContent(), { timeout: 10_000 }).toBe('0');
    });

    it('signing out forgets the token; a token the gateway stops accepting signs the page out', async () => {
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByLabel('Ops API token').waitFor();
      expect(await page.evaluate('sessionStorage.length + localStorage.length')).toBe(0);
      expect(await page.locator('#stats, #live').count()).toBe(0);

      await page.evaluate(`sessionStorage.setItem('webhook-gateway.ops-token', 'rotated-out-token')`);
      await page.goto(`${gw.url}/ui/events`);
      await expect
        .poll(() => page.getByRole('alert').first().textContent())
        .toBe('The gateway refused the stored token. Sign in again.');
      expect(await page.evaluate('sessionStorage.length')).toBe(0);
    });

    it('no page had a script error, a CSP violation or a failed request', () => {
      // The wrong and rotated-out tokens above are the expected 401s.
      expect(browser.problems.filter((p) => !p.includes('401'))).toEqual([]);
    });
  });
