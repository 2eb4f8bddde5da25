import type { Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type BrowserContext, createBrowserContext } from './browser.ts';
import { adjust, member, points } from './ledger-helpers.ts';

// The rewards mall and coupons in a real Chromium: the console's catalog (with a CSV import), its
// orders (shipped, completed, cancelled) and coupon templates (issued, redeemed); the member
// browsing the mall at their tier's prices, ordering, and showing a coupon's QR code.

let b: BrowserContext;
let m: string; // a member with points
let other: string;
const ids: Record<string, string> = {};

/** expect.poll with room for a loaded machine (its default waits one second). */
const poll = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 10_000 });

async function call(method: 'GET' | 'POST' | 'PUT', url: string, payload?: object) {
  const res = await b.call({ method, url, ...(payload && { payload }) });
  expect(res.statusCode, res.body).toBeLessThan(300);
  return res.json();
}

async function reward(over: Record<string, unknown>): Promise<string> {
  return (
    await call('POST', '/v1/programs/shop/rewards', { kind: 'voucher', onShelf: true, ...over })
  ).id;
}

beforeAll(async () => {
  b = await createBrowserContext();
  b.clock.set(new Date().toISOString());
  await b.program('shop');
  await call('PUT', '/v1/programs/shop/tiers', {
    basis: 'growth',
    evaluation: 'immediate',
    tiers: [
      { code: 'member', name: '普通会员', threshold: 0 },
      { code: 'gold', name: '金卡', threshold: 500 },
    ],
  });
  ids.tea = await reward({
    sku: 'TEA',
    name: '茶饮兑换券',
    pricePoints: 1000,
    tierPrices: [{ tier: 'member', pricePoints: 800 }],
    stock: 5,
  });
  ids.mug = await reward({ sku: 'MUG', name: '马克杯', kind: 'goods', pricePoints: 500, stock: 3 });
  m = await member(b, 'shop', '13800000001');
  other = await member(b, 'shop', '13800000002');
  await adjust(b, 'shop', m, 5_000, 'welcome');
  await adjust(b, 'shop', other, 5_000, 'welcome');
}, 60_000);
afterAll(() => b?.close());
beforeEach(() => {
  b.problems.length = 0;
});

async function signIn(page: Page, key: string) {
  await page.goto(`${b.base}/console/`);
  await page.getByTestId('api-key').fill(key);
  await page.locator('button[type=submit]').click();
  await page.locator('.topbar').waitFor();
}

async function portalLink(memberId: string): Promise<string> {
  const res = await call('POST', `/v1/programs/shop/members/${memberId}/portal-links`, {});
  return `${b.base}/portal/#/t/${res.token}`;
}

/** Picks an option of an antd Select by its text. */
async function choose(page: Page, testId: string, text: string) {
  await page.getByTestId(testId).click();
  await page.locator('.ant-select-item-option', { hasText: text }).first().click();
}

