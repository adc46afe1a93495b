import type { Page } from 'playwright-core';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  closeBrowserAndGateway,
  hasChromium,
  launchBrowserTab,
  NO_CHROMIUM_MESSAGE,
  screenshotPath,
  signIn,
  type TestBrowser,
} from './helpers/browser';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { startReceiver } from './helpers/receiver';
import { post, shopifyHeaders } from './helpers/signers';

if (!hasChromium) console.warn(NO_CHROMIUM_MESSAGE);

/** A directory for this test's screenshots, to look at (npm run screenshots writes alerts.png into docs/screenshots). */
const SHOTS = process.env.ALERTS_SCREENSHOT_DIR;

// The Alerts page in headless Chromium against a real gateway: a channel and a rule created in
// the UI make a real alert reach a local receiver, signed with the secret the page showed once;
// editing the rule resolves it; secrets are never shown again; deletes are refused while in use.
describe.skipIf(!hasChromium)('Alerts page in Chromium: rules and channels edited in the UI', () => {
  let gw: TestGateway;
  let browser: TestBrowser;
  let page: Page;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let secret = '';

  // alerts.png is the docs' (npm run screenshots); the secret dialog only for ALERTS_SCREENSHOT_DIR.
  const shot = async (name: string) => {
    const path = screenshotPath(name, SHOTS, name === 'alerts');
    if (path) await page.screenshot({ path, fullPage: true });
  };
  const badSignature = async (i: number) => {
    const body = JSON.stringify({ id: i });
    const headers = shopifyHeaders('a-rotated-secret-not-deployed', body, `ui-alert-${i}`);
    expect((await post(`${gw.url}/api/webhooks/shopify/orders/create`, body, headers)).status).toBe(401);
  };
  const notices = () =>
    receiver.deliveries.map(
      (d) => new Webhook(secret).verify(d.bytes.toString('utf8'), d.headers as Record<string, string>) as any,
    );
  const ruleRow = () => page.locator('tr[data-rule="shopify-signatures"]');
  const channelRow = () => page.locator('tr[data-channel="ops-hook"]');

  beforeAll(async () => {
    receiver = await startReceiver();
    gw = await startTestGateway('pglite', {
      rejectedRequests: { perMinute: 20, bufferSize: 1000, flushIntervalMs: 100, retentionDays: 7 },
      alerts: { evaluateEveryMs: 300, channels: [], rules: [] },
    });
    ({ browser, page } = await launchBrowserTab());
    await signIn(page, gw.url, SECRETS.ops);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Alerts' }).click();
    await page.getByRole('heading', { name: 'Alerts', level: 1 }).waitFor();
  }, 300_000);
  afterAll(async () => {
    await closeBrowserAndGateway(browser, gw);
    await receiver?.close();
  });

  it('a new webhook channel gets a signing secret shown once, then only its fingerprint', async () => {
    const form = page.getByRole('form', { name: 'New channel' });
    await form.getByLabel('Channel name').fill('Ops Hook');
    await form.getByLabel('URL').fill(receiver.url);
    await form.getByRole('button', { name: 'Create channel' }).click();
    await expect.poll(() => page.locator('#field-channel-name-error').textContent()).toMatch(/lower-case/);
    await form.getByLabel('Channel name').fill('ops-hook');
    await form.getByRole('button', { name: 'Create channel' }).click();

    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    secret = await dialog.getByLabel('Secret', { exact: true }).inputValue();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    await shot('alerts-channel-secret');
    await dialog.getByLabel('I have stored this secret').check();
    await dialog.getByRole('button', { name: 'Done' }).click();
    await dialog.waitFor({ state: 'hidden' });

    await expect.poll(() => channelRow().textContent()).toContain('webhook');
    expect(await page.content()).not.toContain(secret);
  }, 60_000);

  it('a rule made in the form opens an alert whose notice is signed with that secret', async () => {
    const form = page.getByRole('form', { name: 'New rule' });
    await form.getByLabel('Rule name').fill('shopify-signatures');
    await form.getByLabel('Kind').selectOption('signature_failures');
    await form.getByLabel('Source (empty: any)').fill('shopify');
    await form.getByLabel('At least this many').fill('0');
    await form.getByRole('button', { name: 'Create rule' }).click();
    await expect.poll(() => page.locator('#field-param-count-error').textContent()).toMatch(/whole number/);
    await form.getByLabel('At least this many').fill('2');
    await form.getByLabel('ops-hook').check();
    await form.getByRole('button', { name: 'Create rule' }).click();
    await expect.poll(() => ruleRow().textContent()).toContain('count=2');
    expect(await ruleRow().textContent()).toContain('ops-hook');

    await badSignature(1);
    await badSignature(2);
    await waitFor(() => receiver.deliveries.length >= 1, 30_000, 'the alert notice');
    expect(notices()[0]).toMatchObject({
      type: 'alert.opened',
      data: { rule: 'shopify-signatures', condition: 'shopify' },
    });
    await page.reload();
    await expect
      .poll(() => page.locator('table', { hasText: 'Open and resolved alerts' }).textContent())
      .toContain('open');
    await shot('alerts');
  }, 90_000);

  it('editing the rule (disabled here) resolves the alert with one resolve notice', async () => {
    await ruleRow().getByRole('button', { name: 'Edit shopify-signatures' }).click();
    const form = page.getByRole('form', { name: 'Edit rule shopify-signatures' });
    expect(await form.getByLabel('At least this many').inputValue()).toBe('2');
    await form.getByLabel('Enabled').uncheck();
    await form.getByRole('button', { name: 'Save rule' }).click();
    await page.getByRole('form', { name: 'New rule' }).waitFor();
    await expect.poll(() => ruleRow().locator('td').nth(4).textContent()).toBe('no');
    await waitFor(() => receiver.deliveries.length >= 2, 30_000, 'the resolve notice');
    expect(notices().map((n) => n.type)).toEqual(['alert.opened', 'alert.resolved']);
  }, 60_000);

  it('a channel edit keeps a left-out secret, and a typed one changes the fingerprint', async () => {
    const before = await channelRow().locator('td').nth(3).textContent();
    await channelRow().getByRole('button', { name: 'Edit ops-hook' }).click();
    const form = page.getByRole('form', { name: 'Edit channel ops-hook' });
    await form.getByRole('button', { name: 'Save channel' }).click();
    await page.getByRole('form', { name: 'New channel' }).waitFor();
    expect(await channelRow().locator('td').nth(3).textContent()).toBe(before);

    await channelRow().getByRole('button', { name: 'Edit ops-hook' }).click();
    const next = `whsec_${Buffer.from('a-secret-typed-into-the-form-01').toString('base64')}`;
    await page.getByRole('form', { name: 'Edit channel ops-hook' }).getByLabel('Signing secret').fill(next);
    await page
      .getByRole('form', { name: 'Edit channel ops-hook' })
      .getByRole('button', { name: 'Save channel' })
      .click();
    await expect.poll(() => channelRow().locator('td').nth(3).textContent()).not.toBe(before);
    expect(await page.content()).not.toContain(next);
  }, 60_000);

  it('a rule changed elsewhere after the page read it: the save is refused and says so, nothing overwritten', async () => {
    await ruleRow().getByRole('button', { name: 'Edit shopify-signatures' }).click();
    const form = page.getByRole('form', { name: 'Edit rule shopify-signatures' });
    await form.getByLabel('At least this many').fill('5');
    // Another admin (or apply -f) saves the rule while this form is open.
    const auth = { authorization: `Bearer ${SECRETS.ops}`, 'content-type': 'application/json' };
    const { rules } = (await (await fetch(`${gw.url}/api/alerts/rules`, { headers: auth })).json()) as any;
    const { id } = rules.find((r: { name: string }) => r.name === 'shopify-signatures');
    const theirs = await fetch(`${gw.url}/api/alerts/rules/${id}`, {
      method: 'PUT',
      headers: auth,
      body: JSON.stringify({
        name: 'shopify-signatures',
        kind: 'signature_failures',
        params: { source: 'shopify', count: 3 },
        channels: ['ops-hook'],
        enabled: false,
      }),
    });
    expect(theirs.status).toBe(200);

    await form.getByRole('button', { name: 'Save rule' }).click();
    await expect.poll(() => form.textContent()).toContain('This rule was changed elsewhere since the page read it');
    await expect.poll(() => ruleRow().textContent()).toContain('count=3');
    const stored = (await (await fetch(`${gw.url}/api/alerts/rules/${id}`, { headers: auth })).json()) as any;
    expect(stored.params.count).toBe(3);

    // Edit starts again from their change, and that save goes through.
    await ruleRow().getByRole('button', { name: 'Edit shopify-signatures' }).click();
    const again = page.getByRole('form', { name: 'Edit rule shopify-signatures' });
    expect(await again.getByLabel('At least this many').inputValue()).toBe('3');
    await again.getByLabel('At least this many').fill('4');
    await again.getByRole('button', { name: 'Save rule' }).click();
    await page.getByRole('form', { name: 'New rule' }).waitFor();
    await expect.poll(() => ruleRow().textContent()).toContain('count=4');
  }, 60_000);

  it('a channel in use cannot be deleted; the rule, then the channel can', async () => {
    page.on('dialog', (d) => void d.accept());
    await channelRow().getByRole('button', { name: 'Delete ops-hook' }).click();
    await expect
      .poll(() => page.locator('.message.error, [role=alert]').first().textContent())
      .toContain('shopify-signatures');
    await ruleRow().getByRole('button', { name: 'Delete shopify-signatures' }).click();
    await ruleRow().waitFor({ state: 'detached' });
    await channelRow().getByRole('button', { name: 'Delete ops-hook' }).click();
    await channelRow().waitFor({ state: 'detached' });
    const audit = (
      await gw.query<{ action: string }>(`select action from audit_log where action like 'alert_%' order by id`)
    ).map((r) => r.action);
    expect(audit).toEqual(
      expect.arrayContaining([
        'alert_channel.create',
        'alert_rule.create',
        'alert_rule.update',
        'alert_rule.delete',
        'alert_channel.delete',
      ]),
    );
    // The refused requests: the deletes of a channel in use (409) and the stale save (412).
    expect(browser.problems.filter((p) => !p.includes('409') && !p.includes('412 (Precondition Failed)'))).toEqual([]);
  }, 60_000);

  it('a viewer sees rules and channels without the forms or the Edit and Delete buttons', async () => {
    const auth = { authorization: `Bearer ${SECRETS.ops}`, 'content-type': 'application/json' };
    const post = (path: string, body: unknown) =>
      fetch(`${gw.url}${path}`, { method: 'POST', headers: auth, body: JSON.stringify(body) }).then((r) => r.json());
    await post('/api/alerts/rules', { name: 'backlog', kind: 'backlog_age' });
    const { token } = (await post('/api/tokens', { name: 'alerts-viewer', role: 'viewer' })) as { token: string };
    await signIn(page, gw.url, token);
    await page.goto(`${gw.url}/ui/alerts`);
    await page.getByText('Changing rules and channels needs the admin role; your token has the viewer role.').waitFor();
    await expect.poll(() => page.locator('tr[data-rule="backlog"]').textContent()).toContain('backlog_age');
    expect(await page.getByRole('form').count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Edit backlog' }).count()).toBe(0);
  }, 60_000);
});
