/**
 * CSV with one label column and numeric feature columns: the `pd.read_csv` + `LabelEncoder` habit.
 */
import { LongTailError, invalid } from '../core/errors.js';
import { checkOptions, type OptionKeys } from '../core/options.js';
import { checkOneOf } from '../core/validate.js';
import type { LabeledArrays } from './labeled-data.js';
import { readInputFile } from './node-io.js';

/** A column: its header name, or its 0-based index. */
export type CsvColumn = string | number;

/**
 * How label cells become class indices:
 * - `'integer'`: the cells are the class indices (non-negative integers such as `3` or `3.0`);
 * - `'sorted'`: the distinct labels in ascending order get 0, 1, …, as scikit-learn's `LabelEncoder` /
 *   `np.unique(y, return_inverse=True)` (numeric order when every label is a decimal number, else by
 *   Unicode code point);
 * - `'firstSeen'`: in order of first appearance, as `pd.factorize(y)`.
 */
export type CsvLabelEncoding = 'integer' | 'sorted' | 'firstSeen';

/** Options of {@link parseCsv} and {@link loadCsv}. */
export interface CsvOptions {
  /** The label column: a header name, or a 0-based column index. */
  readonly labelColumn: CsvColumn;
  /**
   * The feature columns, in this order (names or indices). Default: every column except the label column
   * and `ignoreColumns`, in file order.
   */
  readonly featureColumns?: readonly CsvColumn[];
  /** Columns to leave out of the features (e.g. an id column); not together with `featureColumns`. */
  readonly ignoreColumns?: readonly CsvColumn[];
  /** Whether the first line is a header. Default true. Required for column names. */
  readonly header?: boolean;
  /** Field separator, a non-empty string. Default ','. */
  readonly delimiter?: string;
  /**
   * How labels are encoded (see {@link CsvLabelEncoding}). Default `'integer'`, or the given
   * `classNames` when present.
   */
  readonly labelEncoding?: CsvLabelEncoding;
  /**
   * Given class names: a label cell equal to `classNames[j]` becomes class j (any other cell is
   * `LABEL_OUT_OF_RANGE`). Excludes `labelEncoding`.
   */
  readonly classNames?: readonly string[];
  /** A name for error messages. Default `'CSV'` ({@link loadCsv}: the path). */
  readonly source?: string;
}

/** Parsed CSV: features [N, D] as float32 and int labels, plus the column names. */
export interface CsvData extends LabeledArrays {
  readonly x: Float32Array;
  /** The feature columns' header names (`x<column index>` without a header), length D. */
  readonly featureNames: readonly string[];
  /**
   * `classNames[j]` is the label text of class j: the discovered classes (`'sorted'`, `'firstSeen'`) or
   * the given `classNames`. Absent for `'integer'` labels.
   */
  readonly classNames?: readonly string[];
}

const KEYS: OptionKeys<CsvOptions> = {
  labelColumn: true,
  featureColumns: true,
  ignoreColumns: true,
  header: true,
  delimiter: true,
  labelEncoding: true,
  classNames: true,
  source: true,
};

/** A decimal number as written by pandas / numpy / Excel: no hex, binary, octal, separators or words. */
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
/** Non-finite spellings pandas writes or reads (`NaN`, `inf`, `-Infinity`, …). */
const NON_FINITE_WORD = /^[+-]?(?:nan|inf|infinity)$/i;

interface Row {
  readonly cells: string[];
  /** 0-based line in the text. */
  readonly line: number;
}

function splitLine(line: string, delimiter: string): string[] {
  return line.split(delimiter).map((c) => {
    const t = c.trim();
    return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1) : t;
  });
}

function cellError(code: 'INVALID_DATA' | 'NON_FINITE' | 'LABEL_OUT_OF_RANGE', what: string, at: { source: string; line: number; column: string }, cell: string): LongTailError {
  return new LongTailError(code, `expected ${what} in ${at.source} line ${at.line + 1}, column ${at.column}. Received: ${JSON.stringify(cell)}`, {
    source: at.source,
    line: at.line + 1,
    column: at.column,
  });
}

function checkColumnList(name: string, value: unknown): readonly CsvColumn[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.some((c) => typeof c !== 'string' && typeof c !== 'number')) {
    throw invalid('INVALID_OPTION', `${name} to be an array of column names or indices`, name, value);
  }
  return value as CsvColumn[];
}

