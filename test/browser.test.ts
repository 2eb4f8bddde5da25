import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrowserContext, createBrowserContext } from './browser.ts';
import { member } from './ledger-helpers.ts';

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

describe('console: the tier ladder', () => {
  it('edits a threshold, previews how members would spread, and saves', async () => {
    const ok = async (res: { statusCode: number; body: string }) =>
      expect(res.statusCode, res.body).toBeLessThan(300);
    await ok(
      await b.call({
        method: 'PUT',
        url: '/v1/programs/hotel/tiers',
        payload: {
          basis: 'growth',
          evaluation: 'immediate',
          tiers: [
            { code: 'member', name: '会员', threshold: 0 },
            {
              code: 'gold',
              name: '金卡',
              threshold: 500,
              benefits: [{ code: 'earn', name: '1.5 倍积分', kind: 'multiplier', value: 1.5 }],
            },
          ],
        },
      }),
    );
    for (const [i, value] of [100, 300, 600].entries()) {
      const m = await member(b, 'hotel', `1390000000${i}`);
      await ok(
        await b.call({
          method: 'POST',
          url: `/v1/programs/hotel/members/${m}/growth`,
          payload: { source: 'spend', value, reference: `g-${i}` },
        }),
      );
    }
    const page = await b.page();
    await signIn(page, b.adminKey);
    await page.goto(`${b.base}/console/p/hotel/tiers`);
    const gold = page.getByTestId('tier-threshold-1');
    await expect.poll(() => gold.inputValue()).toBe('500');
    await gold.fill('200');
    await page.getByTestId('tiers-preview').click();
    const counts = page.getByTestId('tier-members');
    await expect.poll(() => counts.allTextContents()).toEqual(['1', '2']);
    await b.shot(page, 'tiers-zh-CN');
    await page.getByTestId('tiers-save').click();
    await page.locator('.ant-modal-confirm .ant-btn-primary').click();
    await expect
      .poll(async () => (await b.call({ method: 'GET', url: '/v1/programs/hotel/tiers' })).json())
      .toMatchObject({ tiers: [{ threshold: 0 }, { threshold: 200 }] });
    await page.close();
    expect(b.problems).toEqual([]);
  });
});