describe('console: the catalog', () => {
  it('adds a reward, takes it off the shelf, and imports a CSV showing what was refused', async () => {
    const page = await b.page();
    await signIn(page, b.adminKey);
    await page.goto(`${b.base}/console/p/shop/dashboard`);
    await page.getByRole('menuitem', { name: '商品目录' }).click();
    await page.waitForURL(/\/console\/p\/shop\/rewards$/);
    await poll(() => page.getByTestId('reward-stock-TEA').textContent()).toBe('5 / 5');
    expect(await page.getByTestId('reward-price-TEA').textContent()).toBe('1,000');

    await page.getByTestId('reward-create').click();
    await page.getByTestId('reward-sku').fill('CAP');
    await page.getByTestId('reward-name').fill('棒球帽');
    await page.getByTestId('reward-points').fill('300');
    await page.getByTestId('reward-tier-prices').fill('gold:250');
    await page.getByTestId('reward-stock').fill('20');
    await page.getByTestId('reward-submit').click();
    await poll(() => page.getByTestId('reward-stock-CAP').textContent()).toBe('20 / 20');
    const list = await call('GET', '/v1/programs/shop/rewards?limit=100');
    const cap = list.data.find((r: { sku: string }) => r.sku === 'CAP');
    expect(cap).toMatchObject({
      name: '棒球帽',
      kind: 'goods',
      pricePoints: 300,
      tierPrices: [{ tier: 'gold', pricePoints: 250 }],
      stock: 20,
      onShelf: true,
    });

    // Edited in the same dialog: more stock for the tea.
    await page.getByTestId('reward-edit-TEA').click();
    await page.getByTestId('reward-stock').fill('8');
    await page.getByTestId('reward-submit').click();
    await poll(() => page.getByTestId('reward-stock-TEA').textContent()).toBe('8 / 8');
    expect(await call('GET', `/v1/programs/shop/rewards/${ids.tea}`)).toMatchObject({
      stock: 8,
      tierPrices: [{ tier: 'member', pricePoints: 800 }],
    });

    await page.getByTestId('reward-shelf-CAP').click();
    await poll(async () => (await call('GET', `/v1/programs/shop/rewards/${cap.id}`)).onShelf).toBe(
      false,
    );

    await page.getByTestId('rewards-import').click();
    const csv = [
      'sku,name,kind,pricePoints,stock,supplier',
      'BAG,帆布袋,goods,400,50,yanxuan',
      'PEN,钢笔,goods,lots,10,yanxuan',
      'CAP,棒球帽（新款）,goods,320,30,yanxuan',
      'BOOK,笔记本,goods,150,,yanxuan',
    ].join('\n');
    await page.getByTestId('import-file').setInputFiles({
      name: 'supplier.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(csv),
    });
    await page.getByTestId('import-submit').click();
    await page.getByTestId('import-result').waitFor();
    expect(await page.getByTestId('import-created').textContent()).toBe('2');
    expect(await page.getByTestId('import-updated').textContent()).toBe('1');
    expect(await page.getByTestId('import-refused').textContent()).toBe('1');
    const refusals = await page.getByTestId('import-refusals').textContent();
    expect(refusals).toContain('3');
    expect(refusals).toContain('PEN');
    await b.shot(page, 'mall-import-zh-CN');
    await page.getByTestId('import-submit').click();
    await poll(() => page.getByTestId('reward-stock-BAG').textContent()).toBe('50 / 50');
    expect(await page.getByTestId('reward-row-CAP').textContent()).toContain('棒球帽（新款）');
    await b.shot(page, 'mall-catalog-zh-CN');
    await page.close();
    expect(b.problems).toEqual([]);
  });
});

describe('console: orders', () => {
  it('ships a confirmed order with its tracking number, completes it, and cancels another', async () => {
    const url = `/v1/programs/shop/members/${other}/orders`;
    const address = { name: '李雷', phone: '13800000002', lines: ['上海市南京路 1 号'] };
    await call('POST', url, { id: 'web-1', items: [{ rewardId: ids.mug, quantity: 1 }], address });
    await call('POST', `${url}/web-1/confirm`, {});
    await call('POST', url, { id: 'web-2', items: [{ rewardId: ids.tea, quantity: 1 }] });
    const before = await points(b, 'shop', other);

    const page = await b.page({ lang: 'en' });
    await signIn(page, b.adminKey);
    await page.goto(`${b.base}/console/p/shop/orders`);
    await poll(() => page.getByTestId('order-status-web-1').textContent()).toBe('To ship');
    await choose(page, 'orders-status', 'To ship');
    await poll(() => page.getByTestId('order-row-web-2').count()).toBe(0);
    await page.getByTestId('order-ship-web-1').click();
    await page.getByTestId('ship-carrier').fill('SF Express');
    await page.getByTestId('ship-tracking').fill('SF1234567890');
    await page.getByTestId('ship-submit').click();
    // Shipped, it leaves the "to ship" list.
    await poll(() => page.getByTestId('order-row-web-1').count()).toBe(0);
    await choose(page, 'orders-status', 'All statuses');
    await poll(() => page.getByTestId('order-status-web-1').textContent()).toBe('Shipped');
    expect(await page.getByTestId('order-tracking-web-1').textContent()).toContain('SF1234567890');
    expect(await page.getByTestId('order-address-web-1').textContent()).toContain(
      '上海市南京路 1 号',
    );
    // The status list fades out before the picture is taken.
    await poll(() =>
      page.locator('.ant-select-dropdown:not(.ant-select-dropdown-hidden)').count(),
    ).toBe(0);
    await b.shot(page, 'mall-orders-en');

    const confirm = page.locator('.ant-modal-confirm');
    await page.getByTestId('order-complete-web-1').click();
    await confirm.locator('.ant-btn-primary').click();
    await poll(() => page.getByTestId('order-status-web-1').textContent()).toBe('Completed');
    await poll(() => confirm.count()).toBe(0);
    await page.getByTestId('order-cancel-web-2').click();
    await confirm.locator('.ant-btn-primary').click();
    await poll(() => page.getByTestId('order-status-web-2').textContent()).toBe('Cancelled');

    expect(await call('GET', `${url}/web-1`)).toMatchObject({
      status: 'completed',
      carrier: 'SF Express',
      tracking: 'SF1234567890',
    });
    // The placed order's hold is released: the points are the member's to spend again.
    expect((await points(b, 'shop', other)).available).toBe(before.available + 800);
    await page.close();
    expect(b.problems).toEqual([]);
  });
});

