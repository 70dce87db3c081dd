/**
 * Results of the Fashion-MNIST-LT benchmark: one record per (row, split, seed) run, aggregation over
 * seeds (mean ± sample std), and the Markdown tables — generic over the registered rows and tables, so a
 * new row appears in its table without touching this file.
 */
import type { EvaluationReport } from '../src/index.js';
import { SPLIT_LABELS, SPLIT_NAMES, type SplitName } from './fmnist-data.js';
import type { BenchRow, BenchTable } from './fmnist-rows.js';
import { selectionOf, VALIDATION_FRACTION, type Selection } from './fmnist-select.js';
import { markdownTable } from './util.js';

/** One finished run, as plain JSON (accuracies in %; null where undefined, e.g. an empty shot group). */
export interface RunRecord {
  readonly row: string;
  readonly split: SplitName;
  readonly seed: number;
  readonly epochs: number;
  /** Wall time of the row call (training + evaluation; ~0 for a row that reuses another row's run). */
  readonly seconds: number;
  readonly top1: number;
  readonly balanced: number;
  readonly many: number | null;
  readonly medium: number | null;
  readonly few: number | null;
  readonly perClass: readonly (number | null)[];
  /** Rows that choose hyperparameters on a validation split (bench/fmnist-select.ts): what they saw and chose. */
  readonly selection?: Selection;
}

const pctOrNull = (v: number | undefined): number | null => (v === undefined || Number.isNaN(v) ? null : 100 * v);

/** The record of a report. */
export function toRecord(row: string, split: SplitName, seed: number, epochs: number, seconds: number, report: EvaluationReport): RunRecord {
  return {
    row,
    split,
    seed,
    epochs,
    seconds,
    top1: 100 * report.top1,
    balanced: 100 * report.balancedAccuracy,
    many: pctOrNull(report.groups?.many.accuracy),
    medium: pctOrNull(report.groups?.medium.accuracy),
    few: pctOrNull(report.groups?.few.accuracy),
    perClass: report.perClass.map((v) => pctOrNull(v)),
    ...(selectionOf(report) === undefined ? {} : { selection: selectionOf(report) as Selection }),
  };
}

/** A `--json` / `--report` file that cannot be used: not records, another backend, or a run twice. */
export class RecordFileError extends Error {}

/** Records of one or more runs of the benchmark, and the backend they ran on. */
export interface MergedRecords {
  readonly backend: string | undefined;
  readonly records: RunRecord[];
}

/**
 * Merges the record files of separate runs (e.g. splits run in parallel processes). Every file must name
 * the same backend; one run (row, split, seed) in two files is refused rather than silently counted twice.
 */
export function mergeRecordFiles(files: readonly { readonly name: string; readonly text: string }[]): MergedRecords {
  const records: RunRecord[] = [];
  const seen = new Map<string, string>();
  let backend: string | undefined;
  for (const file of files) {
    const saved = JSON.parse(file.text) as { backend?: unknown; records?: unknown };
    if (!Array.isArray(saved.records)) throw new RecordFileError(`${file.name} has no "records" array (write one with --json).`);
    if (typeof saved.backend === 'string') {
      if (backend !== undefined && backend !== saved.backend) {
        throw new RecordFileError(`${file.name} was run on ${saved.backend}, an earlier file on ${backend}.`);
      }
      backend = saved.backend;
    }
    for (const r of saved.records as RunRecord[]) {
      const key = `${r.row}|${r.split}|${r.seed}`;
      const other = seen.get(key);
      if (other !== undefined) throw new RecordFileError(`run ${r.row} on ${r.split}, seed ${r.seed} is in both ${other} and ${file.name}.`);
      seen.set(key, file.name);
      records.push(r);
    }
  }
  return { backend, records };
}

/** Mean and sample standard deviation (n − 1; NaN for one value) of the defined values. */
export interface Summary {
  readonly mean: number;
  readonly std: number;
  readonly n: number;
}

