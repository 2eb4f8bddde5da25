import fs from 'node:fs';
import readline from 'node:readline';
import type { Deps } from '../deps.ts';
import { IDENTIFIER_TYPES } from '../members/members.core.ts';
import { csvFields } from '../shared/csv.ts';
import { isStorableValue } from '../shared/text.ts';
import { purchaseBody } from './purchases.schemas.ts';
import { type PurchaseInput, recordPurchases } from './purchases.service.ts';

// `tessera import purchases FILE --program P`: a till system's or a shop's export, loaded through
// the same path as `POST …/purchases/batch` (the same rules, the same ledger batches), a thousand
// purchases at a time, two chunks in flight. A rerun skips what was imported: the purchase id is
// the idempotency key, so a repeat answers its first result and changes nothing.
//
// JSON Lines: one purchase per line, as the API takes it.
// CSV: a header row naming the columns `id, member, amount, occurredAt` and optionally `currency,
// store, channel, paymentMethod, enroll, sku, category, quantity, itemAmount`. `member` is a
// member id or `type:value` (`phone:13800138000`). A purchase with several items takes one row per
// item, rows of one id one after another; `amount` repeats on each (or is left empty after the
// first).

/** One source line's purchase, or why it could not be read. */
export type SourceRecord = { line: number; purchase: unknown } | { line: number; error: string };

const CSV_COLUMNS = ['id', 'member', 'amount', 'occurredAt'] as const;

function memberOf(value: string): unknown {
  const colon = value.indexOf(':');
  const type = value.slice(0, colon);
  if (colon > 0 && (IDENTIFIER_TYPES as readonly string[]).includes(type)) {
    return { identifier: { type, value: value.slice(colon + 1) } };
  }
  return { id: value };
}

const numberOrText = (v: string) => (v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : v);

/**
 * Reads a source file's purchases in order, a chunk at a time: JSON Lines, or CSV rows grouped
 * by id into purchases with items.
 */
export async function* readPurchases(
  file: string,
  chunk: number,
): AsyncGenerator<{ records: SourceRecord[]; bytes: number }> {
  const csv = file.toLowerCase().endsWith('.csv');
  const stream = fs.createReadStream(file);
  const lines = readline.createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  let header: string[] | undefined;
  let records: SourceRecord[] = [];
  let open: { line: number; purchase: Record<string, unknown> } | undefined;
  let n = 0;
  const close = () => {
    if (open) records.push(open);
    open = undefined;
  };
  for await (const text of lines) {
    n++;
    if (text.trim() === '') continue;
    if (!csv) {
      try {
        records.push({ line: n, purchase: JSON.parse(text) });
      } catch {
        records.push({ line: n, error: 'not valid JSON' });
      }
    } else if (!header) {
      header = csvFields(text).map((h) => h.trim());
      const missing = CSV_COLUMNS.filter((c) => !header?.includes(c));
      if (missing.length) throw new Error(`the CSV header lacks ${missing.join(', ')}`);
      continue;
    } else {
      const fields = csvFields(text);
      const row = Object.fromEntries((header ?? []).map((h, i) => [h, fields[i] ?? '']));
      const item =
        row.sku !== undefined && row.sku !== ''
          ? {
              sku: row.sku,
              ...(row.category && { category: row.category }),
              quantity: numberOrText(row.quantity || '1'),
              amount: numberOrText(row.itemAmount ?? ''),
            }
          : undefined;
      if (open && open.purchase.id === row.id && item) {
        (open.purchase.items as unknown[]).push(item);
        continue;
      }
      close();
      open = {
        line: n,
        purchase: {
          id: row.id,
          member: memberOf(row.member ?? ''),
          amount: numberOrText(row.amount ?? ''),
          currency: row.currency || 'CNY',
          occurredAt: row.occurredAt,
          ...(row.store && { store: row.store }),
          ...(row.channel && { channel: row.channel }),
          ...(row.paymentMethod && { paymentMethod: row.paymentMethod }),
          ...(row.enroll === 'true' && { enroll: true }),
          ...(item && { items: [item] }),
        },
      };
    }
    // A CSV purchase may go on in the next row: a chunk ends only between purchases.
    if (records.length >= chunk) {
      yield { records, bytes: stream.bytesRead };
      records = [];
    }
  }
  close();
  if (records.length) yield { records, bytes: stream.bytesRead };
}

