import fs from 'node:fs/promises';
import path from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { createTestApp, type TestContext } from './harness.ts';

/** Where the browser tests leave a screenshot of each page they visit, for a person to look at. */
export const SCREENSHOTS = path.join(import.meta.dirname, 'screenshots');

/**
 * The Chromium the `@sparticuz/chromium` package ships (unpacked on first use), so that a fresh
 * machine needs nothing else; CHROMIUM_PATH names another one.
 */
async function launch(): Promise<Browser> {
  const given = process.env.CHROMIUM_PATH;
  if (given) return chromium.launch({ executablePath: given, headless: true });
  const { default: packaged } = await import('@sparticuz/chromium');
  return chromium.launch({
    executablePath: await packaged.executablePath(),
    args: packaged.args,
    headless: true,
  });
}

export interface BrowserContext extends TestContext {
  /** The server's address, e.g. http://127.0.0.1:43123. */
  base: string;
  browser: Browser;
  /**
   * A new page, 1280 wide (or `width`), in `lang`. What goes wrong in it (a console error, an
   * uncaught exception, a request that fails or answers 5xx) is collected in `problems`.
   */
  page(options?: { width?: number; lang?: 'zh-CN' | 'en' }): Promise<Page>;
  problems: string[];
  /** Saves a full-page screenshot as test/screenshots/<name>.png. */
  shot(page: Page, name: string): Promise<void>;
}

/** The real server on its test database, listening, and a real browser. */
export async function createBrowserContext(): Promise<BrowserContext> {
  const t = await createTestApp();
  const base = await t.app.listen({ port: 0, host: '127.0.0.1' });
  const browser = await launch();
  await fs.mkdir(SCREENSHOTS, { recursive: true });
  const problems: string[] = [];
  return {
    ...t,
    base,
    browser,
    problems,
    async page({ width = 1280, lang = 'zh-CN' } = {}) {
      const context = await browser.newContext({
        viewport: { width, height: width < 600 ? 812 : 860 },
        deviceScaleFactor: width < 600 ? 2 : 1,
        locale: lang,
      });
      // The apps keep the chosen language in localStorage: start each tab in the one asked for,
      // once (a reload keeps what the user chose since).
      await context.addInitScript(`if (!sessionStorage.getItem('tessera.test')) {
        sessionStorage.setItem('tessera.test', '1');
        localStorage.setItem('tessera.lang', ${JSON.stringify(lang)});
      }`);
      const page = await context.newPage();
      page.on('console', (m) => {
        // Chromium logs every 4xx answer as an error; a refused request is what some tests expect
        // (an unknown key, a tampered link), and a 5xx is caught below.
        const refused = /^Failed to load resource: the server responded with a status of 4\d\d/;
        if (m.type() === 'error' && !refused.test(m.text())) problems.push(`console: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      page.on('requestfailed', (r) => {
        // A load the page itself abandoned (it navigated on) is not a failure.
        const error = r.failure()?.errorText;
        if (error !== 'net::ERR_ABORTED')
          problems.push(`request failed: ${r.method()} ${r.url()} ${error}`);
      });
      page.on('response', (r) => {
        if (r.status() >= 500) problems.push(`${r.status()}: ${r.request().method()} ${r.url()}`);
      });
      return page;
    },
    async shot(page, name) {
      await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
    },
    async close() {
      await browser.close();
      await t.close();
    },
  };
}
