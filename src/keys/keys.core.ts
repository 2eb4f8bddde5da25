import { forbidden, notFound } from '../shared/errors.ts';

/** Roles a program key can have, weakest first. A coalition key is always `admin`. */
export const ROLES = ['read', 'integration', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** Who is calling: resolved from the API key on every request. */
export interface Principal {
  keyId: string;
  /** null for a coalition key, which acts on every program. */
  programId: string | null;
  role: Role;
}

export function isCoalitionAdmin(p: Principal): boolean {
  return p.programId === null && p.role === 'admin';
}

/** What a program key may do in its program: a role includes every weaker one. */
export function roleAllows(have: Role, need: Role): boolean {
  return ROLES.indexOf(have) >= ROLES.indexOf(need);
}

export interface ApiKey {
  id: string;
  programId: string | null;
  role: Role;
  name: string;
  /** The first characters of the secret, to tell keys apart in lists. */
  prefix: string;
  createdAt: Date;
  revokedAt: Date | null;
}

/**
 * Checks that `p` may act on `programId` with at least role `need`. Another program's key gets
 * not_found, exactly as if the program did not exist, so it learns nothing about other brands.
 */
export function requireProgramRole(p: Principal, programId: string, need: Role): void {
  if (p.programId === null) return; // coalition keys are admin everywhere
  if (p.programId !== programId) throw notFound(`Program ${programId}`);
  if (!roleAllows(p.role, need)) {
    throw forbidden(`This ${p.role} key may not do this; it needs the ${need} role`);
  }
}

export function requireCoalitionAdmin(p: Principal): void {
  if (!isCoalitionAdmin(p)) throw forbidden('Only a coalition admin key may do this');
}
