/** When a program's points expire. Computed in the program's time zone. */
export type ExpiryPolicy =
  | { kind: 'never' }
  /** N days after the points were earned. */
  | { kind: 'rolling'; days: number }
  /** At the end of the month, quarter or year in which the day N days after earning falls (年底积分清零). */
  | { kind: 'period_end'; period: 'month' | 'quarter' | 'year'; afterDays: number }
  /**
   * N calendar months after the local day of earning, at local midnight (a rolling window: growth
   * value earned on 2026-03-15 counts through 2027-03-14 under 12 months).
   */
  | { kind: 'months'; months: number };

const DAY = 86_400_000;

interface LocalDate {
  year: number;
  month: number; // 1-12
  day: number;
}

// Formatters are costly to make and used for every credit under a period-end policy: one per zone.
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterOf(timeZone: string): Intl.DateTimeFormat {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, format);
  }
  return format;
}

/** The zone's offset from UTC at `t` (ms), read from the formatter: a few microseconds each. */
function formattedOffset(t: number, timeZone: string): number {
  const parts = formatterOf(timeZone).formatToParts(new Date(t));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const asUtc = Date.UTC(
    get('year'),
    get('month') - 1,
    get('day'),
    get('hour'),
    get('minute'),
    get('second'),
  );
  return asUtc - Math.floor(t / 1000) * 1000;
}

// Offsets are remembered per zone and quarter hour: every purchase, credit and cap asks for a
// local date, and zones change offset on quarter-hour boundaries. A quarter whose two ends
// disagree (a change inside it, as in some zones' distant past) is read instant by instant.
const QUARTER = 15 * 60 * 1000;
const offsets = new Map<string, number | null>();

function offsetOf(t: number, timeZone: string): number {
  const quarter = Math.floor(t / QUARTER);
  const key = `${timeZone}|${quarter}`;
  let offset = offsets.get(key);
  if (offset === undefined) {
    const start = formattedOffset(quarter * QUARTER, timeZone);
    offset = start === formattedOffset(quarter * QUARTER + QUARTER - 1000, timeZone) ? start : null;
    if (offsets.size >= 10_000) offsets.clear();
    offsets.set(key, offset);
  }
  return offset ?? formattedOffset(t, timeZone);
}

/** The wall-clock reading of an instant in a time zone. */
function wallClock(at: Date, timeZone: string) {
  const t = Math.floor(at.getTime() / 1000) * 1000;
  const w = new Date(t + offsetOf(t, timeZone));
  return {
    year: w.getUTCFullYear(),
    month: w.getUTCMonth() + 1,
    day: w.getUTCDate(),
    hour: w.getUTCHours(),
    minute: w.getUTCMinutes(),
    second: w.getUTCSeconds(),
  };
}

function localDate(at: Date, timeZone: string): LocalDate {
  const { year, month, day } = wallClock(at, timeZone);
  return { year, month, day };
}

/** The offset of `timeZone` from UTC at instant `at`, in ms. */
function offsetAt(at: Date, timeZone: string): number {
  return offsetOf(Math.floor(at.getTime() / 1000) * 1000, timeZone);
}

/** The instant local midnight starts `date` in `timeZone`. */
export function startOfLocalDay(date: LocalDate, timeZone: string): Date {
  const guess = Date.UTC(date.year, date.month - 1, date.day);
  // Two passes settle daylight-saving edges: the offset at the guess, then at the answer.
  let at = guess - offsetAt(new Date(guess), timeZone);
  at = guess - offsetAt(new Date(at), timeZone);
  return new Date(at);
}

/** The local calendar date (YYYY-MM-DD) of an instant in a time zone. */
export function localDateString(at: Date, timeZone: string): string {
  const d = localDate(at, timeZone);
  return `${d.year}-${String(d.month).padStart(2, '0')}-${String(d.day).padStart(2, '0')}`;
}

/**
 * Local midnight starting the day `months` calendar months after the local day of `at`. A day the
 * target month lacks (the 29th to 31st) becomes the first of the month after, so that on any day
 * the window still holds every day after the same date `months` earlier: a unit earned on a leap
 * day under 12 months counts through 2029-02-28 and is gone on 2029-03-01.
 */
export function addMonthsLocal(at: Date, months: number, timeZone: string): Date {
  const d = localDate(at, timeZone);
  const total = d.month - 1 + months;
  let year = d.year + Math.floor(total / 12);
  let month = (((total % 12) + 12) % 12) + 1;
  let day = d.day;
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (day > daysInMonth) {
    day = 1;
    month += 1;
    if (month > 12) {
      month = 1;
      year += 1;
    }
  }
  return startOfLocalDay({ year, month, day }, timeZone);
}

/** Local midnight starting the day `days` days after the local day of `at`. */
export function addDaysLocal(at: Date, days: number, timeZone: string): Date {
  const d = localDate(at, timeZone);
  const next = new Date(Date.UTC(d.year, d.month - 1, d.day + days));
  return startOfLocalDay(
    { year: next.getUTCFullYear(), month: next.getUTCMonth() + 1, day: next.getUTCDate() },
    timeZone,
  );
}

/** When points earned at `earnedAt` expire under `policy`, or null for never. */
export function expiresAt(policy: ExpiryPolicy, earnedAt: Date, timeZone: string): Date | null {
  switch (policy.kind) {
    case 'never':
      return null;
    case 'rolling':
      return new Date(earnedAt.getTime() + policy.days * DAY);
    case 'months':
      return addMonthsLocal(earnedAt, policy.months, timeZone);
    case 'period_end': {
      const d = localDate(new Date(earnedAt.getTime() + policy.afterDays * DAY), timeZone);
      // The first day of the next period, at local midnight: the period's last moment has passed.
      let { year, month } = d;
      if (policy.period === 'month') month += 1;
      else if (policy.period === 'quarter') month = Math.floor((month - 1) / 3) * 3 + 4;
      else {
        year += 1;
        month = 1;
      }
      if (month > 12) {
        year += 1;
        month -= 12;
      }
      return startOfLocalDay({ year, month, day: 1 }, timeZone);
    }
  }
}