function checkCsvOptions(options: CsvOptions): Required<Pick<CsvOptions, 'header' | 'delimiter' | 'source'>> & CsvOptions {
  const o = checkOptions('parseCsv options', options, KEYS);
  if (typeof o.labelColumn !== 'string' && typeof o.labelColumn !== 'number') {
    throw invalid('INVALID_OPTION', 'labelColumn to be a column name or index', 'labelColumn', o.labelColumn);
  }
  const header = o.header ?? true;
  if (typeof header !== 'boolean') throw invalid('INVALID_OPTION', 'header to be true or false', 'header', header);
  const delimiter = o.delimiter ?? ',';
  if (typeof delimiter !== 'string' || delimiter.length === 0) throw invalid('INVALID_OPTION', 'delimiter to be a non-empty string', 'delimiter', delimiter);
  const source = o.source ?? 'CSV';
  if (typeof source !== 'string') throw invalid('INVALID_OPTION', 'source to be a string', 'source', source);
  const featureColumns = checkColumnList('featureColumns', o.featureColumns);
  const ignoreColumns = checkColumnList('ignoreColumns', o.ignoreColumns);
  if (featureColumns !== undefined && ignoreColumns !== undefined) {
    throw invalid('INVALID_OPTION', 'featureColumns or ignoreColumns, not both', 'ignoreColumns', ignoreColumns);
  }
  if (o.labelEncoding !== undefined) checkOneOf('labelEncoding', o.labelEncoding, ['integer', 'sorted', 'firstSeen']);
  if (o.classNames !== undefined) {
    if (o.labelEncoding !== undefined) {
      throw invalid('INVALID_OPTION', 'either labelEncoding or classNames (given classNames fix the encoding)', 'labelEncoding', o.labelEncoding);
    }
    const names = o.classNames as unknown;
    if (!Array.isArray(names) || names.length === 0 || names.some((n) => typeof n !== 'string')) {
      throw invalid('INVALID_OPTION', 'classNames to be a non-empty array of strings', 'classNames', names);
    }
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup !== undefined) throw invalid('INVALID_OPTION', 'distinct classNames', 'classNames', dup);
  }
  return { ...o, header, delimiter, source };
}

/** The 0-based index of a column named or numbered by `ref`. */
function columnIndex(name: string, ref: CsvColumn, head: readonly string[] | undefined, width: number): number {
  if (typeof ref === 'string') {
    if (head === undefined) throw invalid('INVALID_OPTION', `${name} to be a column index (names need header: true)`, name, ref);
    const at = head.indexOf(ref);
    if (at < 0) throw invalid('INVALID_OPTION', `${name} to name a header column (${head.join(', ')})`, name, ref);
    if (head.lastIndexOf(ref) !== at) throw invalid('INVALID_OPTION', `${name} to name a unique header column (use its index)`, name, ref);
    return at;
  }
  if (!Number.isInteger(ref) || ref < 0 || ref >= width) throw invalid('INVALID_OPTION', `${name} in [0, ${width})`, name, ref);
  return ref;
}

/** The feature columns, in order, after the label and ignored columns are taken out. */
function featureIndices(o: CsvOptions, label: number, head: readonly string[] | undefined, width: number): number[] {
  if (o.featureColumns !== undefined) {
    const cols = o.featureColumns.map((ref, i) => columnIndex(`featureColumns[${i}]`, ref, head, width));
    cols.forEach((c, i) => {
      if (c === label) throw invalid('INVALID_OPTION', 'featureColumns without the label column', `featureColumns[${i}]`, o.featureColumns?.[i]);
      if (cols.indexOf(c) !== i) throw invalid('INVALID_OPTION', 'distinct featureColumns', `featureColumns[${i}]`, o.featureColumns?.[i]);
    });
    if (cols.length === 0) throw invalid('INVALID_OPTION', 'at least one feature column', 'featureColumns', o.featureColumns);
    return cols;
  }
  const ignored = new Set((o.ignoreColumns ?? []).map((ref, i) => columnIndex(`ignoreColumns[${i}]`, ref, head, width)));
  if (ignored.has(label)) throw invalid('INVALID_OPTION', 'ignoreColumns without the label column', 'ignoreColumns', o.ignoreColumns);
  const cols = Array.from({ length: width }, (_, c) => c).filter((c) => c !== label && !ignored.has(c));
  if (cols.length === 0) throw invalid('INVALID_OPTION', 'at least one feature column besides the label', 'labelColumn', o.labelColumn);
  return cols;
}

/** Code-point order (what numpy's sort of str arrays uses); `<` on JS strings compares UTF-16 units. */
function compareCodePoints(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done === true || y.done === true) return (x.done === true ? 0 : 1) - (y.done === true ? 0 : 1);
    const d = (x.value.codePointAt(0) as number) - (y.value.codePointAt(0) as number);
    if (d !== 0) return d;
  }
}

/** The class names in encoding order; see {@link CsvLabelEncoding}. */
function discoverClasses(labels: readonly string[], encoding: 'sorted' | 'firstSeen'): string[] {
  const distinct = [...new Set(labels)];
  if (encoding === 'firstSeen') return distinct;
  if (distinct.every((l) => DECIMAL.test(l))) return distinct.sort((a, b) => Number(a) - Number(b) || compareCodePoints(a, b));
  return distinct.sort(compareCodePoints);
}

function integerLabel(cell: string, at: { source: string; line: number; column: string }): number {
  const v = DECIMAL.test(cell) ? Number(cell) : NaN;
  if (Number.isInteger(v) && v >= 0 && v <= 0x7fffffff) return v;
  throw cellError('LABEL_OUT_OF_RANGE', "a non-negative integer label (or labelEncoding: 'sorted' | 'firstSeen' for class names)", at, cell);
}

