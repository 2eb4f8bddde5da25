import type { Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type BrowserContext, createBrowserContext } from './browser.ts';
import { adjust, member } from './ledger-helpers.ts';

// The console and the portal in a real Chromium against the real server: what an operator and a
// member do, in both languages, with a screenshot of each page under test/screenshots/.

let b: BrowserContext;
beforeAll(async () => {
  b = await createBrowserContext();
  // The browser's clock is the real one: so is the server's, so that today's figures are today's.
  b.clock.set(new Date().toISOString());
  await b.program('hotel');
}, 60_000);
afterAll(() => b?.close());
// Each test answers for what went wrong in its own pages.
beforeEach(() => {
  b.problems.length = 0;
});

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

describe('member portal', () => {
  it('opens the member card from a signed link, in both languages; a tampered link is refused', async () => {
    const m = await member(b, 'hotel', '13900000009');
    await adjust(b, 'hotel', m, 1_280, 'welcome');
    await b.call({
      method: 'POST',
      url: `/v1/programs/hotel/members/${m}/growth`,
      payload: { source: 'spend', value: 700, reference: 'portal-growth' },
    });
    const res = await b.call({
      method: 'POST',
      url: `/v1/programs/hotel/members/${m}/portal-links`,
      payload: {},
      key: await b.key('hotel', 'integration'),
    });
    expect(res.statusCode, res.body).toBe(201);
    const { token } = res.json() as { token: string };
    const link = `${b.base}/portal/#/t/${token}`;

    for (const lang of ['zh-CN', 'en'] as const) {
      const page = await b.page({ width: 375, lang });
      await page.goto(link);
      await expect.poll(() => page.getByTestId('points-available').textContent()).toBe('1,280');
      expect(await page.getByTestId('member-id').textContent()).toBe(m);
      expect(await page.getByTestId('tier-name').textContent()).toBe('金卡');
      expect(await page.getByTestId('history').textContent()).toContain(
        lang === 'en' ? 'Adjusted' : '积分调整',
      );
      await b.shot(page, `portal-${lang}`);
      await page.close();
    }

    // The payload names another member; the signature no longer matches.
    const [payload, signature] = token.split('.') as [string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const forged = Buffer.from(JSON.stringify({ ...claims, m: 'mem_someoneelse' })).toString(
      'base64url',
    );
    const page = await b.page({ width: 375 });
    await page.goto(`${b.base}/portal/#/t/${forged}.${signature}`);
    await expect.poll(() => page.getByTestId('refused').getAttribute('data-code')).toBe('invalid');
    expect(await page.textContent('body')).not.toContain(m);
    await b.shot(page, 'portal-tampered-zh-CN');
    await page.close();
    expect(b.problems).toEqual([]);
  });
});

describe('console: dashboard', () => {
  it('draws the program’s figures and charts', async () => {
    const page = await b.page();
    await signIn(page, b.adminKey);
    await page.goto(`${b.base}/console/p/hotel/dashboard`);
    await expect.poll(() => page.getByTestId('liability').textContent()).toMatch(/\d/);
    await page.getByTestId('chart-points').locator('canvas').waitFor();
    await page.waitForTimeout(600); // the charts' entrance
    await b.shot(page, 'dashboard-zh-CN');
    await page.getByTestId('language').getByText('EN').click();
    await expect.poll(() => page.locator('h3').first().textContent()).toBe('Dashboard');
    await page.waitForTimeout(600);
    await b.shot(page, 'dashboard-en');
    await page.close();
    expect(b.problems).toEqual([]);
  });
});

describe('console: programs, keys and earning rules', () => {
  it('creates a program and a key whose secret is shown once and works', async () => {
    const page = await b.page();
    await signIn(page, b.adminKey);
    await page.getByTestId('program-create').click();
    await page.getByTestId('program-id').fill('cafe');
    await page.getByTestId('program-name').fill('街角咖啡');
    await page.getByTestId('program-submit').click();
    await page.getByTestId('program-row-cafe').waitFor();
    await b.shot(page, 'programs-zh-CN');
    expect((await b.call({ method: 'GET', url: '/v1/programs/cafe' })).json()).toMatchObject({
      name: '街角咖啡',
    });

    await page.goto(`${b.base}/console/p/cafe/keys`);
    await page.getByTestId('key-create').click();
    await page.getByTestId('key-name').fill('POS 1');
    await page.getByTestId('key-submit').click();
    const secret = (await page.getByTestId('new-key-secret').textContent())?.trim() as string;
    expect(secret).toMatch(/^tsk_/);
    const own = await b.call({ method: 'GET', url: '/v1/api-keys/current', key: secret });
    expect(own.json()).toMatchObject({ programId: 'cafe', name: 'POS 1' });
    await page.getByTestId('new-key-done').click();
    // Once closed, the secret is nowhere on the page.
    expect(await page.textContent('body')).not.toContain(secret);
    await page.close();
    expect(b.problems).toEqual([]);
  });

  it('previews a sample purchase under the program’s rules, and the breakdown adds up', async () => {
    const ok = (res: { statusCode: number; body: string }) =>
      expect(res.statusCode, res.body).toBeLessThan(300);
    ok(
      await b.call({
        method: 'POST',
        url: '/v1/programs/hotel/earning-rules',
        payload: {
          id: 'base',
          name: '基础积分',
          priority: 10,
          conditions: {},
          effect: { type: 'rate', points: 1, per: 1000 },
        },
      }),
    );
    ok(
      await b.call({
        method: 'POST',
        url: '/v1/programs/hotel/earning-rules',
        payload: {
          id: 'welcome',
          name: '欢迎礼',
          priority: 5,
          conditions: {},
          effect: { type: 'bonus', points: 50 },
        },
      }),
    );
    const m = await member(b, 'hotel', '13900000077');
    const page = await b.page({ lang: 'en' });
    await signIn(page, b.adminKey);
    await page.goto(`${b.base}/console/p/hotel/rules`);
    await page.getByTestId('rule-row-base').waitFor();
    await page.getByTestId('preview-member').fill(m);
    await page.getByTestId('preview-amount').fill('180');
    await page.getByTestId('preview-run').click();
    // ¥180 at 1 point per ¥10 is 18, and the bonus 50.
    await expect
      .poll(() => page.getByTestId('preview-points').getAttribute('data-points'))
      .toBe('68');
    const lines = await page.getByTestId('preview-breakdown-points').allTextContents();
    expect(lines.map(Number).reduce((a, x) => a + x, 0)).toBe(68);
    await b.shot(page, 'rules-en');
    // A preview writes nothing.
    const purchases = await b.call({
      method: 'GET',
      url: `/v1/programs/hotel/members/${m}/purchases`,
    });
    expect(purchases.json().data).toEqual([]);
    await page.close();
    expect(b.problems).toEqual([]);
  });
});

describe('console: members', () => {
  it('enrolls a member, adjusts their points with a reason and sees the balance change', async () => {
    const page = await b.page();
    await signIn(page, b.adminKey);
    await page.goto(`${b.base}/console/p/hotel/members`);
    await page.getByTestId('member-enroll').click();
    await page.getByTestId('enroll-identifier-value-0').fill('13912345678');
    await page.getByTestId('enroll-name').fill('王小明');
    await page.getByTestId('enroll-submit').click();
    await page.waitForURL(/\/console\/p\/hotel\/members\/mem_/);
    const memberId = decodeURIComponent(page.url().split('/').pop()?.split('?')[0] as string);
    await expect.poll(() => page.getByTestId('points-balance').textContent()).toBe('0');

    await page.getByTestId('adjust-points').click();
    await page.getByTestId('adjust-amount').fill('1500');
    await page.getByTestId('adjust-reason').fill('开业补偿');
    await page.getByTestId('adjust-submit').click();
    await expect.poll(() => page.getByTestId('points-balance').textContent()).toBe('1,500');
    await page.waitForTimeout(300);
    await b.shot(page, 'member-zh-CN');
    // The points tab lists the adjustment in the member's history, and the tier tab its tier.
    await page.goto(`${b.base}/console/p/hotel/members/${encodeURIComponent(memberId)}?tab=points`);
    await expect.poll(() => page.getByTestId('points-history').textContent()).toContain('+1,500');
    await page.goto(`${b.base}/console/p/hotel/members/${encodeURIComponent(memberId)}?tab=tier`);
    await page.getByTestId('tier-history').waitFor();
    await page.getByTestId('growth-history').waitFor();
    const balance = await b.call({
      method: 'GET',
      url: `/v1/programs/hotel/members/${memberId}/points`,
    });
    expect(balance.json()).toMatchObject({ balance: 1_500 });

    // Found again by the identifier it was enrolled with.
    await page.goto(`${b.base}/console/p/hotel/members`);
    await page.getByTestId('member-search-input').fill('13912345678');
    await page.getByTestId('member-search-button').click();
    await page.getByTestId(`member-link-${memberId}`).waitFor();
    await page.getByTestId('language').getByText('EN').click();
    await page.getByTestId(`member-link-${memberId}`).click();
    await expect.poll(() => page.getByTestId('points-balance').textContent()).toBe('1,500');
    await page.waitForTimeout(300);
    await b.shot(page, 'member-en');
    await page.close();
    expect(b.problems).toEqual([]);
  });
});

describe('console: audit log, events and alerts', () => {
  it('lists what operators did and the domain events, filterable', async () => {
    const page = await b.page();
    await signIn(page, b.adminKey);
    await page.goto(`${b.base}/console/p/hotel/audit`);
    // Earlier tests set the ladder and adjusted points: both are in the log.
    await expect.poll(() => page.getByTestId('audit-row').count()).toBeGreaterThan(0);
    await b.shot(page, 'audit-zh-CN');
    await page.getByTestId('audit-tab-events').click();
    await expect.poll(() => page.getByTestId('event-row').count()).toBeGreaterThan(0);
    await page.getByTestId('audit-tab-alerts').click();
    await page.getByTestId('filter-alert-open').waitFor();
    await page.close();
    expect(b.problems).toEqual([]);
  });
});
