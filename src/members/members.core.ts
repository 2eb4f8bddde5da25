import type { ErrorCode } from '../shared/errors.ts';

/** Identifier types: the first four are the person's everywhere; the last two belong to one program. */
export const IDENTIFIER_TYPES = [
  'phone',
  'email',
  'wechat_openid',
  'alipay_user_id',
  'card_number',
  'external_id',
] as const;
export type IdentifierType = (typeof IDENTIFIER_TYPES)[number];

const PROGRAM_SCOPED: ReadonlySet<IdentifierType> = new Set(['card_number', 'external_id']);

/** card_number and external_id are unique only within their program. */
export function isProgramScoped(type: IdentifierType): boolean {
  return PROGRAM_SCOPED.has(type);
}

export interface Identifier {
  type: IdentifierType;
  value: string;
}

/** An identifier with its scope: '' for global types, the program's id for scoped ones. */
export interface ScopedIdentifier extends Identifier {
  scope: string;
}

export function scoped(programId: string, id: Identifier): ScopedIdentifier {
  return { ...id, scope: isProgramScoped(id.type) ? programId : '' };
}

const MAINLAND_MOBILE = /^1[3-9]\d{9}$/;

/**
 * Phone numbers in E.164. A bare 11-digit mainland mobile number (13800138000) is +86; "0086"
 * and "86" prefixes on such a number are understood too. Separators are ignored.
 */
export function normalizePhone(input: string): string | undefined {
  const compact = input.trim().replace(/[\s\-().]/g, '');
  if (MAINLAND_MOBILE.test(compact)) return `+86${compact}`;
  if (/^0086\d+$/.test(compact)) return normalizePhone(`+${compact.slice(2)}`);
  if (/^86\d{11}$/.test(compact) && MAINLAND_MOBILE.test(compact.slice(2))) return `+${compact}`;
  if (!/^\+[1-9]\d{6,14}$/.test(compact)) return undefined;
  // China: +86 then a mobile (11 digits) or a landline with its area code (10 or 11 digits).
  if (compact.startsWith('+86') && !/^\+86\d{10,11}$/.test(compact)) return undefined;
  return compact;
}

const EMAIL = /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/;

export function normalizeEmail(input: string): string | undefined {
  const v = input.trim().toLowerCase();
  return v.length <= 254 && EMAIL.test(v) ? v : undefined;
}

const TOKEN = /^[A-Za-z0-9_\-.:]{1,128}$/;

/** The canonical value of an identifier, or undefined with the reason it is not one. */
export function normalizeIdentifier(
  type: IdentifierType,
  value: string,
): { value: string } | { error: string } {
  switch (type) {
    case 'phone': {
      const v = normalizePhone(value);
      return v
        ? { value: v }
        : { error: 'must be a phone number: +<country><number>, or 11 mainland digits' };
    }
    case 'email': {
      const v = normalizeEmail(value);
      return v ? { value: v } : { error: 'must be an email address' };
    }
    default: {
      const v = value.trim();
      return TOKEN.test(v)
        ? { value: v }
        : { error: 'must be 1 to 128 letters, digits or _ - . :' };
    }
  }
}

/** Parses `type:value` as used in `?identifier=`. */
export function parseIdentifierParam(param: string): Identifier | { error: string } {
  const at = param.indexOf(':');
  const type = param.slice(0, at) as IdentifierType;
  if (at < 1 || !IDENTIFIER_TYPES.includes(type)) {
    return { error: `must be type:value with type one of ${IDENTIFIER_TYPES.join(', ')}` };
  }
  const normalized = normalizeIdentifier(type, param.slice(at + 1));
  return 'error' in normalized ? normalized : { type, value: normalized.value };
}

export const GENDERS = ['female', 'male', 'other', 'undisclosed'] as const;
export type Gender = (typeof GENDERS)[number];

export interface Address {
  country?: string | undefined;
  province?: string | undefined;
  city?: string | undefined;
  district?: string | undefined;
  line?: string | undefined;
  postalCode?: string | undefined;
}

/** The person's profile, shared by every program they joined. */
export interface Profile {
  name: string | null;
  /** YYYY-MM-DD */
  birthday: string | null;
  gender: Gender | null;
  address: Address | null;
}

