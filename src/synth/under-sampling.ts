/**
 * Under-samplers on host arrays, as imbalanced-learn 0.10 defines them: random under-sampling, Tomek links
 * (Tomek 1976) and NearMiss-1 (Mani & Zhang 2003). Each returns the indices of the rows it keeps.
 */
import type { HostRows } from '../core/neighbors.js';
import { kNearest } from '../core/neighbors.js';
import type { Rng } from '../core/rng.js';

/**
 * The minority class as imbalanced-learn picks it (`min(Counter(y), key=...)`): the smallest non-zero
 * count, ties to the class that occurs first in `y`. Returns −1 for empty `y`.
 */
export function minorityClass(y: Int32Array, counts: ArrayLike<number>): number {
  return extremeClass(y, counts, (a, b) => a < b);
}

/** The majority class, ties to the class that occurs first in `y` (imbalanced-learn's rule). */
export function majorityClass(y: Int32Array, counts: ArrayLike<number>): number {
  return extremeClass(y, counts, (a, b) => a > b);
}

function extremeClass(y: Int32Array, counts: ArrayLike<number>, better: (a: number, b: number) => boolean): number {
  let best = -1;
  const seen = new Uint8Array(counts.length);
  for (const c of y) {
    if (seen[c] === 1) continue;
    seen[c] = 1;
    if (best === -1 || better(counts[c] as number, counts[best] as number)) best = c;
  }
  return best;
}

/** Row indices of each class, ascending. */
function rowsOf(y: Int32Array, c: number): Int32Array {
  let n = 0;
  for (const v of y) if (v === c) n++;
  const out = new Int32Array(n);
  let at = 0;
  y.forEach((v, i) => {
    if (v === c) out[at++] = i;
  });
  return out;
}

/**
 * Random under-sampling (imbalanced-learn `RandomUnderSampler(replacement=False)`): class c keeps
 * `keep[c]` of its rows, drawn uniformly without replacement (a partial Fisher–Yates shuffle from `rng`),
 * listed in ascending index order; classes with keep[c] ≥ n_c keep every row. Output grouped by class,
 * classes ascending.
 */
export function randomUnderSample(y: Int32Array, keep: ArrayLike<number>, rng: Rng): Int32Array {
  const parts: Int32Array[] = [];
  for (let c = 0; c < keep.length; c++) {
    const rows = rowsOf(y, c);
    const want = keep[c] as number;
    if (want >= rows.length) {
      parts.push(rows);
      continue;
    }
    const pool = Int32Array.from(rows);
    for (let i = 0; i < want; i++) {
      const j = i + rng.int(pool.length - i);
      const t = pool[i] as number;
      pool[i] = pool[j] as number;
      pool[j] = t;
    }
    parts.push(pool.subarray(0, want).sort());
  }
  return concat(parts);
}

/**
 * Tomek links (imbalanced-learn `TomekLinks`): rows i and j form a link when each is the other's nearest
 * neighbour (Euclidean, ties by index) and their labels differ. Every row of a class in `remove` that is
 * in a link is dropped; the kept indices are in their original order (`sample_indices_`).
 *
 * @param remove - per class, 1 when its linked rows may be removed (imbalanced-learn's 'auto': every class
 *   but the minority).
 */
export function tomekLinks(x: HostRows, y: Int32Array, remove: Uint8Array): Int32Array {
  const n = y.length;
  if (n < 2) return Int32Array.from({ length: n }, (_, i) => i);
  const nn = kNearest(x, { k: 1 }).indices;
  const kept: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = y[i] as number;
    const j = nn[i] as number;
    const linked = remove[c] === 1 && y[j] !== c && nn[j] === i;
    if (!linked) kept.push(i);
  }
  return Int32Array.from(kept);
}

/** Options of {@link nearMiss}. */
export interface NearMissSelection {
  /** Rows to keep per class; classes with keep[c] < n_c are under-sampled. */
  readonly keep: ArrayLike<number>;
  /** The class whose rows are the reference (imbalanced-learn: the minority class). */
  readonly reference: number;
  /** Neighbours averaged over; more than the reference class has: all of them. */
  readonly k: number;
}

/**
 * NearMiss-1 (Mani & Zhang 2003; imbalanced-learn `NearMiss(version=1)`): for each row of an
 * under-sampled class, s = Σ of the Euclidean distances to its k nearest rows of the reference class; the
 * keep[c] rows with the smallest s are kept, in increasing s (stable: ties by index). Other classes keep
 * every row in index order. Output grouped by class, classes ascending — imbalanced-learn's
 * `sample_indices_` order.
 */
export function nearMiss(x: HostRows, y: Int32Array, options: NearMissSelection): Int32Array {
  const refRows = rowsOf(y, options.reference);
  const reference = gatherRows(x, refRows);
  const k = Math.min(options.k, refRows.length);
  const parts: Int32Array[] = [];
  for (let c = 0; c < options.keep.length; c++) {
    const rows = rowsOf(y, c);
    const want = options.keep[c] as number;
    if (want >= rows.length || c === options.reference) {
      parts.push(rows);
      continue;
    }
    const { distances } = kNearest(reference, { k, query: gatherRows(x, rows) });
    const score = new Float64Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      let s = 0;
      for (let t = 0; t < k; t++) s += Math.sqrt(distances[i * k + t] as number);
      score[i] = s;
    }
    const order = Array.from(rows.keys()).sort((a, b) => (score[a] as number) - (score[b] as number) || a - b);
    parts.push(Int32Array.from(order.slice(0, want), (i) => rows[i] as number));
  }
  return concat(parts);
}

/** Rows `rows` of `x` as a new matrix. */
export function gatherRows(x: HostRows, rows: Int32Array): HostRows {
  const d = x.cols;
  const values = new (x.values.constructor as new (n: number) => Float32Array | Float64Array)(rows.length * d);
  rows.forEach((r, i) => values.set(x.values.subarray(r * d, (r + 1) * d), i * d));
  return { values, rows: rows.length, cols: d };
}

function concat(parts: readonly Int32Array[]): Int32Array {
  const out = new Int32Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
