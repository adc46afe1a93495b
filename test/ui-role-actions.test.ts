import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  closeBrowserAndGateway,
  hasChromium,
  launchBrowser,
  NO_CHROMIUM_MESSAGE,
  signIn,
  type TestBrowser,
} from './helpers/browser';
import { databaseKinds } from './helpers/database';
import { opsCall, SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { post, shopifyHeaders } from './helpers/signers';

if (!hasChromium) console.warn(NO_CHROMIUM_MESSAGE);

// A viewer reads: the event page, the bulk replay and the Tokens page must not offer it a button
// the gateway refuses (403) — they say which role the action needs instead, as the Sources,
// Destinations and Alerts pages do. An operator still replays; only an admin manages tokens.
for (const kind of databaseKinds())
  describe.skipIf(!hasChromium)(`actions offered by role in Chromium (${kind})`, () => {
    let gw: TestGateway;
    let browser: TestBrowser;
    let page: Page;
    let eventId: number;
    const tokens: Record<string, string> = {};
    const refused: string[] = [];

    beforeAll(async () => {
      gw = await startTestGateway(kind);
      const body = '{"id":1}';
      eventId = (await post(`${gw.url}/api/webhooks/shopify`, body, shopifyHeaders(SECRETS.shopify, body, 'role-1')))
        .json.id;
      for (const role of ['viewer', 'operator']) {
        const created = await opsCall(gw, 'POST', '/api/tokens', { name: `${role}-ui`, role });
        expect(created.status).toBe(201);
        tokens[role] = created.json.token;
      }
      await waitFor(
        async () => (await opsCall(gw, 'GET', `/api/events/${eventId}`)).json.status === 'completed',
        20_000,
        'the event processed',
      );
      browser = await launchBrowser();
      page = await browser.newPage();
      page.on('response', (r) => {
        if (r.status() === 403) refused.push(`${r.request().method()} ${new URL(r.url()).pathname}`);
      });
    }, 180_000);
    afterAll(() => closeBrowserAndGateway(browser, gw));

    const open = async (path: string, waitForText: string) => {
      await page.goto(`${gw.url}${path}`);
      await page.locator('main', { hasText: waitForText }).waitFor();
    };

    it('a viewer is told replaying needs an operator, and offered no Replay button', async () => {
      await signIn(page, gw.url, tokens.viewer!);
      await open(`/ui/events/${eventId}`, 'has the viewer role');
      expect(await page.getByRole('button', { name: 'Replay event' }).count()).toBe(0);
      expect(await page.locator('main').textContent()).toContain(
        'Replaying and skipping need the operator or admin role; your token has the viewer role.',
      );

      await open('/ui/events?status=completed', 'newest first');
      await page.getByText('Replay all events matching these filters').click();
      await page.getByText('Replaying needs the operator or admin role; your token has the viewer role.').waitFor();
      expect(await page.getByRole('button', { name: 'Count matching events' }).count()).toBe(0);
    });

    it('a viewer is told tokens need an admin, with no form and no refused list', async () => {
      await open(
        '/ui/tokens',
        'Listing, creating and revoking tokens needs the admin role; your token has the viewer role.',
      );
      expect(await page.getByRole('button', { name: 'Create token' }).count()).toBe(0);
      expect(await page.locator('main [role=alert]').count()).toBe(0);
      // The page checks the role first: it does not even ask for the token list.
      expect(refused).toEqual([]);
    });

    it('an operator still replays, and an admin still creates tokens', async () => {
      await signIn(page, gw.url, tokens.operator!);
      await open(`/ui/events/${eventId}`, 'Payload');
      await page.getByRole('button', { name: 'Replay event' }).click();
      await page.getByText('Replayed: the event is due now.').waitFor();

      await signIn(page, gw.url, SECRETS.ops);
      await open('/ui/tokens', 'operator-ui');
      await page.getByRole('button', { name: 'Create token' }).waitFor();
    });
  });
