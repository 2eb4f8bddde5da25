import fs from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type BrowserContext, createBrowserContext } from './browser.ts';
import { adjust, joinExchange, member, PAIR_TERMS, points } from './ledger-helpers.ts';

// The coalition in a real Chromium: the coalition admin's exchange and settlements, the member
// page's conversions, and a member converting points and claiming a pool benefit in the portal.

let b: BrowserContext;
let m: string; // a member of both hotels

beforeAll(async () => {
  b = await createBrowserContext();
  b.clock.set(new Date().toISOString());
  await b.program('hotel-a');
  await b.program('hotel-b');
  m = await member(b, 'hotel-a', '13800000001');
  expect(await member(b, 'hotel-b', '13800000001')).toBe(m);
  await adjust(b, 'hotel-a', m, 50_000, 'welcome');
}, 60_000);
afterAll(() => b?.close());
beforeEach(() => {
  b.problems.length = 0;
});

/** expect.poll with room for a loaded machine (its default waits one second). */
const poll = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 10_000 });

const ok = (res: { statusCode: number; body: string }) =>
  expect(res.statusCode, res.body).toBeLessThan(300);

async function signIn(page: Page, key: string) {
  await page.goto(`${b.base}/console/`);
  await page.getByTestId('api-key').fill(key);
  await page.locator('button[type=submit]').click();
  await page.locator('.topbar').waitFor();
}

/** The rates and the pair the first test sets through the console, set again (PUT is idempotent). */
async function exchangeSet() {
  await joinExchange(
    (o) => b.call(o),
    { 'hotel-a': [100, 5], 'hotel-b': [50, 8] },
    { 'hotel-a>hotel-b': PAIR_TERMS },
  );
}

async function portalLink(programId: string, memberId: string): Promise<string> {
  const res = await b.call({
    method: 'POST',
    url: `/v1/programs/${programId}/members/${memberId}/portal-links`,
    payload: {},
  });
  expect(res.statusCode, res.body).toBe(201);
  return `${b.base}/portal/#/t/${res.json().token}`;
}

describe('console: the coalition’s exchange', () => {
  it('sets two programs’ rates and approves a pair, and shows them', async () => {
    const page = await b.page();
    await signIn(page, b.adminKey);
    await page.getByRole('menuitem', { name: '积分互通' }).click();
    await page.waitForURL(/\/console\/coalition\/exchange$/);
    for (const [id, perHub, value] of [
      ['hotel-a', '100', '5'],
      ['hotel-b', '50', '8'],
    ] as const) {
      await page.getByTestId(`rate-edit-${id}`).click();
      await page.getByTestId('rate-perhub').fill(perHub);
      await page.getByTestId('rate-value').fill(value);
      await page.getByTestId('rate-submit').click();
      await poll(() => page.getByTestId('rate-submit').count()).toBe(0);
      await poll(() => page.getByTestId(`rate-row-${id}`).textContent()).toContain(perHub);
    }
    await page.getByTestId('pair-add').click();
    await page.getByTestId('pair-from').click();
    await page.keyboard.type('hotel-a');
    await page.keyboard.press('Enter');
    await page.getByTestId('pair-to').click();
    await page.keyboard.type('hotel-b');
    await page.keyboard.press('Enter');
    await page.getByTestId('pair-fee').fill('2');
    await page.getByTestId('pair-fee-minimum').fill('10');
    await page.getByTestId('pair-max').fill('50000');
    await page.getByTestId('pair-daily').fill('30000');
    await page.getByTestId('pair-submit').click();
    const row = page.getByTestId('pair-row-hotel-a-hotel-b');
    await poll(() => row.textContent()).toContain('30,000');
    // 1,000 points of A (100 a hub unit) buy 500 of B (50 a hub unit).
    expect(await row.textContent()).toContain('500');
    await b.shot(page, 'coalition-exchange-zh-CN');

    const pairs = (await b.call({ method: 'GET', url: '/v1/coalition/exchange/pairs' })).json();
    expect(pairs.data).toMatchObject([
      { from: 'hotel-a', to: 'hotel-b', feePercent: 2, feeMinimum: 10, dailyLimit: 30_000 },
    ]);
    const rates = (await b.call({ method: 'GET', url: '/v1/coalition/exchange/programs' })).json();
    expect(rates.data).toMatchObject([
      { programId: 'hotel-a', pointsPerHubUnit: 100, pointValueFen: 5 },
      { programId: 'hotel-b', pointsPerHubUnit: 50, pointValueFen: 8 },
    ]);
    await page.close();
    expect(b.problems).toEqual([]);
  });
});

