import { z } from 'zod';
import { timestamp } from '../http/schemas.ts';
import {
  CHANNELS,
  type Enrollment,
  GENDERS,
  IDENTIFIER_TYPES,
  type IdentifierRecord,
  MAX_CONSENTS,
  type Member,
  normalizeIdentifier,
  PROFILE_FIELDS,
  parseIdentifierParam,
  visibleTo,
} from './members.core.ts';

export const identifierInput = z
  .strictObject({
    type: z.enum(IDENTIFIER_TYPES),
    value: z
      .string()
      .max(320)
      .describe('Phones become E.164 (a bare 11-digit mainland number is +86); emails lower-case'),
  })
  .superRefine((id, ctx) => {
    const n = normalizeIdentifier(id.type, id.value);
    if ('error' in n) ctx.addIssue({ code: 'custom', message: n.error, path: ['value'] });
  })
  .transform((id) => {
    const n = normalizeIdentifier(id.type, id.value);
    return { type: id.type, value: 'value' in n ? n.value : id.value };
  })
  .meta({ id: 'IdentifierInput' });

const addressSchema = z
  .strictObject({
    country: z.string().trim().max(100).optional(),
    province: z.string().trim().max(100).optional(),
    city: z.string().trim().max(100).optional(),
    district: z.string().trim().max(100).optional(),
    line: z.string().trim().max(300).optional(),
    postalCode: z.string().trim().max(20).optional(),
  })
  .meta({ id: 'Address' });

/** Profile fields as a request gives them; null clears a field in a PATCH. */
export const profileFields = {
  name: z.string().trim().min(1).max(100).nullable().optional(),
  birthday: z.iso
    .date('must be a date, YYYY-MM-DD')
    .nullable()
    .optional()
    .describe('YYYY-MM-DD, not in the future'),
  gender: z.enum(GENDERS).nullable().optional(),
  address: addressSchema.nullable().optional(),
};

export const consentsSchema = z
  .record(
    z.string().regex(/^[a-z][a-z0-9_]{0,39}$/, 'consent names are lower_snake_case'),
    z.boolean(),
  )
  .refine((c) => Object.keys(c).length <= MAX_CONSENTS, `at most ${MAX_CONSENTS} consents`)
  .describe('Consents given to this program, e.g. { "marketing": true }');

export const enrollBody = z
  .strictObject({
    identifiers: z.array(identifierInput).min(1, 'give at least one identifier').max(10),
    profile: z.strictObject(profileFields).optional(),
    channel: z.enum(CHANNELS),
    consents: consentsSchema.optional(),
    referralCode: z
      .string()
      .min(1)
      .max(40)
      .optional()
      .describe(
        "A member's share code (GET …/members/{m}/share-code): a first enrollment in the program is referred by that member, and earns the referral's coupon; an unknown code is 400 and enrolls no one",
      ),
  })
  .meta({ id: 'Enrollment' });

export const updateMemberBody = z
  .strictObject({ ...profileFields, consents: consentsSchema.optional() })
  .refine((b) => Object.values(b).some((v) => v !== undefined), 'send at least one field to change')
  .meta({ id: 'MemberUpdate' });

export const activateBody = z.strictObject(profileFields).nullish().meta({ id: 'Activation' });

export const blockBody = z
  .strictObject({ reason: z.string().trim().min(1).max(500) })
  .meta({ id: 'BlockReason' });

export const identifierQuery = z
  .string()
  .max(400)
  .superRefine((v, ctx) => {
    const parsed = parseIdentifierParam(v);
    if ('error' in parsed) ctx.addIssue({ code: 'custom', message: parsed.error });
  })
  .describe('type:value, e.g. phone:13800138000 or card_number:A12345');

export const memberParams = z.object({
  programId: z.string().max(200),
  memberId: z.string().max(200),
});
export const globalMemberParams = z.object({ memberId: z.string().max(200) });

const profileSchema = z
  .object({
    name: z.string().nullable(),
    birthday: z.string().nullable(),
    gender: z.enum(GENDERS).nullable(),
    address: addressSchema.nullable(),
  })
  .meta({ id: 'Profile' });

const identifierSchema = z.object({ type: z.enum(IDENTIFIER_TYPES), value: z.string() });

export const memberSchema = z
  .object({
    id: z.string().describe('The global member id, the same in every program'),
    programId: z.string(),
    enrolledAt: timestamp,
    channel: z.enum(CHANNELS),
    status: z.enum(['active', 'blocked', 'erased', 'merged']),
    mergedInto: z.string().nullable().describe('For a merged member: the member it now is'),
    blockedReason: z.string().nullable(),
    activatedAt: timestamp.nullable(),
    identifiers: z.array(identifierSchema).describe("Global identifiers and this program's own"),
    profile: profileSchema,
    consents: z.record(z.string(), z.boolean()),
  })
  .meta({ id: 'Member' });

export const activationSchema = z
  .object({
    member: memberSchema,
    activated: z.boolean(),
    prefilled: z
      .array(z.enum(PROFILE_FIELDS))
      .describe('Fields the member had already given a brand'),
    missing: z.array(z.enum(PROFILE_FIELDS)).describe('Fields still needed to activate'),
  })
  .meta({ id: 'ActivationResult' });

export const globalMemberSchema = z
  .object({
    id: z.string(),
    status: z.enum(['active', 'erased', 'merged']),
    createdAt: timestamp,
    erasedAt: timestamp.nullable(),
    mergedInto: z.string().nullable(),
    identifiers: z.array(identifierSchema.extend({ programId: z.string().nullable() })),
    profile: profileSchema,
    enrollments: z.array(
      z.object({
        programId: z.string(),
        enrolledAt: timestamp,
        channel: z.enum(CHANNELS),
        status: z.enum(['active', 'blocked']),
        blockedReason: z.string().nullable(),
        activatedAt: timestamp.nullable(),
        consents: z.record(z.string(), z.boolean()),
      }),
    ),
  })
  .meta({ id: 'GlobalMember' });

const iso = (d: Date | null) => d?.toISOString() ?? null;

/** One program's view of a member: its enrollment, global identifiers and its own. */
export function presentMember(
  m: Member,
  e: Enrollment,
  ids: IdentifierRecord[],
): z.infer<typeof memberSchema> {
  return {
    id: m.id,
    programId: e.programId,
    enrolledAt: e.enrolledAt.toISOString(),
    channel: e.channel,
    status: m.status === 'active' ? e.status : m.status,
    mergedInto: m.mergedInto,
    blockedReason: e.blockedReason,
    activatedAt: iso(e.activatedAt),
    identifiers: visibleTo(e.programId, ids).map(({ type, value }) => ({ type, value })),
    profile: m.profile,
    consents: e.consents,
  };
}

/** The coalition's view: every enrollment and every identifier. */
export function presentGlobalMember(
  m: Member,
  enrollments: Enrollment[],
  ids: IdentifierRecord[],
): z.infer<typeof globalMemberSchema> {
  return {
    id: m.id,
    status: m.status,
    createdAt: m.createdAt.toISOString(),
    erasedAt: iso(m.erasedAt),
    mergedInto: m.mergedInto,
    identifiers: ids.map((i) => ({ type: i.type, value: i.value, programId: i.scope || null })),
    profile: m.profile,
    enrollments: enrollments.map((e) => ({
      programId: e.programId,
      enrolledAt: e.enrolledAt.toISOString(),
      channel: e.channel,
      status: e.status,
      blockedReason: e.blockedReason,
      activatedAt: iso(e.activatedAt),
      consents: e.consents,
    })),
  };
}