/** {@link Summary} of a list (nulls skipped; NaN mean when none is defined). */
export function summarize(values: readonly (number | null)[]): Summary {
  const v = values.filter((x): x is number => x !== null && !Number.isNaN(x));
  const n = v.length;
  if (n === 0) return { mean: NaN, std: NaN, n };
  const mean = v.reduce((a, b) => a + b, 0) / n;
  const std = n > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : NaN;
  return { mean, std, n };
}

function fmt(s: Summary, digits = 2): string {
  if (Number.isNaN(s.mean)) return '–';
  return Number.isNaN(s.std) ? s.mean.toFixed(digits) : `${s.mean.toFixed(digits)} ± ${s.std.toFixed(digits)}`;
}

function signed(d: number): string {
  return `${d >= 0 ? '+' : '−'}${Math.abs(d).toFixed(2)}`;
}

/** Parity tolerance of issue 6: |ours − reference| ≤ 0.6 points of top-1. */
export const PARITY_TOLERANCE = 0.6;

/** Records of one row on one split. */
function recordsOf(records: readonly RunRecord[], row: string, split: SplitName): RunRecord[] {
  return records.filter((r) => r.row === row && r.split === split);
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}

/** A row's top-1 cell: "mean ± std (ref r, Δ ±d)". */
function topCell(row: BenchRow, records: readonly RunRecord[], split: SplitName): string {
  const recs = recordsOf(records, row.id, split);
  if (recs.length === 0) return '';
  const s = summarize(recs.map((r) => r.top1));
  const ref = row.reference?.[split];
  return ref === undefined || Number.isNaN(ref) ? fmt(s) : `${fmt(s)} (ref ${ref.toFixed(2)}, ${signed(s.mean - ref)})`;
}

/** The grid of one table on one split: models down, methods across. Null when no row of it has results. */
export function gridTable(table: BenchTable, rows: readonly BenchRow[], records: readonly RunRecord[], split: SplitName): string | null {
  const mine = rows.filter((r) => r.table === table.id && recordsOf(records, r.id, split).length > 0);
  if (mine.length === 0) return null;
  const models = unique(mine.map((r) => r.model));
  const methods = unique(mine.map((r) => r.method));
  const body = models.map((m) => [
    m,
    ...methods.map((method) => {
      const row = mine.find((r) => r.model === m && r.method === method);
      return row === undefined ? '–' : topCell(row, records, split);
    }),
  ]);
  const title = table.title.replace('{split}', SPLIT_LABELS[split]);
  return `**${title}** — top-1 % on the balanced test set\n\n${markdownTable([SPLIT_LABELS[split], ...methods], body)}`;
}

/** Every row on one split: top-1, reference, difference, balanced accuracy, many / medium / few, time. */
export function detailTable(rows: readonly BenchRow[], records: readonly RunRecord[], split: SplitName): string | null {
  const mine = rows.filter((r) => recordsOf(records, r.id, split).length > 0);
  if (mine.length === 0) return null;
  const body = mine.map((row) => {
    const recs = recordsOf(records, row.id, split);
    const top = summarize(recs.map((r) => r.top1));
    const ref = row.reference?.[split];
    const hasRef = ref !== undefined && !Number.isNaN(ref);
    const time = row.sharesRunWith !== undefined ? `(${row.sharesRunWith} run)` : summarize(recs.map((r) => r.seconds)).mean.toFixed(0);
    return [
      row.model,
      row.method,
      fmt(top),
      hasRef ? ref.toFixed(2) : '',
      hasRef ? signed(top.mean - ref) : '',
      fmt(summarize(recs.map((r) => r.balanced))),
      fmt(summarize(recs.map((r) => r.many))),
      fmt(summarize(recs.map((r) => r.medium))),
      fmt(summarize(recs.map((r) => r.few))),
      time,
    ];
  });
  return markdownTable(['model', 'method', 'top-1', 'PyTorch', 'Δ', 'balanced', 'many', 'medium', 'few', 's / run'], body);
}