describe('console: coalition levels', () => {
  it('defines two levels, saved after a confirmation', async () => {
    const page = await b.page({ lang: 'en' });
    await signIn(page, b.adminKey);
    await page.goto(`${b.base}/console/coalition/levels`);
    for (const [i, code, name] of [
      [0, 'silver', 'Silver'],
      [1, 'gold', 'Gold'],
    ] as const) {
      await page.getByTestId('level-add').click();
      await page.getByTestId(`level-code-${i}`).fill(code);
      await page.getByTestId(`level-name-${i}`).fill(name);
    }
    await page.getByTestId('levels-save').click();
    await page.locator('.ant-modal-confirm .ant-btn-primary').click();
    await poll(async () =>
      (await b.call({ method: 'GET', url: '/v1/coalition/levels' }))
        .json()
        .data.map((l: { code: string }) => l.code)
        .sort(),
    ).toEqual(['gold', 'silver']);
    await page.close();
    expect(b.problems).toEqual([]);
  });
});

describe('console: settlements and the member’s conversions', () => {
  it('shows a pair’s net and its lines after a conversion, exports CSV, and the member page lists it', async () => {
    await exchangeSet();
    const res = await b.call({
      method: 'POST',
      url: `/v1/members/${m}/conversions`,
      payload: { from: 'hotel-a', to: 'hotel-b', points: 10_000, reference: 'browser-1' },
    });
    expect(res.statusCode, res.body).toBe(201);
    const period = new Intl.DateTimeFormat('en-CA', {
      timeZone: 'Asia/Shanghai',
      year: 'numeric',
      month: '2-digit',
    }).format(new Date());
    const statement = (
      await b.call({ method: 'GET', url: `/v1/coalition/settlements?period=${period}` })
    ).json() as { pairs: { a: string; b: string; net: number; lines: number }[] };
    const pair = statement.pairs.find((p) => [p.a, p.b].sort().join() === 'hotel-a,hotel-b');
    expect(pair).toBeDefined();
    const { a, b: other, net } = pair as { a: string; b: string; net: number };
    // 5,000 points of B at 8 fen each: ¥400.
    expect(Math.abs(net)).toBe(40_000);

    const page = await b.page();
    await signIn(page, b.adminKey);
    await page.goto(`${b.base}/console/coalition/settlements?period=${period}`);
    const netCell = page.getByTestId(`settlement-net-${a}-${other}`);
    await poll(() => netCell.getAttribute('data-fen')).toBe(String(net));
    expect(await netCell.textContent()).toContain('400.00');
    expect(await page.getByTestId('settlement-status').textContent()).toBe('未关账');
    await b.shot(page, 'coalition-settlements-zh-CN');
    await page.getByTestId(`settlement-lines-${a}-${other}`).click();
    await poll(() => page.getByTestId('settlement-line').count()).toBe(1);
    expect(await page.getByTestId('settlement-drawer').textContent()).toContain(m);
    await page.keyboard.press('Escape');

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByTestId('settlement-export').click(),
    ]);
    expect(download.suggestedFilename()).toBe(`settlement-${period}.csv`);
    const csv = await fs.readFile(await download.path(), 'utf8');
    expect(csv).toContain('40000');

    // The member page's coalition tab lists the conversion.
    await page.goto(`${b.base}/console/p/hotel-a/members/${m}?tab=coalition`);
    const conversions = page.getByTestId('member-conversions');
    await poll(() => conversions.textContent()).toContain('+5,000');
    expect(await conversions.textContent()).toContain('browser-1');
    await page.getByTestId('coalition-level-none').waitFor();
    // The coalition admin sets the member's level by hand (as its integration would).
    const levels = await b.call({
      method: 'PUT',
      url: '/v1/coalition/levels',
      payload: [{ code: 'l5', name: '钻石会员', rank: 5 }],
    });
    expect(levels.statusCode, levels.body).toBe(200);
    await page.getByTestId('coalition-level-set').click();
    await page.getByTestId('coalition-level-select').click();
    await page.locator('.ant-select-item-option').first().click();
    await page.getByTestId('coalition-level-submit').click();
    await poll(() => page.getByTestId('coalition-level').textContent()).toBe('钻石会员');
    const set = await b.call({ method: 'GET', url: `/v1/members/${m}/coalition-level` });
    expect(set.json().level).toMatchObject({ code: 'l5', source: 'console' });
    await b.shot(page, 'member-coalition-zh-CN');
    await page.close();
    expect(b.problems).toEqual([]);
  });

  it('closes an ended period and marks it settled, each after a confirmation', async () => {
    const page = await b.page({ lang: 'en' });
    await signIn(page, b.adminKey);
    await page.goto(`${b.base}/console/coalition/settlements?period=2020-01`);
    const status = page.getByTestId('settlement-status');
    await poll(() => status.textContent()).toBe('Open');
    // Each confirmation is its own dialog: the first must be gone (it fades out) before the
    // second's button is the one clicked.
    const confirm = page.locator('.ant-modal-confirm');
    await page.getByTestId('settlement-close').click();
    await confirm.locator('.ant-btn-primary').click();
    await poll(() => status.textContent()).toBe('Closed');
    await poll(() => confirm.count()).toBe(0);
    await page.getByTestId('settlement-settle').click();
    await confirm.locator('.ant-btn-primary').click();
    await poll(() => status.textContent()).toBe('Settled');
    const res = await b.call({ method: 'GET', url: '/v1/coalition/settlements?period=2020-01' });
    expect(res.json().status).toBe('settled');
    await page.close();
    expect(b.problems).toEqual([]);
  });
});

