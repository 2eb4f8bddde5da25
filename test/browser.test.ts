import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrowserContext, createBrowserContext } from './browser.ts';

// The console and the portal in a real Chromium against the real server: what an operator and a
// member do, in both languages, with a screenshot of each page under test/screenshots/.

let b: BrowserContext;
beforeAll(async () => {
  b = await createBrowserContext();
  await b.program('hotel');
}, 60_000);
afterAll(() => b?.close());

async function signIn(page: Page, key: string) {
  await page.goto(`${b.base}/console/`);
  await page.getByTestId('api-key').fill(key);
  await page.locator('button[type=submit]').click();
}

describe('console: sign-in and languages', () => {
  it('refuses an unknown key, then signs in with the coalition key and switches language', async () => {
    const page = await b.page();
    await signIn(page, 'tsk_unknownunknownunknownunknown');
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('密钥无效');
    await b.shot(page, 'sign-in-zh-CN');

    await page.getByTestId('api-key').fill(b.adminKey);
    await page.locator('button[type=submit]').click();
    await page.waitForURL(/\/console\/programs$/);
    await expect.poll(() => page.locator('.topbar').textContent()).toContain('联盟管理员');

    await page.getByTestId('language').getByText('EN').click();
    await expect.poll(() => page.locator('.topbar').textContent()).toContain('Coalition admin');
    // Ant Design's own texts follow: its components' labels are English now.
    await page.reload();
    await expect.poll(() => page.locator('.topbar').textContent()).toContain('Coalition admin');
    await page.close();
    expect(b.problems).toEqual([]);
  });
});
