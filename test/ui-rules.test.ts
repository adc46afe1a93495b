import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
import { runCli } from './helpers/cli';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { startReceiver } from './helpers/receiver';
import { post, shopifyHeaders } from './helpers/signers';

if (!hasChromium) console.warn(NO_CHROMIUM_MESSAGE);

// The rule builder in headless Chromium against the real gateway: a rule built in the page (topic,
// a condition, a transformation where the gateway has them) previews live as filtered or matched,
// saves with If-Match, reads back identically from the API and from `apply -f` ("No changes"), and
// decides which signed webhooks reach a real local receiver.

// With UPDATE_SCREENSHOTS (npm run screenshots) the pictures go to docs/screenshots; RULES_SCREENSHOT_DIR
// keeps them elsewhere to look at; else a temporary folder.
const SHOTS = process.env.UPDATE_SCREENSHOTS
  ? fileURLToPath(new URL('../docs/screenshots/', import.meta.url))
  : (process.env.RULES_SCREENSHOT_DIR ?? mkdtempSync(join(tmpdir(), 'ui-rules-')));
const SHOP_SECRET = `shop-${randomBytes(12).toString('hex')}`;
const DEST_SECRET = `whsec_${randomBytes(24).toString('base64')}`;
const auth = { authorization: `Bearer ${SECRETS.ops}`, 'content-type': 'application/json' };
const RULE = { topic: 'orders/*', body: { total: { $gt: 100 } } };
const TRANSFORM = { language: 'jsonata', code: '{"order": body.id, "amount": body.total}' };
// The preview is debounced and a transformation's first run starts its worker thread: allow time.
const soon = <T>(read: () => Promise<T>) => expect.poll(read, { timeout: 10_000, interval: 100 });