/** Rows whose mean top-1 is further than {@link PARITY_TOLERANCE} from their reference, per split. */
export function parityGaps(rows: readonly BenchRow[], records: readonly RunRecord[]): { checked: number; outside: string[]; largest: number } {
  let checked = 0;
  let largest = 0;
  const outside: string[] = [];
  for (const split of SPLIT_NAMES) {
    for (const row of rows) {
      const ref = row.reference?.[split];
      const recs = recordsOf(records, row.id, split);
      if (ref === undefined || Number.isNaN(ref) || recs.length === 0) continue;
      const d = summarize(recs.map((r) => r.top1)).mean - ref;
      checked++;
      largest = Math.max(largest, Math.abs(d));
      if (Math.abs(d) > PARITY_TOLERANCE) outside.push(`${SPLIT_LABELS[split]} ${row.model} / ${row.method} (${signed(d)})`);
    }
  }
  return { checked, outside, largest };
}

/** Issue 7's goal: the best method on IF 100 closes at least this fraction of the CE → balanced gap. */
export const GOAL_FRACTION = 0.5;

/** One architecture's progress towards {@link GOAL_FRACTION}. */
export interface GapClosure {
  readonly model: string;
  /** Mean top-1 of cross-entropy on IF 100, of the balanced upper bound, and of the best IF 100 row. */
  readonly ce: number;
  readonly upper: number;
  readonly best: number;
  readonly bestMethod: string;
  /** (best − CE) / (upper − CE). */
  readonly fraction: number;
  /** Mean top-1 of the same architecture on balanced data of the IF 100 size, when that row ran. */
  readonly sameSize?: number;
}

/**
 * Per architecture (row label) with a cross-entropy row on IF 100 and an upper-bound row on the balanced
 * 60,000 images among the records: the fraction (best − CE) / (upper − CE) of the gap closed by the row of
 * that architecture with the highest mean IF 100 top-1 (rows of another label, e.g. a 6-class variant,
 * never count).
 */
export function gapClosure(rows: readonly BenchRow[], records: readonly RunRecord[]): GapClosure[] {
  const mean = (row: BenchRow, split: SplitName): number => summarize(recordsOf(records, row.id, split).map((r) => r.top1)).mean;
  const out: GapClosure[] = [];
  for (const model of unique(rows.map((r) => r.model))) {
    const mine = rows.filter((r) => r.model === model);
    const ceRow = mine.find((r) => r.table !== 'upper' && isCrossEntropy(r.method) && recordsOf(records, r.id, 'ir100').length > 0);
    const upperRow = mine.find((r) => r.table === 'upper' && recordsOf(records, r.id, 'full').length > 0);
    if (ceRow === undefined || upperRow === undefined) continue;
    const candidates = mine.filter((r) => r.table !== 'upper' && r.table !== 'sameSize' && recordsOf(records, r.id, 'ir100').length > 0);
    let bestRow = ceRow;
    for (const r of candidates) if (mean(r, 'ir100') > mean(bestRow, 'ir100')) bestRow = r;
    const ce = mean(ceRow, 'ir100');
    const upper = mean(upperRow, 'full');
    const best = mean(bestRow, 'ir100');
    const sameSizeRow = mine.find((r) => r.table === 'sameSize' && recordsOf(records, r.id, 'full').length > 0);
    const sameSize = sameSizeRow === undefined ? {} : { sameSize: mean(sameSizeRow, 'full') };
    out.push({ model, ce, upper, best, bestMethod: bestRow.method, fraction: (best - ce) / (upper - ce), ...sameSize });
  }
  return out;
}

/** The cross-entropy column of an architecture: 'cross-entropy', or e.g. 'cross-entropy (stage 1)'. */
function isCrossEntropy(method: string): boolean {
  return method === 'cross-entropy' || method.startsWith('cross-entropy (');
}

