import { randomBytes } from 'node:crypto';
import type { Db } from '../db/database.ts';
import type { Deps } from '../deps.ts';
import { pointsLedger } from '../ledger/ledger.core.ts';
import { balanceOf, historyOf, lotsOf } from '../ledger/ledger.service.ts';
import { checkMember, getMember, membersMergedInto } from '../members/members.service.ts';
import { getProgram } from '../programs/programs.service.ts';
import { DomainError, notFound } from '../shared/errors.ts';
import { benefitsFor, getLadder, tierOf } from '../tiers/tiers.service.ts';
import {
  CARD_HISTORY,
  type CardBenefit,
  type CardTier,
  DEFAULT_TTL_MINUTES,
  expiringSoon,
  linkExpiry,
  openLink,
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
