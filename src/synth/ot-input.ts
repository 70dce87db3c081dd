/**
 * Inputs of the optimal-transport solvers ({@link sinkhorn}, {@link emd}) in the shapes POT users pass:
 * a cost matrix as a `tf.Tensor2D`, nested rows or `{ values, rows, cols }`; histograms as arrays,
 * `tf.Tensor1D` or omitted (uniform). Everything is read into float64 typed arrays before any work, and
 * every error is a {@link LongTailError} whose message never prints a tensor's contents.
 */
import * as tf from '@tensorflow/tfjs';
import { formatValue, invalid, LongTailError } from '../core/errors.js';
import { checkInteger, checkRank, checkSameSize } from '../core/validate.js';

/** A dense row-major matrix. */
export interface DenseMatrix {
  readonly values: ArrayLike<number>;
  readonly rows: number;
  readonly cols: number;
}

/**
 * A cost matrix M (n × m): a `tf.Tensor2D` (read, never disposed), nested rows (`number[][]`, or
 * any array of array-likes such as `Float64Array[]`), or a flat row-major {@link DenseMatrix}.
 */
export type CostMatrix = tf.Tensor2D | readonly ArrayLike<number>[] | DenseMatrix;

/**
 * A histogram: an array-like of non-negative weights or a `tf.Tensor1D`; `undefined` or an empty array
 * means uniform (1/n each), as POT's `a=[]`.
 */
export type Histogram = ArrayLike<number> | tf.Tensor1D | undefined;

/** A cost matrix read into float64, row-major. */
export interface ReadCost {
  readonly values: Float64Array;
  readonly rows: number;
  readonly cols: number;
}

const describeTensor = (t: tf.Tensor): string => `Tensor(shape=[${t.shape.join(', ')}], dtype=${t.dtype})`;

/** How a value is shown in an error: tensors (also inside objects) by shape and dtype only. */
export function describeInput(value: unknown): string {
  if (value instanceof tf.Tensor) return describeTensor(value);
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && !ArrayBuffer.isView(value)) {
    try {
      const s = JSON.stringify(value, (_key, v: unknown) => (v instanceof tf.Tensor ? describeTensor(v) : v));
      return s.length > 200 ? `${s.slice(0, 200)}…` : s;
    } catch {
      return Object.prototype.toString.call(value);
    }
  }
  return formatValue(value);
}

function tensorValues(name: string, t: tf.Tensor, rank: number): Float64Array {
  if (t.isDisposed) throw new LongTailError('DISPOSED', `expected ${name} to be a live tensor. Received: ${name}=disposed ${describeInput(t)}`, { name });
  checkRank(name, t.shape, rank);
  if (t.dtype !== 'float32' && t.dtype !== 'int32') {
    throw new LongTailError('DTYPE_MISMATCH', `expected ${name} of dtype float32 or int32. Received: ${name}=${describeInput(t)}`, { name, dtype: t.dtype });
  }
  return Float64Array.from(t.dataSync() as Float32Array | Int32Array);
}

function isDense(M: unknown): M is DenseMatrix {
  if (M === null || typeof M !== 'object' || !('values' in M)) return false;
  const values = (M as { values: unknown }).values;
  return values !== null && typeof values === 'object' && typeof (values as { length?: unknown }).length === 'number';
}

/**
 * Reads a cost matrix. NaN and −∞ are always `NON_FINITE`; +∞ (a forbidden pair) only when
 * `allowInfinity`. `borrow`: a `{ values }` input whose values are a Float64Array comes back as that array
 * itself, not a copy, for callers that only read it before they return (no copy of a large cost per call).
 *
 * @throws LongTailError `INVALID_OPTION`, `SHAPE_MISMATCH`, `DTYPE_MISMATCH`, `NON_FINITE`, `DISPOSED`.
 */
