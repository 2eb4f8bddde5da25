import { recordAudit } from '../audit/audit.service.ts';
import { inTransaction } from '../db/database.ts';
import type { Deps } from '../deps.ts';
import { growthLedger } from '../growth/growth.core.ts';
import type { Principal } from '../keys/keys.core.ts';
import type { ExpiryPolicy } from '../ledger/expiry.core.ts';
import { pointsLedger } from '../ledger/ledger.core.ts';
import { configureLedger, configureProgramLedgers, openLedger } from '../ledger/ledger.service.ts';
import { DomainError, notFound } from '../shared/errors.ts';
import { DEFAULT_TIMEZONE, type Program } from './programs.core.ts';
import * as repo from './programs.repository.ts';

export interface NewProgram {
  id: string;
  name: string;
  pointsName?: string | undefined;
  timezone?: string | undefined;
  pointsExpiry?: ExpiryPolicy | undefined;
}

export async function createProgram(
  deps: Deps,
  input: NewProgram,
  actor: Principal | null,
): Promise<Program> {
  const now = deps.clock.now();
  const program: Program = {
    id: input.id,
    name: input.name,
    pointsName: input.pointsName ?? 'points',
    timezone: input.timezone ?? DEFAULT_TIMEZONE,
    status: 'active',
    pointsExpiry: input.pointsExpiry ?? { kind: 'never' },
    createdAt: now,
    updatedAt: now,
  };
  return inTransaction(deps.db, async (trx) => {
    if (!(await repo.insertProgram(trx, program))) {
      throw new DomainError('program_exists', `A program with id ${input.id} already exists`, {
        programId: input.id,
      });
    }
    // The program's points are a ledger of their own, which keeps its settings in step with these.
    await openLedger(
      { ...deps, db: trx },
      {
        id: pointsLedger(program.id),
        programId: program.id,
        expiry: program.pointsExpiry,
        timezone: program.timezone,
        status: program.status,
      },
    );
    // And its growth value (成长值) another: the growth policy sets how its lots expire.
    await openLedger(
      { ...deps, db: trx },
      {
        id: growthLedger(program.id),
        programId: program.id,
        expiry: { kind: 'never' },
        timezone: program.timezone,
        status: program.status,
      },
    );
    await recordAudit(
      { ...deps, db: trx },
      { actor, action: 'program.created', programId: program.id, after: program },
    );
    return program;
  });
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

/** Every program's id, for jobs that run over all of them. */
export function programIds(deps: Pick<Deps, 'db'>): Promise<string[]> {
  return repo.programIds(deps.db);
}

export async function updateProgram(
  deps: Deps,
  id: string,
  changes: repo.ProgramChanges,
  actor: Principal | null,
): Promise<Program> {
  return inTransaction(deps.db, async (trx) => {
    const before = await repo.lockProgram(trx, id);
    if (!before) throw notFound(`Program ${id}`);
    const after = (await repo.updateProgram(trx, id, changes, deps.clock.now())) as Program;
    await configureLedger({ db: trx }, pointsLedger(id), { expiry: changes.pointsExpiry });
    // Every currency of the program (points, growth value) reads days in its zone and stops with it.
    await configureProgramLedgers({ db: trx }, id, {
      timezone: changes.timezone,
      status: changes.status,
    });
    await recordAudit(
      { ...deps, db: trx },
      { actor, action: 'program.updated', programId: id, before, after },
    );
    return after;
  });
}
