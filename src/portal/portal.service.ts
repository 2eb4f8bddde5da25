import { randomBytes } from 'node:crypto';
import type { Coupon } from '../coupons/coupons.core.ts';
import { couponsOf, getTemplate, type TemplateView } from '../coupons/coupons.service.ts';
import type { Db } from '../db/database.ts';
import type { Deps } from '../deps.ts';
import type { Ask, PairTerms } from '../exchange/exchange.core.ts';
import {
  type ConversionView,
  convert,
  listConversions,
  listPairs,
  listRates,
  quoteConversion,
} from '../exchange/exchange.service.ts';
import type { Principal } from '../keys/keys.core.ts';
import { pointsLedger } from '../ledger/ledger.core.ts';
import { balanceOf, historyOf, lotsOf } from '../ledger/ledger.service.ts';
import {
  checkMember,
  getGlobalMember,
  getMember,
  membersMergedInto,
} from '../members/members.service.ts';
import type { Order } from '../orders/orders.core.ts';
import { confirmOrder, memberOrders, placeOrder } from '../orders/orders.service.ts';
import type { PoolClaim } from '../pool/pool.core.ts';
import {
  type Claimable,
  type ClaimResult,
  claimableFor,
  claimBenefit,
  claimsOf,
  listBenefits,
} from '../pool/pool.service.ts';
import { getProgram } from '../programs/programs.service.ts';
import { findRewards, type MemberShelf, shelfFor } from '../rewards/rewards.service.ts';
import { DomainError, invalidField, notFound } from '../shared/errors.ts';
import { benefitsFor, getLadder, tierOf } from '../tiers/tiers.service.ts';
import {
  CARD_HISTORY,
  type CardBenefit,
  type CardTier,
  DEFAULT_TTL_MINUTES,
  expiringSoon,
  linkExpiry,
  openLink,
  POOL_BENEFITS,
  POOL_CLAIMS,
  PORTAL_COUPONS,
  PORTAL_MALL,
  PORTAL_ORDERS,
  type PortalCard,
  type PortalClaims,
  signLink,
  tierProgress,
} from './portal.core.ts';
import * as repo from './portal.repository.ts';

// The member portal: signed links an integration hands its members (from its app or mini-program),
// and the one read those links open. The card is put together from the other modules' services.

/** The secret's name in `portal_secrets`. */
const LINKS = 'links';

/** Per pool: every request of a server signs and checks with the secret read once. */
const secrets = new WeakMap<Db, Promise<Buffer>>();

/**
 * The key links are signed with. The first server to need it makes it (32 random bytes); a
 * server that loses that race keeps the winner's, so every server signs and checks alike.
 */
export function linkSecret(deps: Pick<Deps, 'db' | 'clock'>): Promise<Buffer> {
  // Inside a request's transaction it is read there and not remembered: were the transaction to
  // roll back, memory would hold a secret the database never kept.
  if (deps.db.isTransaction) return loadSecret(deps);
  let secret = secrets.get(deps.db);
  if (!secret) {
    secret = loadSecret(deps);
    secrets.set(deps.db, secret);
    secret.catch(() => secrets.delete(deps.db));
  }
  return secret;
}

async function loadSecret(deps: Pick<Deps, 'db' | 'clock'>): Promise<Buffer> {
  const kept = await repo.findSecret(deps.db, LINKS);
  if (kept) return kept;
  await repo.insertSecret(deps.db, LINKS, randomBytes(32), deps.clock.now());
  const made = await repo.findSecret(deps.db, LINKS);
  if (!made) throw new Error('The portal secret was neither found nor made');
  return made;
}

export interface PortalLink {
  token: string;
  expiresAt: Date;
}

/**
 * A link to the member's own page in the program, working for `ttlMinutes`. Refused (404) for a
 * member not enrolled in the program, and (409) for one erased or merged away.
 */
