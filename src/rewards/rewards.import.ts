import fs from 'node:fs';
import readline from 'node:readline';
import { Readable } from 'node:stream';
import { recordAudit } from '../audit/audit.service.ts';
import { templateIdsOf } from '../coupons/coupons.service.ts';
import { inTransaction } from '../db/database.ts';
import type { Deps } from '../deps.ts';
import type { Principal } from '../keys/keys.core.ts';
import { getProgram } from '../programs/programs.service.ts';
import { csvFields } from '../shared/csv.ts';
import { invalidField } from '../shared/errors.ts';
import { isStorableValue } from '../shared/text.ts';
import { getLadder } from '../tiers/tiers.service.ts';
import { type Reward, templateMisfit } from './rewards.core.ts';
import { createRewardBody } from './rewards.schemas.ts';
import { newReward, upsertRewards } from './rewards.service.ts';

// `tessera import rewards FILE.csv --program P`: a supplier's catalog (10,000 SKUs and more),
// upserted by SKU a thousand rows per statement, so a rerun — the supplier's next price list —
// updates what changed and adds what is new. A row keeps its id and what orders reserved.
//
// CSV: a header row naming the columns `sku, name, kind, pricePoints` and optionally `priceCash,
// supplierCost, stock, perMemberLimit, limitPeriod, startsAt, endsAt, onShelf (default true),
// supplier, category, imageUrl, tierPrices` (`gold:800;silver:900`). An empty cell is absent.

const REQUIRED = ['sku', 'name', 'kind', 'pricePoints'] as const;
const CHUNK = 1000;

export interface RewardImportSummary {
  read: number;
  created: number;
  updated: number;
  refused: { line: number; sku?: string; code: string; detail: string }[];
}

const num = (v: string) => (v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : v);

/** One CSV row as the API's request body would be. */
function bodyOf(row: Record<string, string>): Record<string, unknown> {
  const has = (k: string) => row[k] !== undefined && row[k] !== '';
  const body: Record<string, unknown> = {
    sku: row.sku,
    name: row.name,
    kind: row.kind,
    pricePoints: num(row.pricePoints ?? ''),
    onShelf: has('onShelf') ? row.onShelf === 'true' : true,
  };
  for (const k of ['priceCash', 'supplierCost', 'stock'] as const) {
    if (has(k)) body[k] = num(row[k] as string);
  }
  for (const k of [
    'startsAt',
    'endsAt',
    'supplier',
    'category',
    'imageUrl',
    'couponTemplateId',
  ] as const) {
    if (has(k)) body[k] = row[k];
  }
  if (has('perMemberLimit')) {
    body.perMemberLimit = {
      count: num(row.perMemberLimit as string),
      ...(has('limitPeriod') && { period: row.limitPeriod }),
    };
  }
  if (has('tierPrices')) {
    body.tierPrices = (row.tierPrices as string).split(';').map((pair) => {
      const [tier, price] = pair.split(':');
      return { tier: tier?.trim(), pricePoints: num(price ?? '') };
    });
  }
  return body;
}

/** Reads a CSV's rows in order, a chunk at a time, with the bytes read so far. */
async function* readRows(
  stream: Readable,
  bytesRead: () => number,
): AsyncGenerator<{ rows: { line: number; row: Record<string, string> }[]; bytes: number }> {
  const lines = readline.createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  let header: string[] | undefined;
  let rows: { line: number; row: Record<string, string> }[] = [];
  let n = 0;
  for await (const text of lines) {
    n++;
    if (text.trim() === '') continue;
    if (!header) {
      header = csvFields(text).map((h) => h.trim());
      const missing = REQUIRED.filter((c) => !header?.includes(c));
      // A validation failure, so that the HTTP import answers 400 (the CLI prints the message).
      if (missing.length) throw invalidField('csv', `the CSV header lacks ${missing.join(', ')}`);
      continue;
    }
    const fields = csvFields(text);
    rows.push({ line: n, row: Object.fromEntries(header.map((h, i) => [h, fields[i] ?? ''])) });
    if (rows.length >= CHUNK) {
      yield { rows, bytes: bytesRead() };
      rows = [];
    }
  }
  if (rows.length) yield { rows, bytes: bytesRead() };
}

/**
 * Imports a supplier's catalog into a program, upserting by SKU, reporting progress (bytes read of
 * the file's size). A refused row is listed and the rest go on; each chunk commits with an audit
 * row naming how many SKUs it created and updated.
 */
export async function importRewards(
  deps: Deps,
  programId: string,
  file: string,
  progress: (done: number, total: number, summary: RewardImportSummary) => void = () => {},
): Promise<RewardImportSummary> {
  await getProgram(deps, programId);
  const stream = fs.createReadStream(file);
  const source = { rows: readRows(stream, () => stream.bytesRead), total: fs.statSync(file).size };
  return importFrom(deps, programId, source, { file }, null, progress);
}