/**
 * Parses CSV text (no quoted delimiters) into float32 features and integer labels. Feature cells must be
 * decimal numbers (`1`, `-2.5`, `.5`, `3e-2`); after narrowing to float32 every value must be finite.
 * pandas + scikit-learn: `df = pd.read_csv(f); X = df[features].to_numpy('float32');
 * y = LabelEncoder().fit_transform(df[label])` is `parseCsv(text, { labelColumn: label, featureColumns:
 * features, labelEncoding: 'sorted' })`.
 *
 * @example
 * ```ts
 * const { x, y, classNames, featureNames } = parseCsv(text, { labelColumn: 'species', ignoreColumns: ['id'], labelEncoding: 'sorted' });
 * ```
 * @throws LongTailError `INVALID_OPTION` / `UNKNOWN_OPTION` for bad options or columns (before parsing);
 *   `INVALID_DATA` for ragged rows, empty or non-decimal cells (`0x1F`, `1_000`, `abc`) and empty labels;
 *   `NON_FINITE` for `NaN` / `inf` cells and values beyond float32 (e.g. `1e39`); `LABEL_OUT_OF_RANGE` for
 *   a label that is not a non-negative integer (`'integer'`) or not in the given `classNames`. Every error
 *   names the line and column.
 */
export function parseCsv(text: string, options: CsvOptions): CsvData {
  const o = checkCsvOptions(options);
  const { delimiter, source } = o;
  if (typeof text !== 'string') throw invalid('INVALID_OPTION', 'text to be a string', 'text', text);
  const rows: Row[] = [];
  text.split(/\r?\n/).forEach((l, i) => {
    if (l.trim().length > 0) rows.push({ cells: splitLine(l, delimiter), line: i });
  });
  const head = o.header ? rows.shift()?.cells : undefined;
  const width = head?.length ?? rows[0]?.cells.length ?? 0;
  const label = columnIndex('labelColumn', o.labelColumn, head, width);
  const features = featureIndices(o, label, head, width);
  const columnName = (c: number): string => (head === undefined ? String(c) : JSON.stringify(head[c]));
  const d = features.length;
  const x = new Float32Array(rows.length * d);
  const labelCells: string[] = [];
  for (let r = 0; r < rows.length; r++) {
    const { cells, line } = rows[r] as Row;
    if (cells.length !== width) throw new LongTailError('INVALID_DATA', `expected ${width} fields in ${source} line ${line + 1}. Received: ${cells.length} fields`, { source, line: line + 1 });
    for (let k = 0; k < d; k++) {
      const c = features[k] as number;
      const cell = cells[c] as string;
      const at = { source, line, column: columnName(c) };
      if (NON_FINITE_WORD.test(cell)) throw cellError('NON_FINITE', 'a finite number', at, cell);
      if (!DECIMAL.test(cell)) throw cellError('INVALID_DATA', 'a decimal number', at, cell);
      const v = Math.fround(Number(cell));
      if (!Number.isFinite(v)) throw cellError('NON_FINITE', `a number within float32 range (±3.4e38; ${JSON.stringify(cell)} becomes ${v})`, at, cell);
      x[r * d + k] = v;
    }
    const cell = cells[label] as string;
    if (cell.length === 0) throw cellError('INVALID_DATA', 'a non-empty label', { source, line, column: columnName(label) }, cell);
    labelCells.push(cell);
  }
  const encoding = o.classNames !== undefined ? 'given' : (o.labelEncoding ?? 'integer');
  const y = new Int32Array(rows.length);
  let classNames: readonly string[] | undefined;
  if (encoding === 'integer') {
    labelCells.forEach((cell, r) => {
      y[r] = integerLabel(cell, { source, line: (rows[r] as Row).line, column: columnName(label) });
    });
  } else {
    classNames = encoding === 'given' ? [...(o.classNames as readonly string[])] : discoverClasses(labelCells, encoding);
    const index = new Map(classNames.map((n, j) => [n, j]));
    labelCells.forEach((cell, r) => {
      const j = index.get(cell);
      if (j === undefined) throw cellError('LABEL_OUT_OF_RANGE', 'a label in classNames', { source, line: (rows[r] as Row).line, column: columnName(label) }, cell);
      y[r] = j;
    });
  }
  const featureNames = features.map((c) => (head === undefined ? `x${c}` : (head[c] as string)));
  return { x, y, sampleShape: [d], featureNames, ...(classNames === undefined ? {} : { classNames }) };
}

/**
 * Reads a CSV file (Node only); see {@link parseCsv}. pandas: `pd.read_csv(path)`.
 *
 * @throws LongTailError `MISSING_INPUT` when the file cannot be read; otherwise as {@link parseCsv}
 *   (option errors come before the file is read).
 */
export async function loadCsv(path: string, options: CsvOptions): Promise<CsvData> {
  checkCsvOptions(options);
  return parseCsv(await readInputFile(path, 'CSV file', 'utf8'), { ...options, source: options.source ?? path });
}
