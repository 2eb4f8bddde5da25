import type { Trx } from '../db/database.ts';
import type { Deps } from '../deps.ts';
import { onceADay, programDay } from '../events/events.daily.ts';
import { appendEvents, type NewEvent } from '../events/events.service.ts';
import { localDateString } from '../ledger/expiry.core.ts';
import { pointsLedger } from '../ledger/ledger.core.ts';
import { availableAt, expiringPoints } from '../ledger/ledger.service.ts';
import { programIds } from '../programs/programs.service.ts';
import { getLadder, tierCodesOf } from '../tiers/tiers.service.ts';
import { rankByTier, suggestionsFor } from './rewards.core.ts';
import * as repo from './rewards.repository.ts';

// The year-end clearing nudge (年底清积分): once a day per program, each member whose points
// expire within the next 30 days hears of it once per expiry day — a `points.expiring` event in
// the outbox, for the brand's messaging to deliver — with the dearest rewards their available
// points buy now at their tier's price (what `GET …/members/{m}/rewards?affordable=true` ranks).

/** How far ahead members are told of points expiring. */
export const EXPIRY_NOTICE_DAYS = 30;
/** Members per page (one set of statements each). */
const PAGE = 1000;
/** The most rewards of a catalog considered for suggestions (the dearest on sale). */
const CATALOG = 50_000;

/**
 * The daily job: for each program, once per local day, a `points.expiring` event per member and
 * expiry day not told before, with `{ expiresOn, points, available, suggestions }`. Returns how
 * many events it wrote.
 */
export async function announceExpiringPoints(deps: Deps): Promise<number> {
  let total = 0;
  for (const programId of await programIds(deps)) {
    const { day, timezone } = await programDay(deps, programId);
    const wrote = await onceADay(deps, 'expiring_points', programId, day, (trx) =>
      noticesFor({ ...deps, db: trx }, programId, timezone),
    );
    total += wrote ?? 0;
  }
  return total;
}

async function noticesFor(
  deps: Deps & { db: Trx },
  programId: string,
  timezone: string,
): Promise<number> {
  const now = deps.clock.now();
  const window = { from: now, to: new Date(now.getTime() + EXPIRY_NOTICE_DAYS * 86_400_000) };
  const ledger = pointsLedger(programId);
  const ladder = await getLadder(deps, programId);
  const catalog = await repo.shelfFor(deps.db, programId, null, now, { limit: CATALOG });
  const byTier = rankByTier(
    catalog.map((c) => c.reward),
    ladder.tiers.map((t) => t.code),
  );
  let written = 0;
  let after = '';
  for (;;) {
    const rows = await expiringPoints(deps, ledger, window, after, PAGE);
    if (rows.length === 0) return written;
    // Per member and local day: lots expire at the end of a local day, the last one to use them.
    const due = new Map<string, { memberId: string; expiresOn: string; points: number }>();
    for (const r of rows) {
      const expiresOn = localDateString(new Date(r.expiresAt.getTime() - 1), timezone);
      const key = `${r.memberId}/${expiresOn}`;
      const d = due.get(key) ?? { memberId: r.memberId, expiresOn, points: 0 };
      d.points += r.points;
      due.set(key, d);
    }
    const fresh = await repo.recordNotices(deps.db, programId, [...due.values()], now);
    const members = [...new Set(fresh.map((f) => f.memberId))];
    const [tiers, available] = await Promise.all([
      tierCodesOf(deps, programId, members, ladder),
      availableAt(deps, ledger, members, now),
    ]);
    const events: NewEvent[] = fresh.map((f) => {
      const points = available.get(f.memberId) ?? 0;
      return {
        type: 'points.expiring',
        programId,
        memberId: f.memberId,
        occurredAt: now,
        data: {
          expiresOn: f.expiresOn,
          points: f.points,
          available: points,
          suggestions: suggestionsFor(byTier, tiers.get(f.memberId) ?? '', points),
        },
      };
    });
    await appendEvents(deps, deps.db, events);
    written += events.length;
    after = rows[rows.length - 1]?.memberId ?? after;
  }
}
