import { expect } from 'vitest';
import type { TestContext } from './harness.ts';

/** Enrolls a member by phone and returns the member id. */
export async function member(t: TestContext, programId: string, phone: string): Promise<string> {
  const res = await t.call({
    method: 'POST',
    url: `/v1/programs/${programId}/members`,
    payload: { identifiers: [{ type: 'phone', value: phone }], channel: 'pos' },
  });
  expect(res.statusCode, res.body).toBeLessThan(300);
  return res.json().id;
}

export const pointsUrl = (programId: string, memberId: string) =>
  `/v1/programs/${programId}/members/${memberId}/points`;

export async function adjust(
  t: TestContext,
  programId: string,
  memberId: string,
  points: number,
  reason = 'test',
) {
  const res = await t.call({
    method: 'POST',
    url: `${pointsUrl(programId, memberId)}/adjustments`,
    payload: { points, reason },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

export async function points(t: TestContext, programId: string, memberId: string) {
  const res = await t.call({ method: 'GET', url: pointsUrl(programId, memberId) });
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as {
    balance: number;
    available: number;
    pending: number;
    held: number;
    expiring: { date: string; points: number }[];
  };
}

/** Asserts that every ledger invariant holds. */
export async function expectReconciled(t: TestContext): Promise<void> {
  const res = await t.call({ method: 'GET', url: '/v1/ledger/reconcile' });
  expect(res.statusCode).toBe(200);
  const report = res.json();
  const broken = report.checks.filter((c: { held: boolean }) => !c.held);
  expect(broken, JSON.stringify(broken)).toEqual([]);
}

/** What `joinExchange` needs of a caller: the test app's `call`, or the browser tests' API. */
type Caller = (o: {
  method: 'PUT';
  url: string;
  payload: object;
}) => Promise<{ statusCode: number; body: string }>;

/** The terms most exchange tests use: a 2% fee (at least 10), 100 to 50,000 at once, 30,000 a day. */
export const PAIR_TERMS = {
  feePercent: 2,
  feeMinimum: 10,
  minPoints: 100,
  maxPoints: 50_000,
  dailyLimit: 30_000,
};

/**
 * Puts programs in the coalition's exchange — `rates`: program → [points per hub unit, point
 * value in fen] — and approves each pair, `from>to`, with its terms (as the coalition admin).
 */
export async function joinExchange(
  call: Caller,
  rates: Record<string, readonly [number, number]>,
  pairs: Record<string, object> = {},
): Promise<void> {
  for (const [id, [pointsPerHubUnit, pointValueFen]] of Object.entries(rates)) {
    const res = await call({
      method: 'PUT',
      url: `/v1/coalition/exchange/programs/${id}`,
      payload: { pointsPerHubUnit, pointValueFen },
    });
    expect(res.statusCode, res.body).toBe(200);
  }
  for (const [pair, terms] of Object.entries(pairs)) {
    const [from, to] = pair.split('>');
    const res = await call({
      method: 'PUT',
      url: `/v1/coalition/exchange/pairs/${from}/${to}`,
      payload: terms,
    });
    expect(res.statusCode, res.body).toBe(200);
  }
}
