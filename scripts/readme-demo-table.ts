/**
 * Writes the demo's results into the docs (`npm run docs:readme`; `npm run demo -- --write` runs it after
 * the demo): README.md's results table and the one-sentence summary in docs/getting-started.md, both
 * between `<!-- demo:… -->` markers, from the committed docs/demo-results.json. test/examples/readme.test.ts
 * fails when the docs and the JSON disagree.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One method of the demo as docs/demo-results.json stores it (the report has more fields). */
export interface DemoResultRow {
  readonly method: string;
  readonly seconds: number;
  readonly report: {
    readonly top1: number;
    readonly balancedAccuracy: number;
    readonly groups?: { readonly many: { readonly accuracy: number }; readonly medium: { readonly accuracy: number }; readonly few: { readonly accuracy: number } };
  };
}

/** docs/demo-results.json. */
export interface DemoResults {
  readonly dataset: string;
  readonly trainCounts: readonly number[];
  readonly testSize: number;
  readonly epochs: number;
  readonly seed: number;
  readonly backend: string;
  /** Cores of the machine the demo ran on. */
  readonly cpus: number;
  /** Wall time of the whole demo, data loading included. */
  readonly totalSeconds: number;
  /** CPU time (user + system) of the demo's process: close to the wall time on an idle machine. */
  readonly cpuSeconds: number;
  /** The machine's 1-minute load average at the start and at the end (above the core count it was shared). */
  readonly loadAverage: readonly number[];
  readonly rows: readonly DemoResultRow[];
}

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const RESULTS_PATH = join(ROOT, 'docs', 'demo-results.json');

const pct = (v: number | undefined): string => (v === undefined || Number.isNaN(v) ? '-' : (100 * v).toFixed(2));
const int = (n: number): string => n.toLocaleString('en-US');

/** The wall time as people say it: `95 s`, `2 min 24 s`. */
export function wallTime(seconds: number): string {
  const s = Math.round(seconds);
  return s < 120 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

function machine(r: DemoResults): string {
  return `measured on a ${r.cpus}-core VM`;
}

/**
 * CPU time and load: whether the wall times were those of an idle machine. The demo runs on one thread, so
 * a wall time well above its CPU time means it waited for the cores (the load average lags a minute).
 */
function load(r: DemoResults): string {
  const busy = r.totalSeconds > 1.2 * r.cpuSeconds;
  return `${Math.round(r.cpuSeconds)} s of CPU time; 1-minute load average ${r.loadAverage.join(' → ')}${busy ? ': the machine was shared, so the times are longer than on an idle one' : ''}`;
}

/** README's results paragraph and table. */
export function readmeSection(r: DemoResults): string {
  const n = r.trainCounts.reduce((a, b) => a + b, 0);
  const factor = Math.max(...r.trainCounts) / Math.min(...r.trainCounts);
  const best = Math.max(...r.rows.map((row) => row.report.balancedAccuracy));
  const lines = [
    `\`npm run demo\` trains ${r.rows.length} methods on the shipped long-tailed Fashion-MNIST subset (${int(n)} training`,
    `images, imbalance factor ${int(factor)}; balanced ${int(r.testSize)}-image test set): MLP 784-256-10, ${r.epochs} epochs unless the row`,
    `says otherwise, seed ${r.seed}, ${r.backend} backend. It took ${wallTime(r.totalSeconds)} in all, ${machine(r)} (${load(r)}).`,
    'Balanced accuracy and its many/medium/few split, %; one seed on tiny data, so differences of a point or',
    'two are noise. Post-hoc logit adjustment re-scores the cross-entropy model (same training run).',
    '',
    '| method | balanced | many | medium | few | time (s) |',
    '|---|---|---|---|---|---|',
    ...r.rows.map((row) => {
      const g = row.report.groups;
      const bal = pct(row.report.balancedAccuracy);
      return `| ${row.method} | ${row.report.balancedAccuracy === best ? `**${bal}**` : bal} | ${pct(g?.many.accuracy)} | ${pct(g?.medium.accuracy)} | ${pct(g?.few.accuracy)} | ${row.seconds.toFixed(1)} |`;
    }),
  ];
  return lines.join('\n');
}

/** docs/getting-started.md's sentence on the demo. */
export function gettingStartedSentence(r: DemoResults): string {
  return `compares ${r.rows.length} methods in ${wallTime(r.totalSeconds)} (${machine(r)}; ${Math.round(r.cpuSeconds)} s of CPU time)`;
}

/** `text` with what lies between `<!-- name:begin … -->` and `<!-- name:end -->` replaced by `body`. */
export function replaceBetween(text: string, name: string, body: string, separator = '\n'): string {
  const re = new RegExp(`(<!-- ${name}:begin[^>]*-->)[\\s\\S]*?(<!-- ${name}:end -->)`);
  if (!re.test(text)) throw new Error(`expected the markers <!-- ${name}:begin --> … <!-- ${name}:end -->. Received: none`);
  return text.replace(re, (_m, begin: string, end: string) => `${begin}${separator}${body}${separator}${end}`);
}

/** What lies between the markers (the test compares it with what the JSON gives). */
export function between(text: string, name: string): string | undefined {
  return new RegExp(`<!-- ${name}:begin[^>]*-->\\n?([\\s\\S]*?)\\n?<!-- ${name}:end -->`).exec(text)?.[1];
}

export function readResults(path = RESULTS_PATH): DemoResults {
  return JSON.parse(readFileSync(path, 'utf8')) as DemoResults;
}

/** Rewrites README.md and docs/getting-started.md from `results`. */
export function writeDocs(results: DemoResults, root = ROOT): void {
  const readme = join(root, 'README.md');
  writeFileSync(readme, replaceBetween(readFileSync(readme, 'utf8'), 'demo-table', readmeSection(results)));
  const guide = join(root, 'docs', 'getting-started.md');
  writeFileSync(guide, replaceBetween(readFileSync(guide, 'utf8'), 'demo-summary', gettingStartedSentence(results), ''));
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeDocs(readResults());
  console.log(`README.md and docs/getting-started.md rewritten from ${RESULTS_PATH}`);
}
