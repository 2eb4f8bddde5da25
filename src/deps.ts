import type { FastifyBaseLogger } from 'fastify';
import { mergeCoalitionLevels } from './coalition/coalition.service.ts';
import { matchOnEnroll, mergeMatches } from './coalition/match.service.ts';
import { couponsChecks } from './coupons/coupons.checks.ts';
import {
  couponsOnEnroll,
  mergeCoupons,
  referralOnEnroll,
  rollbackForPurchase,
} from './coupons/coupons.service.ts';
import { createDb, type Db, type Trx } from './db/database.ts';
import { exchangeChecks } from './exchange/exchange.checks.ts';
import { mergeConversions } from './exchange/exchange.service.ts';
import { mergeGrowth } from './growth/growth.service.ts';
import { LedgerEngine } from './ledger/ledger.engine.ts';
import type { Check } from './ledger/reconcile.ts';
import { lockStandings } from './members/members.standing.ts';
import { offersChecks } from './offers/offers.checks.ts';
import { mergeOfferGrants } from './offers/offers.service.ts';
import { ordersChecks } from './orders/orders.checks.ts';
import { mergeOrders } from './orders/orders.service.ts';
import { poolChecks } from './pool/pool.checks.ts';
import { mergePoolClaims } from './pool/pool.service.ts';
import { mergePurchases } from './purchases/purchases.service.ts';
import type { Clock } from './shared/clock.ts';
import type { IdGenerator } from './shared/ids.ts';

/** What services need from the outside world; tests pass a fresh database, a manual clock and predictable ids. */
export interface Deps {
  db: Db;
  clock: Clock;
  ids: IdGenerator;
  log: FastifyBaseLogger;
  /** The points ledger's batching writer, on a pool of its own. */
  ledger: LedgerEngine;
  /**
   * What later modules do when two members merge, in the merge's transaction after the members'
   * rows moved (growth events and tiers): wired here so that members need not know them.
   */
  onMerge: MergeHook[];
  /**
   * What later modules do when a member enrolls in a program for the first time, in the
   * enrollment's transaction after its row is written (status match: the tier they start at; a
   * referral's share code: the new member's coupon). A hook's error undoes the enrollment.
   */
  onEnroll: EnrollHook[];
  /**
   * What later modules do once a purchase's return has committed (`whole`: nothing of it is left;
   * coupons redeemed on it then become usable again). Run again when the return is replayed, so
   * each must change nothing twice.
   */
  onReturn: ReturnHook[];
  /** Later modules' invariants, which `tessera reconcile` checks with the ledger's. */
  checks: Check[];
}

export type MergeHook = (deps: Deps & { db: Trx }, fromId: string, intoId: string) => Promise<void>;

export type EnrollHook = (
  deps: Deps & { db: Trx },
  programId: string,
  memberId: string,
  enrollment: { referralCode?: string | undefined },
) => Promise<void>;

export type ReturnHook = (
  deps: Deps,
  programId: string,
  purchaseId: string,
  returned: { whole: boolean },
) => Promise<unknown>;

export interface DepsOptions {
  clock: Clock;
  ids: IdGenerator;
  log: FastifyBaseLogger;
  /** Connections for requests. */
  poolSize?: number;
  /** Batches the ledger writes at once (each holds a connection of its own pool). */
  ledgerWorkers?: number;
  /** Most commands in one ledger batch (1,000 by default; smaller for measurements). */
  ledgerMaxBatch?: number;
}

/**
 * Wires the services' dependencies to one database. The ledger gets a pool of its own: requests
 * that hold a connection while they wait for the ledger must never starve it.
 */
export function createDeps(url: string, o: DepsOptions): { deps: Deps; close(): Promise<void> } {
  const db = createDb(url, o.poolSize ?? 20);
  const workers = o.ledgerWorkers ?? 1;
  const ledgerDb = createDb(url, workers);
  const ledger = new LedgerEngine(ledgerDb, o.clock, o.ids, o.log, {
    standings: lockStandings,
    workers,
    ...(o.ledgerMaxBatch && { maxBatch: o.ledgerMaxBatch }),
  });
  return {
    deps: {
      db,
      clock: o.clock,
      ids: o.ids,
      log: o.log,
      ledger,
      onMerge: [
        mergeGrowth,
        mergePurchases,
        mergeCoalitionLevels,
        mergeConversions,
        mergeOrders,
        mergeCoupons,
        mergePoolClaims,
        mergeOfferGrants,
        mergeMatches,
      ],
      onEnroll: [matchOnEnroll, couponsOnEnroll, referralOnEnroll],
      onReturn: [rollbackForPurchase],
      checks: [
        ...exchangeChecks,
        ...poolChecks,
        ...offersChecks,
        ...couponsChecks,
        ...ordersChecks,
      ],
    },
    async close() {
      await ledger.drain();
      await Promise.all([db.destroy(), ledgerDb.destroy()]);
    },
  };
}
