/**
 * CSV with one integer (or named) label column and numeric feature columns.
 */
import { LongTailError, invalid } from '../core/errors.js';
import type { LabeledArrays } from './labeled-data.js';
import { readInputFile } from './node-io.js';

/** Options of {@link parseCsv}. */
export interface CsvOptions {
  /** The label column: a header name, or a 0-based column index. */
  readonly labelColumn: string | number;
  /** Whether the first line is a header. Default true. Required for a named labelColumn. */
  readonly header?: boolean;
  /** Field separator. Default ','. */
  readonly delimiter?: string;
  /**
   * Class names: a label cell equal to `classNames[j]` becomes class j. Without it, label cells must be
   * non-negative integers.
   */
  readonly classNames?: readonly string[];
}

/** Parsed CSV: features [N, D] as float32 and int labels, plus the feature column names. */
export interface CsvData extends LabeledArrays {
  readonly x: Float32Array;
  readonly featureNames: readonly string[];
}

function bad(source: string, what: string, row: number, cell: string): LongTailError {
  return new LongTailError('INVALID_DATA', `expected ${what} in ${source} line ${row + 1}. Received: ${JSON.stringify(cell)}`, {
    source,
    line: row + 1,
  });
}

function splitLine(line: string, delimiter: string): string[] {
  return line.split(delimiter).map((c) => {
    const t = c.trim();
    return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1) : t;
  });
}

/**
 * Parses CSV text (no quoted delimiters) into features and labels.
 *
 * @throws LongTailError `INVALID_OPTION` for an unknown label column; `INVALID_DATA` for ragged rows or
 *   non-numeric features; `LABEL_OUT_OF_RANGE` for a label that is not a non-negative integer or a known name.
 */
export function parseCsv(text: string, options: CsvOptions, source = 'CSV'): CsvData {
  const delimiter = options.delimiter ?? ',';
  const header = options.header ?? true;
  const lines = text.split(/\r?\n/);
  const rows: { cells: string[]; line: number }[] = [];
  lines.forEach((l, i) => {
    if (l.trim().length > 0) rows.push({ cells: splitLine(l, delimiter), line: i });
  });
  const head = header ? rows.shift() : undefined;
  const width = head?.cells.length ?? rows[0]?.cells.length ?? 0;
  let labelIndex: number;
  if (typeof options.labelColumn === 'string') {
    labelIndex = head === undefined ? -1 : head.cells.indexOf(options.labelColumn);
    if (labelIndex < 0) {
      throw invalid('INVALID_OPTION', `labelColumn to name a header column (${head?.cells.join(', ') ?? 'no header'})`, 'labelColumn', options.labelColumn);
    }
  } else {
    labelIndex = options.labelColumn;
    if (!Number.isInteger(labelIndex) || labelIndex < 0 || labelIndex >= width) {
      throw invalid('INVALID_OPTION', `labelColumn in [0, ${width})`, 'labelColumn', labelIndex);
    }
  }
  const d = width - 1;
  const x = new Float32Array(rows.length * d);
  const y = new Int32Array(rows.length);
  rows.forEach(({ cells, line }, r) => {
    if (cells.length !== width) throw bad(source, `${width} fields`, line, `${cells.length} fields`);
    let k = 0;
    cells.forEach((cell, c) => {
      if (c === labelIndex) {
        y[r] = parseLabel(cell, options.classNames, source, line);
        return;
      }
      const v = cell.length === 0 ? NaN : Number(cell);
      if (!Number.isFinite(v)) throw bad(source, 'a finite number', line, cell);
      x[r * d + k] = v;
      k++;
    });
  });
  const names = head?.cells.filter((_, c) => c !== labelIndex) ?? Array.from({ length: d }, (_, c) => `x${c}`);
  return { x, y, sampleShape: [d], featureNames: names };
}

function parseLabel(cell: string, classNames: readonly string[] | undefined, source: string, line: number): number {
  if (classNames !== undefined) {
    const j = classNames.indexOf(cell);
    if (j >= 0) return j;
  } else {
    const v = Number(cell);
    if (cell.length > 0 && Number.isInteger(v) && v >= 0 && v <= 0x7fffffff) return v;
  }
  const what = classNames === undefined ? 'a non-negative integer label' : `a label in classNames`;
  throw new LongTailError('LABEL_OUT_OF_RANGE', `expected ${what} in ${source} line ${line + 1}. Received: ${JSON.stringify(cell)}`, {
    source,
    line: line + 1,
  });
}

/**
 * Reads a CSV file (Node only); see {@link parseCsv}.
 *
 * @throws LongTailError `MISSING_INPUT` when the file cannot be read.
 */
export async function loadCsv(path: string, options: CsvOptions): Promise<CsvData> {
  return parseCsv(await readInputFile(path, 'CSV file', 'utf8'), options, path);
}
