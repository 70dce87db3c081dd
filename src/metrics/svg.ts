/**
 * An SVG chart of a long-tail evaluation: per-class accuracy as bars, classes ordered by training count
 * (head on the left), with the training count as a line on a log scale — the picture that shows where a
 * method gains (usually the tail).
 */
import { LongTailError } from '../core/errors.js';
import { checkOptions, type OptionKeys } from '../core/options.js';
import { checkInteger, checkSameSize } from '../core/validate.js';
import type { EvaluationReport } from './report.js';
import { importNode } from '../core/node.js';

/** Options of {@link perClassAccuracySvg}. */
export interface PerClassSvgOptions {
  /** Class names for the x axis; default the class index. */
  readonly classNames?: readonly string[];
  readonly title?: string;
  /** Width and height in px. Default 720 × 400. */
  readonly width?: number;
  readonly height?: number;
  /** Legend label of the report's bars (shown when `baseline` is given). Default 'method'. */
  readonly label?: string;
  /**
   * A second report drawn as grey bars beside each class's bar (e.g. plain cross-entropy), so the chart shows
   * where a long-tail method gains. Must have the same number of classes.
   */
  readonly baseline?: { readonly label: string; readonly report: EvaluationReport };
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

function fmt(v: number): string {
  return Number(v.toFixed(2)).toString();
}

const SVG_KEYS: OptionKeys<PerClassSvgOptions> = { classNames: true, title: true, width: true, height: true, label: true, baseline: true };

/**
 * Renders the per-class accuracy chart of a report as an SVG document string. Bars: accuracy of each class
 * (left axis, 0–100%), ordered by training count descending (ties by class index); classes absent from the
 * evaluation have no bar. Line: training count on a log₁₀ axis (right).
 *
 * @throws LongTailError `MISSING_INPUT` if the report has no `trainCounts`.
 */
export function perClassAccuracySvg(report: EvaluationReport, options: PerClassSvgOptions = {}): string {
  checkOptions('perClassAccuracySvg options', options, SVG_KEYS);
  const counts = report.trainCounts;
  if (counts === undefined) {
    throw new LongTailError(
      'MISSING_INPUT',
      'expected a report with trainCounts (pass trainCounts to evaluatePredictions or ClassificationMetrics). Received: report.trainCounts=undefined',
      { name: 'trainCounts' },
    );
  }
  const width = checkInteger('width', options.width ?? 720, { min: 200 });
  const height = checkInteger('height', options.height ?? 400, { min: 150 });
  const c = report.numClasses;
  const order = Array.from({ length: c }, (_, j) => j).sort((a, b) => (counts[b] as number) - (counts[a] as number) || a - b);
  const names = order.map((j) => options.classNames?.[j] ?? String(j));
  const margin = { left: 56, right: 64, top: options.title === undefined ? 24 : 44, bottom: 24 + Math.min(90, 7 * Math.max(...names.map((n) => n.length))) };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const slot = plotW / c;
  const baseline = options.baseline;
  if (baseline !== undefined) checkSameSize('baseline.report.numClasses = report.numClasses', c, 'baseline.report.numClasses', baseline.report.numClasses);
  const barW = Math.max(1, (slot * 0.7) / (baseline === undefined ? 1 : 2));
  const yAcc = (a: number): number => margin.top + plotH * (1 - a);
  const positive = counts.filter((n) => n > 0);
  const lo = Math.floor(Math.log10(Math.min(...positive, 1e9)));
  let hi = Math.ceil(Math.log10(Math.max(...positive, 1)));
  if (hi <= lo) hi = lo + 1;
  const yCount = (n: number): number => margin.top + plotH * (1 - (Math.log10(n) - lo) / (hi - lo));
  const x0 = margin.left;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
  );
  out.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`);
  if (options.title !== undefined) {
    out.push(`<text x="${fmt(width / 2)}" y="20" text-anchor="middle" font-size="14">${escapeXml(options.title)}</text>`);
  }
  // Left axis: accuracy gridlines every 20%.
  for (let k = 0; k <= 5; k++) {
    const y = fmt(yAcc(k / 5));
    out.push(`<line x1="${x0}" y1="${y}" x2="${x0 + plotW}" y2="${y}" stroke="#e0e0e0"/>`);
    out.push(`<text x="${x0 - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${k * 20}%</text>`);
  }
  // Right axis: one tick per decade of the training count.
  for (let e = lo; e <= hi; e++) {
    const y = fmt(yCount(Math.pow(10, e)));
    out.push(`<text x="${x0 + plotW + 6}" y="${y}" dominant-baseline="middle" fill="#c0392b">${escapeXml(String(Math.pow(10, e)))}</text>`);
  }
  out.push(
    `<text transform="translate(14 ${fmt(margin.top + plotH / 2)}) rotate(-90)" text-anchor="middle">per-class accuracy</text>`,
    `<text transform="translate(${width - 12} ${fmt(margin.top + plotH / 2)}) rotate(90)" text-anchor="middle" fill="#c0392b">training count (log scale)</text>`,
  );
  const points: string[] = [];
  order.forEach((j, k) => {
    const cx = x0 + slot * (k + 0.5);
    const acc = report.perClass[j] as number;
    const n = counts[j] as number;
    const bar = (value: number, centre: number, fill: string, label: string): void => {
      if (Number.isNaN(value)) return;
      const y = yAcc(value);
      out.push(
        `<rect x="${fmt(centre - barW / 2)}" y="${fmt(y)}" width="${fmt(barW)}" height="${fmt(margin.top + plotH - y)}" fill="${fill}"><title>${escapeXml(
          `${names[k] as string}${label}: accuracy ${(100 * value).toFixed(1)}%, training count ${n}`,
        )}</title></rect>`,
      );
    };
    if (baseline === undefined) bar(acc, cx, '#4a7db3', '');
    else {
      bar(baseline.report.perClass[j] as number, cx - barW / 2, '#b8b8b8', ` (${baseline.label})`);
      bar(acc, cx + barW / 2, '#4a7db3', ` (${options.label ?? 'method'})`);
    }
    if (n > 0) points.push(`${fmt(cx)},${fmt(yCount(n))}`);
    const ly = fmt(margin.top + plotH + 12);
    out.push(`<text transform="translate(${fmt(cx)} ${ly}) rotate(-40)" text-anchor="end">${escapeXml(names[k] as string)}</text>`);
  });
  out.push(`<line x1="${x0}" y1="${fmt(margin.top + plotH)}" x2="${x0 + plotW}" y2="${fmt(margin.top + plotH)}" stroke="#333333"/>`);
  if (points.length > 0) {
    out.push(`<polyline points="${points.join(' ')}" fill="none" stroke="#c0392b" stroke-width="2"/>`);
    for (const p of points) {
      const [px, py] = p.split(',');
      out.push(`<circle cx="${px}" cy="${py}" r="3" fill="#c0392b"/>`);
    }
  }
  if (baseline !== undefined) {
    const lx = x0 + 8;
    const ly = margin.top + 6;
    out.push(`<rect x="${lx}" y="${ly}" width="10" height="10" fill="#b8b8b8"/>`);
    out.push(`<text x="${lx + 14}" y="${ly + 5}" dominant-baseline="middle">${escapeXml(baseline.label)}</text>`);
    out.push(`<rect x="${lx}" y="${ly + 16}" width="10" height="10" fill="#4a7db3"/>`);
    out.push(`<text x="${lx + 14}" y="${ly + 21}" dominant-baseline="middle">${escapeXml(options.label ?? 'method')}</text>`);
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** Writes {@link perClassAccuracySvg} to a file (Node only). */
export async function writePerClassAccuracySvg(path: string, report: EvaluationReport, options: PerClassSvgOptions = {}): Promise<void> {
  checkOptions('writePerClassAccuracySvg options', options, SVG_KEYS);
  const svg = perClassAccuracySvg(report, options);
  const { writeFile } = await importNode('node:fs/promises');
  await writeFile(path, svg, 'utf8');
}