export async function createLink(
  deps: Deps,
  programId: string,
  memberId: string,
  ttlMinutes: number = DEFAULT_TTL_MINUTES,
): Promise<PortalLink> {
  const { member } = await getMember(deps, programId, memberId);
  checkMember(memberId, member);
  const expiresAt = linkExpiry(deps.clock.now(), ttlMinutes);
  const token = signLink(await linkSecret(deps), { programId, memberId, expiresAt });
  return { token, expiresAt };
}

/** Resolves `Authorization: Portal <token>` to what the link grants; API keys are not accepted. */
export async function authenticateLink(
  deps: Pick<Deps, 'db' | 'clock'>,
  header: string | undefined,
): Promise<PortalClaims> {
  const token = header && /^Portal\s+(\S+)\s*$/i.exec(header)?.[1];
  if (!token) {
    throw new DomainError(
      'unauthorized',
      'Send the portal link’s token as "Authorization: Portal <token>"; API keys are not accepted here',
    );
  }
  const opened = openLink(await linkSecret(deps), token, deps.clock.now());
  if (opened.ok) return opened.claims;
  throw opened.reason === 'expired'
    ? new DomainError('portal_link_expired', 'The portal link has expired; open a new one')
    : new DomainError('portal_link_invalid', 'The portal link is not valid');
}

/**
 * The card a link opens: the member as the program knows them, their points, tier, benefits and
 * latest movements. A member no longer enrolled, erased or merged away has no card (404).
 */
export async function cardOf(deps: Deps, claims: PortalClaims): Promise<PortalCard> {
  const { programId, memberId } = claims;
  const { member, enrollment } = await getMember(deps, programId, memberId);
  if (member.status !== 'active') throw notFound(`Member ${memberId}`);
  const ledger = pointsLedger(programId);
  // The movements of members merged into this one are this one's history too.
  const members = [memberId, ...(await membersMergedInto(deps, memberId))];
  const [program, balance, lots, history, ladder, view, benefits] = await Promise.all([
    getProgram(deps, programId),
    balanceOf(deps, ledger, memberId),
    // Only lots with points left can expire: not the member's whole history of lots.
    lotsOf(deps, ledger, memberId, { openOnly: true }),
    historyOf(deps, ledger, members, undefined, CARD_HISTORY),
    getLadder(deps, programId),
    tierOf(deps, programId, memberId),
    benefitsFor(deps, programId, memberId),
  ]);

  // A ladder of the entry tier alone has nothing to climb: the card shows no tier.
  const tier: CardTier | null =
    ladder.tiers.length < 2
      ? null
      : {
          code: view.tier.code,
          name: view.tier.name,
          validUntil: view.validUntil,
          next: view.next && {
            code: view.next.code,
            name: view.next.name,
            need: view.next.needed,
            have: view.basis,
          },
          progress: tierProgress(ladder.tiers, view.tier.code, view.next?.code ?? null, view.basis),
        };

  return {
    programId,
    programName: program.name,
    pointsName: program.pointsName,
    memberId,
    displayName: member.profile.name,
    status: enrollment.status,
    since: enrollment.enrolledAt,
    points: {
      available: balance.available,
      pending: balance.pending,
      held: balance.held,
      expiringSoon: expiringSoon(lots, deps.clock.now()),
    },
    entryTier: ladder.tiers[0]?.code ?? view.tier.code,
    tier,
    benefits: benefits.map(
      (b): CardBenefit => ({
        code: b.code,
        name: b.name,
        kind: b.kind,
        ...(b.value !== undefined && { value: b.value }),
        ...(b.quota && {
          limit: b.quota.count,
          remaining: b.left ?? b.quota.count,
          period: b.quota.period,
          ...(b.period !== undefined && { currentPeriod: b.period }),
        }),
      }),
    ),
    history: history.map((h) => ({
      id: h.id,
      points: h.points,
      code: h.code,
      reference: h.reference,
      createdAt: h.createdAt,
    })),
  };
}

// --- the coalition: converting points, and the benefits pool ---

/**
 * The link's program acting for its member. The exchange asks its caller to be an integration of
 * the program the points leave; a link is that program's integration speaking for one member, so
 * its conversions always leave the link's program and concern the link's member only.
 */
