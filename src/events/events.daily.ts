import type { Trx } from '../db/database.ts';
import { inTransaction } from '../db/database.ts';
import type { Deps } from '../deps.ts';
import { localDateString } from '../ledger/expiry.core.ts';
import { pointsLedger } from '../ledger/ledger.core.ts';
import { getLedger } from '../ledger/ledger.service.ts';

// Jobs that write a program's events once a day — birthdays (src/coupons), expiring points
// (src/rewards). A run claims its (job, program, local day) row in the transaction that writes
// the day's events: a run that crashed wrote neither, and two runs at once write the day once.

export type DailyJob = 'birthdays' | 'expiring_points';

/** The program's local day now (its points ledger's time zone), as YYYY-MM-DD. */
export async function programDay(deps: Pick<Deps, 'db' | 'clock'>, programId: string) {
  const { timezone } = await getLedger(deps, pointsLedger(programId));
  return { day: localDateString(deps.clock.now(), timezone), timezone };
}

/**
 * Runs `write` for the program's day, in one transaction with the day's claim, unless that day
 * ran already (then: undefined). `write` returns how many events it wrote.
 */
export async function onceADay(
  deps: Pick<Deps, 'db' | 'clock'>,
  job: DailyJob,
  programId: string,
  day: string,
  write: (trx: Trx) => Promise<number>,
): Promise<number | undefined> {
  return inTransaction(deps.db, async (trx) => {
    const claimed = await trx
      .insertInto('daily_runs')
      .values({ job, program_id: programId, day, count: 0, ran_at: deps.clock.now() })
      .onConflict((oc) => oc.columns(['job', 'program_id', 'day']).doNothing())
      .returning('day')
      .executeTakeFirst();
    if (!claimed) return undefined;
    const count = await write(trx);
    await trx
      .updateTable('daily_runs')
      .set({ count })
      .where('job', '=', job)
      .where('program_id', '=', programId)
      .where('day', '=', day)
      .execute();
    return count;
  });
}
