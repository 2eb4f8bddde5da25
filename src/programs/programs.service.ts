import type { Deps } from '../deps.ts';
import type { Principal } from '../keys/keys.core.ts';
import { DomainError, notFound } from '../shared/errors.ts';
import { DEFAULT_TIMEZONE, type Program } from './programs.core.ts';
import * as repo from './programs.repository.ts';

export interface NewProgram {
  id: string;
  name: string;
  pointsName?: string | undefined;
  timezone?: string | undefined;
}

export async function createProgram(deps: Deps, input: NewProgram): Promise<Program> {
  const now = deps.clock.now();
  const program: Program = {
    id: input.id,
    name: input.name,
    pointsName: input.pointsName ?? 'points',
    timezone: input.timezone ?? DEFAULT_TIMEZONE,
    status: 'active',
    createdAt: now,
    updatedAt: now,
  };
  if (!(await repo.insertProgram(deps.db, program))) {
    throw new DomainError('program_exists', `A program with id ${input.id} already exists`, {
      programId: input.id,
    });
  }
  return program;
}

export async function getProgram(deps: Pick<Deps, 'db'>, id: string): Promise<Program> {
  const program = await repo.findProgram(deps.db, id);
  if (!program) throw notFound(`Program ${id}`);
  return program;
}

/** A coalition key lists every program; a program key sees only its own. */
export function listPrograms(
  deps: Deps,
  principal: Principal,
  after: string | undefined,
  limit: number,
) {
  return repo.listPrograms(deps.db, after, limit, principal.programId ?? undefined);
}

export async function updateProgram(
  deps: Deps,
  id: string,
  changes: repo.ProgramChanges,
): Promise<Program> {
  const program = await repo.updateProgram(deps.db, id, changes, deps.clock.now());
  if (!program) throw notFound(`Program ${id}`);
  return program;
}