export const PROFILE_FIELDS = ['name', 'birthday', 'gender', 'address'] as const;
export type ProfileField = (typeof PROFILE_FIELDS)[number];

/** What activation needs before a membership card is active. */
export const ACTIVATION_FIELDS: readonly ProfileField[] = ['name', 'birthday', 'gender'];

export type ProfileInput = Partial<{ [K in keyof Profile]: Profile[K] }>;

/**
 * Activation: fields the request gives are used; fields already known (given to any brand) are
 * pre-filled; the rest are missing.
 */
export function activation(known: Profile, given: ProfileInput) {
  const prefilled: ProfileField[] = [];
  const missing: ProfileField[] = [];
  for (const field of ACTIVATION_FIELDS) {
    if (given[field] !== undefined && given[field] !== null) continue;
    if (known[field] !== null) prefilled.push(field);
    else missing.push(field);
  }
  return { prefilled, missing, complete: missing.length === 0 };
}

export type MemberStatus = 'active' | 'erased' | 'merged';
export type EnrollmentStatus = 'active' | 'blocked';
export const CHANNELS = ['pos', 'app', 'web', 'payment', 'import'] as const;
export type Channel = (typeof CHANNELS)[number];

export interface Member {
  id: string;
  status: MemberStatus;
  profile: Profile;
  createdAt: Date;
  erasedAt: Date | null;
  mergedInto: string | null;
}

/** A member's membership of one program. */
export interface Enrollment {
  programId: string;
  memberId: string;
  enrolledAt: Date;
  channel: Channel;
  status: EnrollmentStatus;
  blockedReason: string | null;
  blockedAt: Date | null;
  activatedAt: Date | null;
  consents: Record<string, boolean>;
}

/** How many consents a member's enrollment keeps at most. */
export const MAX_CONSENTS = 20;

export interface IdentifierRecord extends ScopedIdentifier {
  memberId: string;
  createdAt: Date;
}

/** Which identifiers a program may see: global ones, and scoped ones of its own. */
export function visibleTo(programId: string | null, ids: IdentifierRecord[]): IdentifierRecord[] {
  return programId === null ? ids : ids.filter((i) => i.scope === '' || i.scope === programId);
}

/**
 * What decides whether a member may use a program now. Modules that move value read it under the
 * member's lock (`lockStandings`), so that it cannot change before their change commits.
 */
export interface MemberStanding {
  status: MemberStatus;
  mergedInto: string | null;
  /** The member's enrollments: program id → its status there. */
  enrollments: Record<string, EnrollmentStatus>;
}

/** To be a member (enrolled, not erased or merged away); to earn or spend, also not blocked there. */
export type StandingNeed = 'member' | 'benefit';

export interface StandingProblem {
  code: Extract<ErrorCode, 'not_found' | 'member_erased' | 'member_merged' | 'member_blocked'>;
  detail: string;
  extensions: Record<string, unknown>;
}

/**
 * Why a member may not do what it asks in a program (`programId` null: anywhere, as in a merge),
 * or undefined when it may. Not enrolled reads exactly like not existing (404): a program learns
 * nothing of other brands.
 */
export function standingProblem(
  memberId: string,
  standing: MemberStanding | undefined,
  programId: string | null,
  need: StandingNeed,
): StandingProblem | undefined {
  const enrollment = programId === null ? undefined : standing?.enrollments[programId];
  if (!standing || (programId !== null && !enrollment)) {
    return { code: 'not_found', detail: `Member ${memberId} was not found`, extensions: {} };
  }
  if (standing.status === 'erased') {
    return { code: 'member_erased', detail: `Member ${memberId} was erased`, extensions: {} };
  }
  if (standing.status === 'merged') {
    return {
      code: 'member_merged',
      detail: `Member ${memberId} was merged into ${standing.mergedInto}`,
      extensions: { mergedInto: standing.mergedInto },
    };
  }
  if (need === 'benefit' && enrollment === 'blocked') {
    return {
      code: 'member_blocked',
      detail: `Member ${memberId} is blocked in program ${programId}`,
      extensions: {},
    };
  }
  return undefined;
}