function principalOf(claims: PortalClaims): Principal {
  return { keyId: 'portal-link', programId: claims.programId, role: 'integration' };
}

/** The member the link opens, still enrolled and not erased or merged away (else 404). */
async function openMember(deps: Deps, claims: PortalClaims) {
  const found = await getMember(deps, claims.programId, claims.memberId);
  if (found.member.status !== 'active') throw notFound(`Member ${claims.memberId}`);
  return found;
}

export interface ExchangeTarget {
  programId: string;
  programName: string;
  pointsName: string;
  /** The member is enrolled there (points can arrive only in a membership). */
  enrolled: boolean;
  terms: PairTerms;
  rate: { fromPointsPerHubUnit: number; toPointsPerHubUnit: number };
}

export interface PortalExchange {
  programId: string;
  pointsName: string;
  available: number;
  targets: ExchangeTarget[];
}

/** Where the member may convert their points of the link's program: its approved pairs. */
export async function exchangeOf(deps: Deps, claims: PortalClaims): Promise<PortalExchange> {
  const { programId, memberId } = claims;
  await openMember(deps, claims);
  const [program, balance, pairs, rates, global] = await Promise.all([
    getProgram(deps, programId),
    balanceOf(deps, pointsLedger(programId), memberId),
    listPairs(deps, principalOf(claims)),
    listRates(deps, principalOf(claims)),
    getGlobalMember(deps, memberId),
  ]);
  const rateOf = new Map(rates.map((r) => [r.programId, r.pointsPerHubUnit]));
  const from = rateOf.get(programId);
  const enrolled = new Set(
    global.enrollments.filter((e) => e.status === 'active').map((e) => e.programId),
  );
  const outgoing = pairs.filter((p) => p.fromProgramId === programId);
  const targets = await Promise.all(
    outgoing.flatMap((terms) => {
      const to = rateOf.get(terms.toProgramId);
      if (from === undefined || to === undefined) return [];
      return [
        getProgram(deps, terms.toProgramId).then(
          (p): ExchangeTarget => ({
            programId: p.id,
            programName: p.name,
            pointsName: p.pointsName,
            enrolled: enrolled.has(p.id),
            terms,
            rate: { fromPointsPerHubUnit: from, toPointsPerHubUnit: to },
          }),
        ),
      ];
    }),
  );
  return { programId, pointsName: program.pointsName, available: balance.available, targets };
}

/** What converting would move now, from the link's program; writes nothing. */
export async function quoteFor(
  deps: Deps,
  claims: PortalClaims,
  input: { to: string; ask: Ask },
): Promise<Awaited<ReturnType<typeof quoteConversion>>> {
  await openMember(deps, claims);
  return quoteConversion(deps, principalOf(claims), claims.memberId, {
    from: claims.programId,
    to: input.to,
    ask: input.ask,
  });
}

/**
 * Converts the member's points of the link's program. The page makes one id per confirmation,
 * so a double tap or a retry after a lost answer applies once; it is kept as `portal:<id>`, which
 * no integration's reference can be mistaken for.
 */
export async function convertFor(
  deps: Deps,
  claims: PortalClaims,
  input: { to: string; ask: Ask; requestId: string },
): Promise<ConversionView> {
  await openMember(deps, claims);
  return convert(deps, principalOf(claims), claims.memberId, {
    from: claims.programId,
    to: input.to,
    ask: input.ask,
    reference: `portal:${input.requestId}`,
  });
}

/** The member's latest conversions that involve the link's program, newest first. */
export async function conversionsOf(
  deps: Deps,
  claims: PortalClaims,
  limit: number,
): Promise<ConversionView[]> {
  await openMember(deps, claims);
  return listConversions(deps, principalOf(claims), claims.memberId, undefined, limit);
}