function gapLine(g: GapClosure): string {
  const verdict = g.fraction >= GOAL_FRACTION ? 'meets' : 'misses';
  const ceiling =
    g.sameSize === undefined
      ? ''
      : `; the same number of training images, balanced, reaches ${g.sameSize.toFixed(2)} (${((100 * (g.sameSize - g.ce)) / (g.upper - g.ce)).toFixed(0)} % of the gap): the part of the gap due to the imbalance rather than to the smaller training set, an upper bound for what re-balancing could recover, since the IF 100 split has fewer distinct images of its rare classes`;
  return `${g.model}: CE ${g.ce.toFixed(2)}, balanced upper bound ${g.upper.toFixed(2)}, best ${g.bestMethod} ${g.best.toFixed(2)} → ${(100 * g.fraction).toFixed(0)} % of the gap closed (${verdict} the goal)${ceiling}`;
}

/**
 * The hyperparameter choices of the rows that select on validation: per row and split, each candidate's
 * balanced validation accuracy (mean over seeds) and how many seeds chose it. Null without such records.
 */
function selectionTable(rows: readonly BenchRow[], records: readonly RunRecord[]): string | null {
  const body: string[][] = [];
  for (const split of SPLIT_NAMES) {
    for (const row of rows) {
      const mine = recordsOf(records, row.id, split).filter((r) => r.selection !== undefined);
      if (mine.length === 0) continue;
      const names = Object.keys((mine[0] as RunRecord & { selection: Selection }).selection.scores);
      const cells = names.map((name) => {
        const scores = mine.map((r) => (r.selection as Selection).scores[name]).filter((v): v is number => v !== undefined);
        const picked = mine.filter((r) => (r.selection as Selection).chosen === name).length;
        return `${name} ${summarize(scores).mean.toFixed(2)}${picked > 0 ? ` (chosen ×${picked})` : ''}`;
      });
      body.push([SPLIT_LABELS[split], `${row.model} / ${row.method}`, cells.join('; ')]);
    }
  }
  if (body.length === 0) return null;
  const head = `**Hyperparameters chosen on validation** (bench/fmnist-select.ts: per seed, ${100 * VALIDATION_FRACTION} % of each class's training images held out, every candidate trained on the rest and scored by balanced accuracy on them; the best is retrained on the whole split and tested once; the test set never takes part in the choice). Cells: candidate, mean balanced validation accuracy (%) over the seeds, and how many seeds chose it.`;
  return `${head}\n\n${markdownTable(['split', 'row', 'candidates'], body)}`;
}

/** Everything the benchmark reports, as Markdown: grids per split and table, then the detail tables. */
export function reportMarkdown(options: {
  readonly header: string;
  readonly tables: readonly BenchTable[];
  readonly rows: readonly BenchRow[];
  readonly records: readonly RunRecord[];
}): string {
  const { tables, rows, records } = options;
  const parts: string[] = [options.header];
  for (const split of SPLIT_NAMES) {
    for (const table of tables) {
      const grid = gridTable(table, rows, records, split);
      if (grid !== null) parts.push(grid);
    }
  }
  const gaps = parityGaps(rows, records);
  if (gaps.checked > 0) {
    parts.push(
      gaps.outside.length === 0
        ? `Parity: all ${gaps.checked} rows with a PyTorch reference are within ${PARITY_TOLERANCE} points (largest |Δ| ${gaps.largest.toFixed(2)}).`
        : `Parity: ${gaps.checked - gaps.outside.length} of ${gaps.checked} rows with a PyTorch reference are within ${PARITY_TOLERANCE} points; outside: ${gaps.outside.join('; ')}.`,
    );
  }
  const verdicts = recipeVerdicts(rows, records);
  if (verdicts.length > 0) parts.push(`Each library recipe against its baseline on IF 100 (same architecture and data): ${verdicts.join('; ')}.`);
  const closure = gapClosure(rows, records);
  if (closure.length > 0) {
    parts.push(`Goal of issue 7 (best method on IF 100 closes ≥ ${100 * GOAL_FRACTION} % of the gap between CE and the balanced upper bound, same architecture; only the rows present are compared): ${closure.map(gapLine).join('; ')}.`);
  }
  const selections = selectionTable(rows, records);
  if (selections !== null) parts.push(selections);
  for (const split of SPLIT_NAMES) {
    const detail = detailTable(rows, records, split);
    if (detail !== null) parts.push(`**${SPLIT_LABELS[split]}, every row** (mean ± std over seeds; % on the balanced test set; many n > 100, medium 20–100, few n < 20 training images)\n\n${detail}`);
  }
  return parts.join('\n\n');
}

