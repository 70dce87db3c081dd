/**
 * Shared benchmark helpers: median timing with warm-up, ratio formatting, and writing a bench's latest
 * results into its own marked section of docs/benchmarks.md.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';

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
  const { warmup = 2, runs = 7 } = options;
  for (let i = 0; i < warmup; i++) fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] as number;
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
export function writeBenchSection(name: string, markdown: string): void {
  const start = `<!-- bench:${name}:start -->`;
  const end = `<!-- bench:${name}:end -->`;
  const doc = existsSync(DOC) ? readFileSync(DOC, 'utf8') : '# Benchmarks\n';
  const block = `${start}\n${markdown.trim()}\n${end}`;
  const i = doc.indexOf(start);
  const j = doc.indexOf(end);
  const next = i >= 0 && j > i ? doc.slice(0, i) + block + doc.slice(j + end.length) : `${doc.trimEnd()}\n\n${block}\n`;
  writeFileSync(DOC, next);
}