export function readCost(name: string, M: CostMatrix, options: { readonly allowInfinity: boolean; readonly borrow?: boolean }): ReadCost {
  let values: Float64Array;
  let rows: number;
  let cols: number;
  if (M instanceof tf.Tensor) {
    values = tensorValues(name, M, 2);
    [rows, cols] = M.shape as [number, number];
  } else if (Array.isArray(M)) {
    const nested = M as readonly ArrayLike<number>[];
    rows = nested.length;
    const first = nested[0];
    cols = first !== null && typeof first === 'object' && typeof first.length === 'number' ? first.length : -1;
    values = new Float64Array(Math.max(rows * cols, 0));
    for (let i = 0; i < rows; i++) {
      const row = nested[i];
      if (row === null || typeof row !== 'object' || typeof row.length !== 'number') {
        throw invalid('INVALID_OPTION', `${name} to be a matrix (an array of rows of numbers)`, `${name}[${i}]`, describeInput(row));
      }
      checkSameSize(`${name}[${i}].length = ${name}[0].length`, cols, `${name}[${i}].length`, row.length);
      for (let j = 0; j < cols; j++) {
        const v = row[j];
        if (typeof v !== 'number') throw invalid('INVALID_OPTION', `${name} entries to be numbers`, `${name}[${i}][${j}]`, v);
        values[i * cols + j] = v;
      }
    }
  } else if (isDense(M)) {
    rows = checkInteger(`${name}.rows`, M.rows, { min: 1 });
    cols = checkInteger(`${name}.cols`, M.cols, { min: 1 });
    checkSameSize(`${name}.values.length = rows·cols`, rows * cols, `${name}.values.length`, M.values.length);
    // slice() of a Float64Array is a block copy; from() walks any other array-like element by element.
    values = M.values instanceof Float64Array ? (options.borrow === true ? M.values : M.values.slice()) : Float64Array.from(M.values);
  } else {
    throw new LongTailError(
      'INVALID_OPTION',
      `expected ${name} to be a tf.Tensor2D, nested rows (number[][]) or { values, rows, cols }. Received: ${name}=${describeInput(M)}`,
      { name },
    );
  }
  if (rows < 1 || cols < 1) throw invalid('SHAPE_MISMATCH', `${name} with at least one row and one column`, `${name}.shape`, `[${rows}, ${cols}]`);
  for (let q = 0; q < values.length; q++) {
    const v = values[q] as number;
    if (Number.isFinite(v) || (v === Infinity && options.allowInfinity)) continue;
    const i = Math.floor(q / cols);
    const what = options.allowInfinity ? 'finite or +Infinity (a forbidden pair)' : 'finite';
    throw new LongTailError('NON_FINITE', `expected ${name} to be ${what} everywhere. Received: ${name}[${i}][${q - i * cols}]=${v}`, {
      name,
      row: i,
      col: q - i * cols,
    });
  }
  return { values, rows, cols };
}

/**
 * Reads a histogram of `length` bins: uniform when omitted or empty; otherwise finite entries ≥ 0 with a
 * positive total (zero-mass bins are allowed).
 *
 * @throws LongTailError `INVALID_OPTION`, `SHAPE_MISMATCH`, `NON_FINITE`, `DISPOSED`.
 */
export function readHistogram(name: string, w: Histogram | null, length: number, matrixSide: string): Float64Array {
  if (w === undefined || w === null) return new Float64Array(length).fill(1 / length);
  let values: Float64Array;
  if (w instanceof tf.Tensor) {
    values = tensorValues(name, w, 1);
  } else if (typeof w === 'object' && typeof w.length === 'number') {
    values = new Float64Array(w.length);
    for (let i = 0; i < w.length; i++) {
      const v = w[i];
      if (typeof v !== 'number') throw invalid('INVALID_OPTION', `${name} entries to be numbers`, `${name}[${i}]`, v);
      values[i] = v;
    }
  } else {
    throw invalid('INVALID_OPTION', `${name} to be an array of weights, a tf.Tensor1D or undefined (uniform)`, name, describeInput(w));
  }
  if (values.length === 0) return new Float64Array(length).fill(1 / length);
  checkSameSize(`${name}.length = ${matrixSide}`, length, `${name}.length`, values.length);
  let total = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (!Number.isFinite(v)) throw new LongTailError('NON_FINITE', `expected ${name} to be finite everywhere. Received: ${name}[${i}]=${v}`, { name, index: i });
    if (v < 0) throw invalid('INVALID_OPTION', `every ${name} entry >= 0`, `${name}[${i}]`, v);
    total += v;
  }
  if (!(total > 0)) throw invalid('INVALID_OPTION', `${name} to have a positive total mass`, `sum(${name})`, total);
  return values;
}

/** Indices of the positive entries of `w` (the support of a histogram). */
export function support(w: Float64Array): Int32Array {
  const out: number[] = [];
  for (let i = 0; i < w.length; i++) if ((w[i] as number) > 0) out.push(i);
  return Int32Array.from(out);
}

/** M restricted to the given rows and columns, row-major. */
export function restrict(M: ReadCost, rowIdx: Int32Array, colIdx: Int32Array): Float64Array {
  const out = new Float64Array(rowIdx.length * colIdx.length);
  for (let r = 0; r < rowIdx.length; r++) {
    const o = (rowIdx[r] as number) * M.cols;
    for (let c = 0; c < colIdx.length; c++) out[r * colIdx.length + c] = M.values[o + (colIdx[c] as number)] as number;
  }
  return out;
}

/** A flat row-major n × m buffer as per-row views (`rows[i][j]`), sharing the buffer. */
export function asRows(flat: Float64Array, n: number, m: number): Float64Array[] {
  return Array.from({ length: n }, (_, i) => flat.subarray(i * m, (i + 1) * m));
}
