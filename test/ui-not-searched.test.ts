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
import { SECRETS, startTestGateway, type TestGateway } from './helpers/gateway';
import { maskedIdentitySources } from './helpers/masked-sources';
import { post } from './helpers/signers';

if (!hasChromium) console.warn(NO_CHROMIUM_MESSAGE);

const API_KEY = 'api-key-for-ui-not-searched';
const KIND = 'kind-ui-7d21';

// The events page in headless Chromium, as a viewer filtering by topic across sources: the source
// that reads its topic from a masked path is left out (docs/security.md), and the page says so.
describe.skipIf(!hasChromium)('the events page names the sources a topic filter did not search', () => {
  let gw: TestGateway;
  let browser: TestBrowser;
  let page: Page;
  let viewer: string;

  beforeAll(async () => {
    // `keyed` reads its topic from a masked path; `open` reads it from the same path, unmasked.
    const sources = maskedIdentitySources(API_KEY, { keyed: ['meta.kind'], open: [] });
    gw = await startTestGateway('pglite', { sources }, { role: 'web' });
    for (const [source, ref] of [
      ['keyed', 'k-1'],
      ['open', 'o-1'],
    ]) {
      const body = JSON.stringify({ order: { ref }, meta: { kind: KIND } });
      const sent = await post(`${gw.url}/api/webhooks/${source}`, body, {
        'x-api-key': API_KEY,
        'content-type': 'application/json',
      });
      expect(sent.status).toBe(200);
    }
    const made = await post(`${gw.url}/api/tokens`, JSON.stringify({ name: 'ui-viewer', role: 'viewer' }), {
      authorization: `Bearer ${SECRETS.ops}`,
      'content-type': 'application/json',
    });
    expect(made.status).toBe(201);
    viewer = made.json.token as string;
    ({ browser, page } = await launchBrowserTab());
  }, 300_000);
  afterAll(() => closeBrowserAndGateway(browser, gw));

  it('a viewer filtering by topic sees the open source’s event and a note naming the masked one', async () => {
    await signIn(page, gw.url, viewer);
    await page.goto(`${gw.url}/ui/events?topic=${KIND}`);
    const rows = page.getByRole('table').getByRole('row');
    await rows.filter({ hasText: 'open' }).waitFor();
    expect(await rows.count()).toBe(2); // the header and the open source's event
    const note = page.getByRole('note');
    await expect.poll(() => note.textContent()).toMatch(/^Not searched: keyed — it reads the filtered topic/);
    // Without a topic filter nothing is left out, and nothing is said.
    await page.goto(`${gw.url}/ui/events?status=received`);
    await rows.filter({ hasText: 'keyed' }).waitFor();
    expect(await page.getByRole('note').count()).toBe(0);
  });
});