describe.skipIf(!hasChromium)('the rule builder in Chromium', () => {
  let gw: TestGateway;
  let browser: TestBrowser;
  let page: Page;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let dir: string;
  let n = 0;
  const api = async (path: string, init: { method?: string; body?: unknown; headers?: object } = {}) => {
    const res = await fetch(`${gw.url}${path}`, {
      method: init.method ?? 'GET',
      headers: { ...auth, ...init.headers },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    return { status: res.status, json: (await res.json()) as any };
  };
  const send = async (total: number, query = '') => {
    const body = JSON.stringify({ id: ++n, total });
    const res = await post(
      `${gw.url}/api/webhooks/shop${query}`,
      body,
      shopifyHeaders(SHOP_SECRET, body, `rule-${n}-${Date.now()}`),
    );
    expect(res.status).toBe(200);
    const id = res.json.id as number;
    await waitFor(async () => (await api(`/api/events/${id}`)).json.status === 'completed', 10_000, `event ${id}`);
    return id;
  };
  const gitopsFile = (filter?: unknown, transform?: unknown) => {
    const file = join(dir, 'gateway.yaml');
    const lines = [
      'sources:',
      '  - name: shop',
      '    provider: shopify',
      `    secrets: [${SHOP_SECRET}]`,
      'destinations:',
      '  - name: erp',
      `    url: ${receiver.url}`,
      `    secret: ${DEST_SECRET}`,
      '    sources: [shop]',
      ...(filter === undefined ? [] : [`    filter: ${JSON.stringify(filter)}`]),
      ...(transform === undefined ? [] : [`    transform: ${JSON.stringify(transform)}`]),
    ];
    writeFileSync(file, `${lines.join('\n')}\n`);
    return file;
  };
  const apply = (file: string, ...flags: string[]) =>
    runCli(['apply', '-f', file, ...flags, '--url', gw.url, '--token', SECRETS.ops], {}, 60_000);
  const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  const verdict = () => page.locator('#preview-verdict').textContent();

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    dir = mkdtempSync(join(tmpdir(), 'ui-rules-gitops-'));
    receiver = await startReceiver();
    gw = await startTestGateway('pglite', {
      control: { keyring: loadKeyring({ key: randomBytes(32).toString('base64') }), refreshMs: 60_000 },
    });
    const applied = await apply(gitopsFile());
    expect(applied.code, applied.stderr).toBe(0);
    ({ browser, page } = await launchBrowserTab({ width: 1400, height: 900 }));
    await signIn(page, gw.url, SECRETS.ops);
  }, 300_000);
  afterAll(async () => {
    await closeBrowserAndGateway(browser, gw);
    await receiver?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('builds a rule with live preview, saves it, and only matching signed webhooks reach the receiver', async () => {
    const small = await send(50); // delivered (no rule yet); the preview's recent event
    await page.goto(`${gw.url}/ui/destinations`);
    await page.getByRole('link', { name: 'erp', exact: true }).click();
    await page.getByRole('heading', { name: 'Rule of erp' }).waitFor();
    const supportsTransform = 'transform' in (await api('/api/destinations/erp')).json;

    await page.getByLabel('Topic', { exact: true }).fill('orders/*');
    await page.getByRole('button', { name: 'Add condition' }).click();
    await page.getByLabel('Condition 1: JSON path, e.g. customer.tier').fill('total');
    await page.getByLabel('Condition 1: operator').selectOption('$gt');
    await page.getByLabel('Condition 1: value').fill('100');
    // The recent event (total 50) is previewed against the unsaved rule: filtered.
    await soon(() => page.getByLabel('Event', { exact: true }).inputValue()).toBe(String(small));
    await soon(verdict).toContain('filtered');
    await shot('rule-builder');

    await page.getByLabel('A pasted payload').check();
    await page.getByLabel('Payload (JSON)').fill('{"id": 7, "total": 150}');
    await soon(verdict).toContain('matched');
    await soon(() => page.locator('#preview-body').textContent()).toContain('"data":{"id":7,"total":150}');
    await soon(() => page.locator('.preview-headers').textContent()).toMatch(/webhook-signature\s*v1,/);

    if (supportsTransform) {
      await page.getByLabel('Transform').selectOption('jsonata');
      await page.getByLabel('JSONata expression').fill('{"order": body.id, "amount": body.total}');
      await soon(() => page.locator('#preview-body').textContent()).toBe('{"order":7,"amount":150}');
      await page.getByLabel('JSONata expression').fill('{"order": body.id');
      await soon(verdict).toContain('transformation failed');
      await page.getByLabel('JSONata expression').fill('{"order": body.id, "amount": body.total}');
      await soon(verdict).toContain('matched');
    }
    await shot('rule-builder-preview');

    await page.getByRole('button', { name: 'Save rule' }).click();
    await page.getByText('Saved. The rule applies').waitFor();
    const saved = (await api('/api/destinations/erp')).json;
    expect(saved.filter).toEqual(RULE);
    if (supportsTransform) expect(saved.transform).toEqual(TRANSFORM);
    await page.getByRole('tab', { name: 'JSON' }).click();
    expect(JSON.parse(await page.getByLabel('Filter (JSON; empty for every event)').inputValue())).toEqual(RULE);

    // The same rule in the file is what the database holds: apply plans nothing.
    const plan = await apply(gitopsFile(RULE, supportsTransform ? TRANSFORM : undefined), '--dry-run');
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toContain('No changes: the destinations match the file.');

    // Signed webhooks through the gateway: only the one the rule matches is posted.
    const before = receiver.deliveries.length;
    const low = await send(60);
    const high = await send(150);
    await waitFor(
      () => receiver.deliveries.find((d) => d.headers['webhook-id'] === `evt_${high}`),
      10_000,
      'the match',
    );
    const delivered = receiver.deliveries.slice(before);
    expect(delivered.map((d) => d.headers['webhook-id'])).toEqual([`evt_${high}`]);
    if (supportsTransform) expect(delivered[0]!.bytes.toString()).toBe(`{"order":${n},"amount":150}`);
    expect((await api(`/api/events/${low}`)).json.deliveries).toEqual([
      expect.objectContaining({ destination: 'erp', outcome: 'ignored', error: 'filtered' }),
    ]);

    // The event page shows where an event arrived, without the credential-like parameter.
    const withQuery = await send(170, '?region=eu&access_token=hidden-123');
    await page.goto(`${gw.url}/ui/events/${withQuery}`);
    await page.getByRole('heading', { name: `Event #${withQuery}` }).waitFor();
    const summary = page.locator('dl.summary');
    await soon(() => summary.textContent()).toContain('Received at/api/webhooks/shop?region=eu');
    expect(await summary.textContent()).not.toContain('hidden-123');
  }, 180_000);

  it('a filter the builder cannot express opens as JSON and is saved back unchanged; a stale save says reload', async () => {
    const odd = { $not: { body: { test: true } }, topic: 'orders/*' };
    expect((await api('/api/destinations/erp', { method: 'PATCH', body: { filter: odd } })).status).toBe(200);
    await page.goto(`${gw.url}/ui/destinations/erp`);
    await page.getByText('The builder cannot show this filter without changing it: edit it as JSON.').waitFor();
    expect(JSON.parse(await page.getByLabel('Filter (JSON; empty for every event)').inputValue())).toEqual(odd);
    await page.getByRole('tab', { name: 'Builder' }).click();
    await page.getByText('edit it as JSON').waitFor();
    await page.getByRole('button', { name: 'Save rule' }).click();
    await page.getByText('Saved. The rule applies').waitFor();
    expect((await api('/api/destinations/erp')).json.filter).toEqual(odd);

    // Changed elsewhere after the page read it: the save is refused (412), nothing is overwritten.
    expect((await api('/api/destinations/erp', { method: 'PATCH', body: { filter: RULE } })).status).toBe(200);
    await page.getByLabel('Filter (JSON; empty for every event)').fill('{"topic": "refunds/*"}');
    await page.getByRole('button', { name: 'Save rule' }).click();
    await page.getByText('This destination was changed elsewhere since you opened it').waitFor();
    await shot('rule-builder-stale');
    expect((await api('/api/destinations/erp')).json.filter).toEqual(RULE);
    await page.getByRole('button', { name: 'Reload' }).click();
    await page.getByLabel('Condition 1: value').waitFor();
    expect(await page.getByLabel('Condition 1: value').inputValue()).toBe('100');
    // The refused save is the only failed request (Chromium logs every non-2xx answer).
    expect(browser.problems.filter((p) => !p.includes('412 (Precondition Failed)'))).toEqual([]);
  }, 120_000);

  it('an operator tries a change in the preview but cannot save it', async () => {
    const created = await api('/api/tokens', { method: 'POST', body: { name: 'rule-tryer', role: 'operator' } });
    expect(created.status).toBe(201);
    const operator = await browser.newPage();
    await signIn(operator, gw.url, created.json.token);
    await operator.goto(`${gw.url}/ui/destinations/erp`);
    await operator.getByText('Saving needs the admin role; your token has the operator role.').waitFor();
    expect(await operator.getByRole('button', { name: 'Save rule' }).count()).toBe(0);
    await operator.getByLabel('A pasted payload').check();
    await operator.getByLabel('Payload (JSON)').fill('{"id": 8, "total": 150}');
    const verdict = () => operator.locator('#preview-verdict').textContent();
    await soon(verdict).toContain('matched');
    await operator.getByLabel('Condition 1: value').fill('1000');
    await soon(verdict).toContain('filtered');
    expect((await api('/api/destinations/erp')).json.filter).toEqual(RULE);
    await operator.close();
  }, 60_000);

  it('a viewer reads the rule: nothing to edit or save, no preview', async () => {
    const created = await api('/api/tokens', { method: 'POST', body: { name: 'rule-reader', role: 'viewer' } });
    expect(created.status).toBe(201);
    const viewer = await browser.newPage();
    await signIn(viewer, gw.url, created.json.token);
    await viewer.goto(`${gw.url}/ui/destinations/erp`);
    await viewer
      .getByText('Read-only. Changing a rule needs the admin role; your token has the viewer role.')
      .waitFor();
    expect(await viewer.getByLabel('Condition 1: value').isDisabled()).toBe(true);
    expect(await viewer.getByLabel('Topic', { exact: true }).isDisabled()).toBe(true);
    expect(await viewer.getByRole('button', { name: 'Save rule' }).count()).toBe(0);
    expect(await viewer.getByRole('button', { name: 'Add condition' }).count()).toBe(0);
    await viewer
      .getByText('The live preview needs the operator or admin role; your token has the viewer role.')
      .waitFor();
    await viewer.close();
  }, 60_000);
});
