import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import type { TestGateway } from './gateway';

/** Debian's Chromium (apt-get install chromium); playwright-core drives it, no browser download. */
export const CHROMIUM_PATH = '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM_PATH);
export const NO_CHROMIUM_MESSAGE = `browser tests skipped: ${CHROMIUM_PATH} is missing (apt-get install -y chromium)`;

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface TestBrowser {
  context: BrowserContext;
  /** A new tab whose console errors, page errors and failed requests are collected in `problems`. */
  newPage(): Promise<Page>;
  /** Everything that went wrong in any page: script errors, CSP violations, failed requests. */
  problems: string[];
  close(): Promise<void>;
}

/** Real headless Chromium with a fresh profile directory, removed on close. */
export async function launchBrowser(viewport = { width: 1280, height: 800 }): Promise<TestBrowser> {
  const profile = mkdtempSync(join(tmpdir(), 'gw-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ARGS,
    viewport,
  });
  const problems: string[] = [];
  // A CSP violation is also reported as a console error, but only this event names the directive.
  await context.addInitScript({
    content: `document.addEventListener('securitypolicyviolation', (e) =>
      console.error('CSP violation: ' + e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline') + ' ' + e.sample));`,
  });
  const watch = (page: Page) => {
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('requestfailed', (request) => {
      // A request aborted on purpose (the live stream when the page navigates) is not a problem.
      if (request.failure()?.errorText !== 'net::ERR_ABORTED') problems.push(`request failed: ${request.url()}`);
    });
  };
  context.on('page', watch);
  return {
    context,
    problems,
    async newPage() {
      const page = await context.newPage();
      page.setDefaultTimeout(10_000);
      return page;
    },
    async close() {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Chromium and the one tab a UI test drives, each step of which may wait up to 30 s: the pages
 * load slowly while other suites share the two cores.
 */
export async function launchBrowserTab(viewport?: { width: number; height: number }) {
  const browser = await launchBrowser(viewport);
  const page = await browser.newPage();
  page.setDefaultTimeout(30_000);
  return { browser, page };
}

/** A UI test's afterAll: the browser, then the gateway (either is missing when its beforeAll failed before it). */
export async function closeBrowserAndGateway(browser: TestBrowser | undefined, gw: TestGateway | undefined) {
  await browser?.close();
  await gw?.stop();
}

/**
 * Where a screenshot named `name` goes: docs/screenshots/<name>.png with UPDATE_SCREENSHOTS=1 (npm
 * run screenshots; shown in docs/operating.md) when `forDocs`, else `<dir>/<name>.png` when the
 * test's own directory variable is set, else nowhere (undefined: no screenshot taken).
 */
export function screenshotPath(name: string, dir: string | undefined, forDocs = true): string | undefined {
  if (forDocs && process.env.UPDATE_SCREENSHOTS)
    return fileURLToPath(new URL(`../../docs/screenshots/${name}.png`, import.meta.url));
  return dir ? join(dir, `${name}.png`) : undefined;
}

/** Signs a page in to the UI at `baseUrl` with `token` (after forgetting any earlier session) and waits for the dashboard. */
export async function signIn(page: Page, baseUrl: string, token: string): Promise<void> {
  await page.goto(`${baseUrl}/ui`);
  await page.evaluate('sessionStorage.clear()');
  await page.reload();
  await page.getByLabel('Ops API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
}