/** Issue 17's margin: the best library recipe on the MLP must beat the logit-adjusted loss by this many points. */
export const LA_MARGIN = 1;

/** The recipe tables (the library's methods), as opposed to the reference recipes and the upper bound. */
const RECIPE_TABLES = new Set(['recipes', 'granularity']);

/** Mean ± std of a row's IF 100 top-1 over its seeds (NaN mean when the row has no IF 100 record). */
function ir100(records: readonly RunRecord[], row: BenchRow): Summary {
  return summarize(recordsOf(records, row.id, 'ir100').map((r) => r.top1));
}

/**
 * The baseline a recipe row is judged against on IF 100: its `baselineRow`, else the cross-entropy row of
 * the same architecture.
 */
function baselineOf(row: BenchRow, rows: readonly BenchRow[], records: readonly RunRecord[]): BenchRow | undefined {
  if (row.baselineRow !== undefined) return rows.find((r) => r.id === row.baselineRow && recordsOf(records, r.id, 'ir100').length > 0);
  const present = rows.filter((r) => r !== row && r.model === row.model && recordsOf(records, r.id, 'ir100').length > 0);
  return present.find((r) => r.table !== 'upper' && isCrossEntropy(r.method));
}

/**
 * Issue 17's checks on IF 100, one sentence each: every recipe row against its baseline (the difference of
 * the means, and whether it exceeds the larger of the two standard deviations), and the best recipe on the
 * MLP 256 against the logit-adjusted loss (≥ {@link LA_MARGIN} point) and against half of the CE → balanced gap.
 */
export function recipeVerdicts(rows: readonly BenchRow[], records: readonly RunRecord[]): string[] {
  const lines: string[] = [];
  const baselines = new Set(rows.map((r) => r.baselineRow).filter((id) => id !== undefined));
  for (const row of rows.filter((r) => RECIPE_TABLES.has(r.table) && !isCrossEntropy(r.method) && !baselines.has(r.id))) {
    const base = baselineOf(row, rows, records);
    const mine = ir100(records, row);
    if (base === undefined || Number.isNaN(mine.mean)) continue;
    const theirs = ir100(records, base);
    const d = mine.mean - theirs.mean;
    const noise = Math.max(mine.std, theirs.std);
    const verdict = d <= 0 ? 'does not beat it' : !Number.isNaN(noise) && d <= noise ? 'beats it within one std' : 'beats it';
    lines.push(`${row.model} / ${row.method}: ${mine.mean.toFixed(2)} vs ${base.method} ${theirs.mean.toFixed(2)} (${signed(d)}): ${verdict}`);
  }
  const mlp = 'MLP 256';
  const la = rows.find((r) => r.model === mlp && r.method === 'logit-adjusted loss');
  const recipes = rows.filter((r) => r.model === mlp && RECIPE_TABLES.has(r.table) && !Number.isNaN(ir100(records, r).mean));
  if (la !== undefined && recipes.length > 0 && !Number.isNaN(ir100(records, la).mean)) {
    const best = recipes.reduce((a, b) => (ir100(records, b).mean > ir100(records, a).mean ? b : a));
    const [b, l] = [ir100(records, best).mean, ir100(records, la).mean];
    const gap = gapClosure(rows, records).find((g) => g.model === mlp);
    const half = gap === undefined ? '' : `; it closes ${(100 * (b - gap.ce) / (gap.upper - gap.ce)).toFixed(0)} % of the CE → balanced gap (${gap.ce.toFixed(2)} → ${gap.upper.toFixed(2)}; goal ≥ ${100 * GOAL_FRACTION} %)`;
    lines.push(
      `best library recipe on the ${mlp}: ${best.method} ${b.toFixed(2)} vs the logit-adjusted loss ${l.toFixed(2)} (${signed(b - l)}; goal ≥ +${LA_MARGIN.toFixed(2)}: ${b - l >= LA_MARGIN ? 'met' : 'not met'})${half}`,
    );
  }
  lines.push(...sameScheduleVerdicts(rows, records));
  return lines;
}