/**
 * The same import from a CSV sent over HTTP (`POST /v1/programs/{p}/rewards/import`), by a
 * program admin whose key the audit rows name.
 */
export async function importRewardsCsv(
  deps: Deps,
  programId: string,
  csv: string,
  actor: Principal,
): Promise<RewardImportSummary> {
  await getProgram(deps, programId);
  const total = Buffer.byteLength(csv);
  const source = { rows: readRows(Readable.from([csv]), () => total), total };
  return importFrom(deps, programId, source, { upload: true }, actor);
}

async function importFrom(
  deps: Deps,
  programId: string,
  source: { rows: ReturnType<typeof readRows>; total: number },
  origin: Record<string, unknown>,
  actor: Principal | null,
  progress: (done: number, total: number, summary: RewardImportSummary) => void = () => {},
): Promise<RewardImportSummary> {
  const tiers = new Set((await getLadder(deps, programId)).tiers.map((t) => t.code));
  const templates = new Set(await templateIdsOf(deps, programId));
  const { total } = source;
  const summary: RewardImportSummary = { read: 0, created: 0, updated: 0, refused: [] };
  let reported = -1;
  for await (const { rows, bytes } of source.rows) {
    // The last row of a SKU wins, as a later line of the file would have on a rerun.
    const bySku = new Map<string, { line: number; reward: Reward }>();
    for (const { line, row } of rows) {
      summary.read++;
      const refuse = (detail: string) =>
        summary.refused.push({ line, sku: row.sku, code: 'validation_failed', detail });
      const body = bodyOf(row);
      if (!isStorableValue(body)) {
        refuse('holds text that cannot be stored');
        continue;
      }
      const parsed = createRewardBody.safeParse(body);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        refuse(issue ? `${issue.path.join('.')}: ${issue.message}` : 'invalid reward');
        continue;
      }
      const reward = newReward(deps, programId, parsed.data);
      const unknown = reward.tierPrices.find((p) => !tiers.has(p.tier));
      if (unknown) {
        refuse(`tierPrices: no tier ${unknown.tier} in the ladder`);
        continue;
      }
      const misfit =
        templateMisfit(reward) ??
        (reward.couponTemplateId !== null && !templates.has(reward.couponTemplateId)
          ? `no coupon template ${reward.couponTemplateId} in the program`
          : undefined);
      if (misfit) {
        refuse(`couponTemplateId: ${misfit}`);
        continue;
      }
      if (reward.startsAt && reward.endsAt && reward.endsAt <= reward.startsAt) {
        refuse('endsAt: must be after startsAt');
        continue;
      }
      bySku.set(reward.sku, { line, reward });
    }
    const chunk = [...bySku.values()];
    const done = await inTransaction(deps.db, async (trx) => {
      const upserted = await upsertRewards(
        trx,
        chunk.map((c) => c.reward),
      );
      const created = upserted.filter((u) => u.inserted).length;
      await recordAudit(
        { ...deps, db: trx },
        {
          actor,
          action: 'rewards.imported',
          programId,
          after: { ...origin, created, updated: upserted.length - created },
        },
      );
      return upserted;
    });
    const written = new Set(done.map((u) => u.sku));
    for (const c of chunk) {
      if (!written.has(c.reward.sku)) {
        summary.refused.push({
          line: c.line,
          sku: c.reward.sku,
          code: 'stock_below_reserved',
          detail: `stock ${c.reward.stock} is below what orders reserved`,
        });
      }
    }
    summary.created += done.filter((u) => u.inserted).length;
    summary.updated += done.filter((u) => !u.inserted).length;
    progress(bytes, total, summary);
    reported = bytes;
  }
  if (reported !== total) progress(total, total, summary);
  summary.refused.sort((a, b) => a.line - b.line);
  return summary;
}

/** A one-line progress bar for a terminal. */
export function rewardsProgressBar(
  done: number,
  total: number,
  s: RewardImportSummary,
  began: number,
): string {
  const share = total > 0 ? Math.min(1, done / total) : 1;
  const width = 30;
  const filled = Math.round(share * width);
  const rate = (s.created + s.updated) / Math.max(0.001, (performance.now() - began) / 1000);
  const n = (x: number) => x.toLocaleString('en');
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(share * 100).toFixed(0).padStart(3)}%  ${n(s.read)} read, ${n(s.created)} created, ${n(s.updated)} updated, ${n(s.refused.length)} refused  ${n(Math.round(rate))}/s`;
}
