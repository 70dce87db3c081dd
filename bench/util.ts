/**
 * Shared benchmark helpers: median timing with warm-up, ratio formatting, and writing a bench's latest
 * results into its own marked section of docs/benchmarks.md.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { capabilities } from '../src/backends/use.js';
import type { JsonObject } from '../src/core/json.js';
import { LIBRARY_VERSION } from '../src/train/manifest.js';

/** Options of {@link timeMedian}. */
export interface TimeOptions {
  readonly warmup?: number;
  readonly runs?: number;
}

/**
 * Median wall time in ms of `fn` over `runs` runs after `warmup` runs. `fn` must finish its work before
 * returning (read results back with dataSync so asynchronous backends are measured honestly).
 */
export function timeMedian(fn: () => void, options: TimeOptions = {}): number {
  const times = timeRuns(fn, options).sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] as number;
}

/** The wall times in ms of each of the `runs` runs behind {@link timeMedian}, in run order. */
export function timeRuns(fn: () => void, options: TimeOptions = {}): number[] {
  const { warmup = 2, runs = 7 } = options;
  for (let i = 0; i < warmup; i++) fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  return times;
}

/** Formats a duration in ms with sensible precision. */
export function ms(value: number): string {
  return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
}

/** `baseline / value` as "12.3×": how many times faster `value` is than `baseline`. */
export function speedup(baseline: number, value: number): string {
  return `${(baseline / value).toFixed(1)}×`;
}

/** A Markdown table from a header and rows. */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** A one-line description of the machine and versions, printed above each result. */
export function environmentLine(): string {
  return `Node ${process.version}, tfjs ${tf.version_core}, ${new Date().toISOString().slice(0, 10)}`;
}

const DOC = join(dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'benchmarks.md');

/**
 * Replaces the section between `<!-- bench:<name>:start -->` and `<!-- bench:<name>:end -->` in
 * docs/benchmarks.md with `markdown` (appending the section when the markers are missing).
 */
export function writeBenchSection(name: string, markdown: string, config?: JsonObject): void {
  writeBenchManifest(name, config);
  const start = `<!-- bench:${name}:start -->`;
  const end = `<!-- bench:${name}:end -->`;
  const doc = existsSync(DOC) ? readFileSync(DOC, 'utf8') : '# Benchmarks\n';
  const block = `${start}\n${markdown.trim()}\n${end}`;
  const i = doc.indexOf(start);
  const j = doc.indexOf(end);
  const next = i >= 0 && j > i ? doc.slice(0, i) + block + doc.slice(j + end.length) : `${doc.trimEnd()}\n\n${block}\n`;
  writeFileSync(DOC, next);
}

/**
 * What produced a bench section: library and tfjs versions, backend and its capabilities (or, for a
 * `--report` run that only rebuilds tables from records, a note saying so), Node, the command line and the
 * bench's own configuration, written beside the results as
 * `bench/results/<name>.manifest.json` (every bench record carries one; see docs/benchmarks.md).
 */
export function benchManifest(name: string, config?: JsonObject): JsonObject {
  return {
    format: 'longtail-bench-manifest',
    version: 1,
    bench: name,
    library: { name: 'longtail', version: LIBRARY_VERSION },
    tfjs: tf.version_core,
    // A `--report` run trains nothing: the backend that matters is the one each records file names.
    backend: process.argv.some((a) => a === '--report' || a.startsWith('--report='))
      ? { reportOnly: true, note: 'no training in this run: tables rebuilt from the records files in command, each naming the backend it ran on' }
      : (capabilities() as unknown as JsonObject),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpus: cpus().length,
    date: new Date().toISOString(),
    command: process.argv.slice(2),
    ...(config === undefined ? {} : { config }),
  };
}

/** Writes {@link benchManifest} to `bench/results/<name>.manifest.json`. */
export function writeBenchManifest(name: string, config?: JsonObject): void {
  const dir = join(dirname(fileURLToPath(import.meta.url)), 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${name}.manifest.json`), `${JSON.stringify(benchManifest(name, config), null, 1)}\n`);
}

/** Options of {@link runPythonBench}. */
export interface PythonBenchOptions {
  /** The interpreter. @defaultValue '/usr/bin/python3' (Debian's, which sees python3-torch, -pot, -numpy, …) */
  readonly python?: string;
  /** The child's stderr: captured (reported by {@link pythonFailure}) or shown as it runs. @defaultValue 'pipe' */
  readonly stderr?: 'pipe' | 'inherit';
  /** Extra environment variables of the child. */
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * Runs the Python side of a bench, `scripts/bench/<script>` with the problem directory `dir` as its argument,
 * and parses the JSON its last line of output prints. Throws as `execFileSync` does (see {@link pythonFailure}).
 */
export function runPythonBench<T>(script: string, dir: string, options: PythonBenchOptions = {}): T {
  const path = join(dirname(fileURLToPath(import.meta.url)), '..', 'scripts', 'bench', script);
  const out = execFileSync(options.python ?? '/usr/bin/python3', [path, dir], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', options.stderr ?? 'pipe'],
    ...(options.env === undefined ? {} : { env: { ...process.env, ...options.env } }),
  });
  return JSON.parse(out.trim().split('\n').pop() as string) as T;
}

/** The last line of a failed {@link runPythonBench}'s stderr (or of its error message): why the baseline is missing. */
export function pythonFailure(e: unknown): string {
  const msg = String((e as { stderr?: unknown }).stderr ?? (e as Error).message);
  return msg.trim().split('\n').pop() as string;
}