describe('console: coupon templates', () => {
  it('creates a template, issues it to a list of members, and counts issued and redeemed', async () => {
    const page = await b.page();
    await signIn(page, b.adminKey);
    await page.goto(`${b.base}/console/p/shop/dashboard`);
    await page.getByRole('menuitem', { name: '优惠券' }).click();
    await page.waitForURL(/\/console\/p\/shop\/coupons$/);
    await page.getByTestId('coupon-create').click();
    await page.getByTestId('coupon-id').fill('ten-off');
    await page.getByTestId('coupon-name').fill('满 100 减 10');
    await page.getByTestId('coupon-amount').fill('10');
    await page.getByTestId('coupon-submit').click();
    await poll(() => page.getByTestId('coupon-issued-ten-off').textContent()).toBe('0');

    await page.getByTestId('coupon-issue-ten-off').click();
    await page.getByTestId('issue-members').fill(`${m}\n${other}, ${m}`);
    await page.getByTestId('issue-submit').click();
    await poll(() => page.getByTestId('coupon-issued-ten-off').textContent()).toBe('2');
    expect(await page.getByTestId('coupon-redeemed-ten-off').textContent()).toBe('0');

    const coupons = await call('GET', `/v1/programs/shop/members/${other}/coupons`);
    expect(coupons.data).toMatchObject([{ templateId: 'ten-off', status: 'issued' }]);
    await call('POST', '/v1/programs/shop/coupons/redeem', {
      code: coupons.data[0].code,
      purchaseId: 'till-1',
      purchase: { amount: 12_000 },
    });
    await page.reload();
    await poll(() => page.getByTestId('coupon-redeemed-ten-off').textContent()).toBe('1');
    await b.shot(page, 'mall-coupons-zh-CN');
    await page.close();
    expect(b.problems).toEqual([]);
  });
});

