import { randomBytes } from 'node:crypto';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKeyring } from '../src/control/crypto';
import {
  closeBrowserAndGateway,
  hasChromium,
  launchBrowser,
  NO_CHROMIUM_MESSAGE,
  signIn,
  type TestBrowser,
} from './helpers/browser';
import { databaseKinds } from './helpers/database';
import { opsCall, SECRETS, startTestGateway, type TestGateway } from './helpers/gateway';
import { post, shopifyHeaders } from './helpers/signers';

if (!hasChromium) console.warn(NO_CHROMIUM_MESSAGE);

// A sender chooses its topic and webhook id, and an operator a 63-character name: text with no
// space to wrap at. Each page that lists them must keep its tables inside the card at 1280 px,
// instead of pushing the status column and the page itself off to the right; on a narrow screen
// the page must not be wider than the screen.
const TOPIC = `orders/${'averylongtopicname'.repeat(11)}`.slice(0, 200);
const WEBHOOK_ID = 'W'.repeat(200);
const DESTINATION = `d${'x'.repeat(62)}`;

for (const kind of databaseKinds())
  describe.skipIf(!hasChromium)(`long unspaced text in Chromium (${kind})`, () => {
    let gw: TestGateway;
    let browser: TestBrowser;
    let page: Page;
    let eventId: number;

    beforeAll(async () => {
      gw = await startTestGateway(kind, {
        control: { keyring: loadKeyring({ key: randomBytes(32).toString('base64') }), refreshMs: 5000 },
      });
      const body = '{"id":424242}';
      const res = await post(
        `${gw.url}/api/webhooks/shopify`,
        body,
        shopifyHeaders(SECRETS.shopify, body, WEBHOOK_ID, 'acme.myshopify.com', TOPIC),
      );
      expect(res.status).toBe(200);
      eventId = res.json.id;
      const created = await opsCall(gw, 'POST', '/api/destinations', {
        name: DESTINATION,
        url: 'http://127.0.0.1:9/hooks',
      });
      expect(created.status).toBe(201);
      browser = await launchBrowser();
      page = await browser.newPage();
      await signIn(page, gw.url, SECRETS.ops);
    }, 180_000);
    afterAll(() => closeBrowserAndGateway(browser, gw));

    /** How far each table and the page reach past the main card's right edge (0: inside). */
    const overflow = () =>
      page.evaluate(() => {
        const doc = (globalThis as any).document;
        const main = doc.querySelector('main').getBoundingClientRect();
        const tables = Array.from(doc.querySelectorAll('main table'), (t: any) =>
          Math.max(0, Math.round(t.getBoundingClientRect().right - main.right)),
        );
        return { page: doc.documentElement.scrollWidth - doc.documentElement.clientWidth, tables };
      });
    const open = async (path: string, text: string) => {
      await page.goto(`${gw.url}${path}`);
      await page.locator('main table', { hasText: text }).first().waitFor();
    };

    it('events list: a 200-character topic wraps inside the card', async () => {
      await open('/ui/events', TOPIC.slice(0, 30));
      expect(await overflow()).toEqual({ page: 0, tables: [0] });
      // The status after the topic is on screen, not pushed past the viewport.
      const badge = await page.locator('tbody .badge').first().boundingBox();
      expect(badge!.x + badge!.width).toBeLessThan(1280);
    });

    it('event page: a 200-character webhook id in the headers table wraps inside the card', async () => {
      await open(`/ui/events/${eventId}`, WEBHOOK_ID.slice(0, 30));
      const { page: pageOverflow, tables } = await overflow();
      expect(pageOverflow).toBe(0);
      expect(tables.every((t) => t === 0)).toBe(true);
    });

    it('destinations and audit: a 63-character name stays inside the card', async () => {
      await open('/ui/destinations', DESTINATION.slice(0, 10));
      expect(await overflow()).toEqual({ page: 0, tables: [0] });
      await open('/ui/audit', 'destination.create');
      expect(await overflow()).toEqual({ page: 0, tables: [0] });
    });

    it('on a 700 px screen the navigation wraps and no page is wider than the screen', async () => {
      await page.setViewportSize({ width: 700, height: 800 });
      try {
        for (const [path, text] of [
          ['/ui', 'Last 24 hours'],
          ['/ui/events', TOPIC.slice(0, 30)],
          ['/ui/destinations', DESTINATION.slice(0, 10)],
          ['/ui/audit', 'destination.create'],
        ] as const) {
          await page.goto(`${gw.url}${path}`);
          await page.locator('main', { hasText: text }).waitFor();
          // A wide table may scroll inside its own box; the page itself must not scroll sideways.
          expect((await overflow()).page, path).toBe(0);
          const signOut = await page.getByRole('button', { name: 'Sign out' }).boundingBox();
          expect(signOut!.x + signOut!.width, path).toBeLessThanOrEqual(700);
        }
      } finally {
        await page.setViewportSize({ width: 1280, height: 800 });
      }
    });
  });