describe('portal: the coalition', () => {
  it('quotes a conversion, converts once on confirmation, and the card follows', async () => {
    await exchangeSet();
    const before = await points(b, 'hotel-a', m);
    const beforeB = await points(b, 'hotel-b', m);
    const page = await b.page({ width: 375 });
    await page.goto(await portalLink('hotel-a', m));
    await page.getByTestId('card').waitFor();
    await page.getByTestId('portal-tab-exchange').click();
    await page.getByTestId('convert-points').locator('input').fill('2000');
    await page.getByTestId('convert-quote-button').click();
    // 2,000 points of A buy 1,000 of B; the fee is 2%, 40 points.
    await poll(() => page.getByTestId('quote-credited').textContent()).toBe('1,000');
    expect(await page.getByTestId('quote-debited').textContent()).toBe('2,040');
    expect(await page.getByTestId('quote-fee').textContent()).toBe('40');
    await page.evaluate('document.fonts.ready');
    await b.shot(page, 'portal-exchange-zh-CN');
    await page.getByTestId('convert-confirm').click();
    await page.locator('.adm-dialog-button-bold').click();
    await page.getByTestId('convert-done').waitFor();
    expect((await points(b, 'hotel-a', m)).available).toBe(before.available - 2_040);
    expect((await points(b, 'hotel-b', m)).available).toBe(beforeB.available + 1_000);
    await page.getByRole('button', { name: '继续兑换' }).click();
    await poll(() => page.getByTestId('convert-history').textContent()).toContain('+1,000');
    await page.getByTestId('portal-tab-card').click();
    await poll(() => page.getByTestId('points-available').textContent()).toBe(
      new Intl.NumberFormat('zh-CN').format(before.available - 2_040),
    );
    await page.close();
    expect(b.problems).toEqual([]);
  });

  it('claims a pool benefit and shows its code as a QR code', async () => {
    ok(
      await b.call({
        method: 'POST',
        url: '/v1/programs/hotel-b/pool-benefits',
        payload: {
          id: 'lounge',
          name: '机场贵宾厅',
          kind: 'lounge',
          stock: 10,
          costFen: 6_000,
          eligibility: { any: true },
        },
      }),
    );
    const page = await b.page({ width: 375, lang: 'en' });
    await page.goto(await portalLink('hotel-a', m));
    await page.getByTestId('card').waitFor();
    await page.getByTestId('portal-tab-pool').click();
    await page.getByTestId('pool-claim-lounge').click();
    await page.locator('.adm-dialog-button-bold').click();
    const shown = page.getByTestId('pool-code-shown');
    await shown.locator('svg').waitFor();
    const code = (await page.getByTestId('pool-code-value').textContent()) as string;
    const claims = await b.call({ method: 'GET', url: `/v1/members/${m}/pool/claims` });
    expect(claims.json().data).toMatchObject([{ benefitId: 'lounge', code, status: 'claimed' }]);
    await page.evaluate('document.fonts.ready');
    await b.shot(page, 'portal-pool-en');
    await page.getByRole('button', { name: 'Close' }).click();
    await poll(() => page.getByTestId('pool-codes').textContent()).toContain(code);

    // The console's pool page counts the claim against the stock.
    const console = await b.page();
    await signIn(console, b.adminKey);
    await console.goto(`${b.base}/console/coalition/pool`);
    await poll(() => console.getByTestId('pool-stock-lounge').textContent()).toBe('9 / 10');
    expect(await console.getByTestId('pool-claimed-lounge').textContent()).toBe('1');
    await b.shot(console, 'coalition-pool-zh-CN');
    await console.close();
    await page.close();
    expect(b.problems).toEqual([]);
  });
});