describe('portal: the mall and the coupons', () => {
  it("shows the member's tier prices and orders with points after one confirmation", async () => {
    const before = await points(b, 'shop', m);
    const page = await b.page({ width: 375 });
    await page.goto(await portalLink(m));
    await page.getByTestId('card').waitFor();
    await page.getByTestId('portal-tab-mall').click();
    // The member tier's price, not the list price.
    await poll(() => page.getByTestId('mall-price-TEA').textContent()).toContain('800');
    expect(await page.getByTestId('mall-item-TEA').textContent()).toContain('1,000');
    await page.evaluate('document.fonts.ready');
    await b.shot(page, 'portal-mall-zh-CN');
    await page.getByTestId('mall-order-TEA').click();
    await page.locator('.adm-dialog-button-bold').click();
    await page.getByTestId('order-done').waitFor();
    expect((await points(b, 'shop', m)).available).toBe(before.available - 800);
    await poll(() => page.getByTestId('mall-orders').textContent()).toContain('茶饮兑换券');

    // Goods ask where to send them.
    await page.getByRole('button', { name: '继续逛逛' }).click();
    await page.getByTestId('mall-order-MUG').click();
    const ok = page.locator('.adm-dialog-button-bold');
    expect(await ok.isDisabled()).toBe(true);
    await page.getByTestId('address-name').locator('input').fill('韩梅梅');
    await page.getByTestId('address-phone').locator('input').fill('13800000001');
    await page.getByTestId('address-line').locator('input').fill('北京市朝阳区 1 号');
    await ok.click();
    await page.getByTestId('order-done').waitFor();
    const orders = await call('GET', `/v1/programs/shop/members/${m}/orders`);
    expect(orders.data).toHaveLength(2);
    expect(orders.data.every((o: { status: string }) => o.status === 'confirmed')).toBe(true);
    expect(orders.data.find((o: { points: number }) => o.points === 500).address).toMatchObject({
      name: '韩梅梅',
    });
    await page.getByTestId('portal-tab-card').click();
    await poll(() => page.getByTestId('points-available').textContent()).toBe(
      new Intl.NumberFormat('zh-CN').format(before.available - 1_300),
    );
    await page.close();
    expect(b.problems).toEqual([]);
  });

  it("lists the member's coupons and shows one's code as a QR code", async () => {
    const mine = await call('GET', `/v1/programs/shop/members/${m}/coupons`);
    const code = mine.data[0].code as string;
    const page = await b.page({ width: 375, lang: 'en' });
    await page.goto(await portalLink(m));
    await page.getByTestId('card').waitFor();
    await page.getByTestId('portal-tab-coupons').click();
    await poll(() => page.getByTestId('coupon-list').textContent()).toContain(code);
    expect(await page.getByTestId('coupon-list').textContent()).toContain('¥10.00 off');
    await page.getByTestId(`coupon-${mine.data[0].id}`).click();
    await page.getByTestId('coupon-code-shown').locator('svg').waitFor();
    expect(await page.getByTestId('coupon-code-value').textContent()).toBe(code);
    await page.evaluate('document.fonts.ready');
    await b.shot(page, 'portal-coupons-en');
    await page.getByRole('button', { name: 'Close' }).click();
    await page.close();
    expect(b.problems).toEqual([]);
  });

  it('orders a coupon reward made in the console, and the coupon joins the member’s', async () => {
    const console = await b.page();
    await signIn(console, b.adminKey);
    await console.goto(`${b.base}/console/p/shop/rewards`);
    await console.getByTestId('reward-create').click();
    await console.getByTestId('reward-sku').fill('CPN');
    await console.getByTestId('reward-name').fill('十元券');
    await choose(console, 'reward-kind', '优惠券');
    await console.getByTestId('reward-points').fill('100');
    await choose(console, 'reward-coupon-template', 'ten-off');
    await console.getByTestId('reward-submit').click();
    await poll(() => console.getByTestId('reward-row-CPN').count()).toBe(1);
    await console.close();

    const before = (await call('GET', `/v1/programs/shop/members/${m}/coupons`)).data.length;
    const page = await b.page({ width: 375 });
    await page.goto(await portalLink(m));
    await page.getByTestId('card').waitFor();
    await page.getByTestId('portal-tab-mall').click();
    await page.getByTestId('mall-order-CPN').click();
    await page.locator('.adm-dialog-button-bold').click();
    await page.getByTestId('order-done').waitFor();
    const after = (await call('GET', `/v1/programs/shop/members/${m}/coupons`)).data;
    expect(after).toHaveLength(before + 1);
    await page.getByTestId('portal-tab-coupons').click();
    await poll(() => page.getByTestId('coupon-code').count()).toBe(before + 1);
    expect(await page.getByTestId('coupon-list').textContent()).toContain(after[0].code);
    await page.close();
    expect(b.problems).toEqual([]);
  });
});