export interface ImportSummary {
  read: number;
  imported: number;
  /** Imported before (a rerun): answered from their record, nothing changed. */
  skipped: number;
  refused: { line: number; id?: string; code: string; detail: string }[];
  points: number;
}

/**
 * Imports a file's purchases into a program, reporting progress (bytes read of the file's size)
 * as it goes. Each purchase stands alone: a refused one is listed and the rest go on.
 */
export async function importPurchases(
  deps: Deps,
  programId: string,
  file: string,
  progress: (done: number, total: number, summary: ImportSummary) => void = () => {},
): Promise<ImportSummary> {
  const total = fs.statSync(file).size;
  const summary: ImportSummary = { read: 0, imported: 0, skipped: 0, refused: [], points: 0 };
  const run = async (records: SourceRecord[]) => {
    const valid: { line: number; purchase: PurchaseInput }[] = [];
    for (const r of records) {
      summary.read++;
      if ('error' in r) {
        summary.refused.push({ line: r.line, code: 'validation_failed', detail: r.error });
        continue;
      }
      // The API refuses such text before it reaches the database; a file is checked here.
      if (!isStorableValue(r.purchase)) {
        summary.refused.push({
          line: r.line,
          code: 'validation_failed',
          detail: 'holds text that cannot be stored (a NUL character or half a surrogate pair)',
        });
        continue;
      }
      const parsed = purchaseBody.safeParse(r.purchase);
      if (parsed.success) valid.push({ line: r.line, purchase: parsed.data });
      else {
        const issue = parsed.error.issues[0];
        summary.refused.push({
          line: r.line,
          id: String((r.purchase as { id?: unknown })?.id ?? ''),
          code: 'validation_failed',
          detail: issue ? `${issue.path.join('.')}: ${issue.message}` : 'invalid purchase',
        });
      }
    }
    const outcomes = await recordPurchases(
      deps,
      programId,
      valid.map((v) => v.purchase),
      null,
    );
    outcomes.forEach((o, i) => {
      const v = valid[i] as (typeof valid)[number];
      if (!o.ok) {
        summary.refused.push({
          line: v.line,
          id: v.purchase.id,
          code: o.error.code,
          detail: o.error.message,
        });
      } else if (o.value.replayed) summary.skipped++;
      else {
        summary.imported++;
        summary.points += o.value.result.points.earned;
      }
    });
  };
  // Two chunks in flight: one is decided while the ledger writes the other.
  let inFlight: Promise<void> | undefined;
  for await (const { records, bytes } of readPurchases(file, 1000)) {
    const next = run(records);
    if (inFlight) await inFlight;
    progress(bytes, total, summary);
    inFlight = next;
  }
  await inFlight;
  progress(total, total, summary);
  summary.refused.sort((a, b) => a.line - b.line);
  return summary;
}

/** A one-line progress bar for a terminal. */
export function progressBar(done: number, total: number, s: ImportSummary, began: number): string {
  const share = total > 0 ? Math.min(1, done / total) : 1;
  const width = 30;
  const filled = Math.round(share * width);
  const rate = (s.imported + s.skipped) / Math.max(0.001, (performance.now() - began) / 1000);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(share * 100).toFixed(0).padStart(3)}%  ${s.read.toLocaleString('en')} read, ${s.imported.toLocaleString('en')} imported, ${s.skipped.toLocaleString('en')} skipped, ${s.refused.length.toLocaleString('en')} refused  ${Math.round(rate).toLocaleString('en')}/s`;
}
