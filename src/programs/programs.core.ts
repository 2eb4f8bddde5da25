import type { ExpiryPolicy } from '../ledger/expiry.core.ts';

/** A brand's loyalty program: its own point currency, time zone and keys. */
export interface Program {
  /** A slug the operator picks, e.g. `hotel-a`; it appears in every path of the program. */
  id: string;
  name: string;
  /** What members see the points called, e.g. "Miles" or "积分". */
  pointsName: string;
  /** IANA time zone for expiry, member days and reports. */
  timezone: string;
  status: ProgramStatus;
  /** When points expire; every credit to a member uses it. */
  pointsExpiry: ExpiryPolicy;
  createdAt: Date;
  updatedAt: Date;
}

export type ProgramStatus = 'active' | 'suspended';

export const DEFAULT_TIMEZONE = 'Asia/Shanghai';

/** True when the runtime knows `tz` as an IANA time zone. */
export function isTimeZone(tz: string): boolean {
  if (!/^[A-Za-z_]+(\/[A-Za-z0-9_+-]+)*$/.test(tz) && tz !== 'UTC') return false;
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