/** What the member may claim from the coalition's pool now, and the codes they hold. */
export async function poolOf(
  deps: Deps,
  claims: PortalClaims,
): Promise<{ claimable: Claimable[]; claims: PoolClaim[]; names: Map<string, string> }> {
  await openMember(deps, claims);
  const [claimable, held] = await Promise.all([
    claimableFor(deps, claims.memberId),
    claimsOf(deps, claims.memberId, undefined, POOL_CLAIMS),
  ]);
  // A code names its benefit; the pool is a short list the brands curate, read whole when a code
  // names a benefit no longer claimable.
  const names = new Map(claimable.map((c) => [c.benefit.id, c.benefit.name]));
  if (held.some((c) => !names.has(c.benefitId))) {
    for (const b of await listBenefits(deps, null, undefined, POOL_BENEFITS)) {
      if (!names.has(b.id)) names.set(b.id, b.name);
    }
  }
  return { claimable, claims: held, names };
}

/** Claims a pool benefit for the link's member; one per confirmation (`requestId`). */
export async function claimFor(
  deps: Deps,
  claims: PortalClaims,
  benefitId: string,
  requestId: string,
): Promise<ClaimResult> {
  await openMember(deps, claims);
  return claimBenefit(deps, claims.memberId, benefitId, { reference: `portal:${requestId}` });
}

// --- the rewards mall and the member's coupons ---

/** What the member may order now, at their tier's prices, with the points they can spend. */
export async function mallOf(deps: Deps, claims: PortalClaims): Promise<MemberShelf> {
  await openMember(deps, claims);
  return shelfFor(deps, claims.programId, claims.memberId, {
    affordable: false,
    limit: PORTAL_MALL,
  });
}

export interface PortalOrderInput {
  requestId: string;
  items: { rewardId: string; quantity: number }[];
  address?: unknown;
}

/**
 * Orders for the member with their points, placed and confirmed in one go: the member confirmed
 * on the page, and the points are all the price. A reward with a cash part is paid at a till or
 * in the brand's app, never here (400). The page makes one id per confirmation, so a double tap
 * or a retry orders once; the order's id is `portal:<id>`, which no integration's id is taken for.
 */
export async function orderFor(
  deps: Deps,
  claims: PortalClaims,
  input: PortalOrderInput,
): Promise<{ order: Order; replayed: boolean }> {
  const { programId, memberId } = claims;
  await openMember(deps, claims);
  const rewards = await findRewards(
    deps,
    programId,
    input.items.map((i) => i.rewardId),
    [],
  );
  input.items.forEach((item, i) => {
    const reward = rewards.find((r) => r.id === item.rewardId);
    if (reward?.priceCash) {
      throw invalidField(
        `items.${i}.rewardId`,
        `reward ${reward.sku} has a cash part: it is ordered where cash is taken, not in the portal`,
      );
    }
  });
  const id = `portal:${input.requestId}`;
  const placed = await placeOrder(deps, programId, memberId, {
    id,
    items: input.items,
    ...(input.address !== undefined && { address: input.address }),
  });
  const confirmed = await confirmOrder(deps, programId, memberId, id, {});
  return { order: confirmed.order, replayed: placed.replayed };
}

/** The member's latest orders in the link's program, newest first. */
export async function ordersOf(deps: Deps, claims: PortalClaims): Promise<Order[]> {
  await openMember(deps, claims);
  return memberOrders(deps, claims.programId, claims.memberId, undefined, PORTAL_ORDERS);
}

/** The member's latest coupons in the link's program with what each one is (its template). */
export async function portalCouponsOf(
  deps: Deps,
  claims: PortalClaims,
): Promise<{ coupons: Coupon[]; templates: Map<string, TemplateView> }> {
  await openMember(deps, claims);
  const coupons = await couponsOf(
    deps,
    claims.programId,
    claims.memberId,
    undefined,
    PORTAL_COUPONS,
  );
  const ids = [...new Set(coupons.map((c) => c.templateId))];
  const templates = new Map(
    await Promise.all(
      ids.map(async (id) => [id, await getTemplate(deps, claims.programId, id)] as const),
    ),
  );
  return { coupons, templates };
}