/**
 * The baseline groups of the `schedule` table (e.g. the MLP with a cosine learning rate): each group's best
 * row other than its logit-adjusted loss against that loss, with the same {@link LA_MARGIN}, so a lead that
 * comes from the schedule is not credited to a recipe.
 */
function sameScheduleVerdicts(rows: readonly BenchRow[], records: readonly RunRecord[]): string[] {
  const lines: string[] = [];
  for (const model of unique(rows.filter((r) => r.table === 'schedule').map((r) => r.model))) {
    const la = rows.find((r) => r.model === model && r.method === 'logit-adjusted loss' && !Number.isNaN(ir100(records, r).mean));
    const others = rows.filter((r) => r.model === model && r !== la && r.table !== 'upper' && !isCrossEntropy(r.method) && !Number.isNaN(ir100(records, r).mean));
    if (la === undefined || others.length === 0) continue;
    const best = others.reduce((a, b) => (ir100(records, b).mean > ir100(records, a).mean ? b : a));
    const [b, l] = [ir100(records, best).mean, ir100(records, la).mean];
    const protocol = rows.find((r) => r.model === 'MLP 256' && r.method === 'logit-adjusted loss' && !Number.isNaN(ir100(records, r).mean));
    const p = protocol === undefined ? Number.NaN : ir100(records, protocol).mean;
    const against = Number.isNaN(p) ? '' : `; against the protocol's logit-adjusted loss ${p.toFixed(2)}: ${signed(b - p)}`;
    lines.push(`${model}: best ${best.method} ${b.toFixed(2)} vs the logit-adjusted loss with the same schedule ${l.toFixed(2)} (${signed(b - l)}; margin ≥ +${LA_MARGIN.toFixed(2)}: ${b - l >= LA_MARGIN ? 'met' : 'not met'})${against}`);
  }
  return lines;
}

/**
 * README's results block: the IF 100 reference grid, the library's recipes with their baselines, and the
 * goal checks — all from the records (bench:fmnist --write rewrites it between its markers).
 */
export function readmeMarkdown(rows: readonly BenchRow[], records: readonly RunRecord[]): string {
  const parts: string[] = [];
  const parity = gridTable({ id: 'parity', title: 'IF 100, the reference recipes (PyTorch 1.13 in brackets)' }, rows, records, 'ir100');
  if (parity !== null) parts.push(parity.replace(/\(ref ([0-9.]+), [^)]*\)/g, '($1)'));
  const baselines = new Set(rows.map((r) => r.baselineRow).filter((id) => id !== undefined));
  const body = rows
    .filter((r) => RECIPE_TABLES.has(r.table) && !isCrossEntropy(r.method) && !baselines.has(r.id) && recordsOf(records, r.id, 'ir100').length > 0)
    .map((r) => {
      const base = baselineOf(r, rows, records);
      const compare = base === undefined || base === r ? '' : `${base.method}: ${fmt(ir100(records, base))}`;
      return [`${r.model} / ${r.method}`, fmt(ir100(records, r)), compare];
    });
  if (body.length > 0) parts.push(`**IF 100, the library's recipes** — top-1 % on the balanced test set, mean ± std over the seeds\n\n${markdownTable(['recipe', 'top-1', 'baseline (same architecture)'], body)}`);
  const closure = gapClosure(rows, records);
  const checks = [...recipeVerdicts(rows, records), ...closure.map(gapLine)];
  if (checks.length > 0) parts.push(`Checks, from the same records:\n\n${checks.map((c) => `- ${c}.`).join('\n')}`);
  return parts.join('\n\n');
}
