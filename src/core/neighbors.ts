/**
 * The one home of pairwise distances and k-nearest neighbours: a differentiable tensor form
 * ({@link pairwiseDistances}: OT costs, losses), a host form on typed arrays ({@link hostPairwiseDistances}:
 * POT-style cost matrices, prototype similarities) and the neighbour search ({@link kNearest}: SMOTE,
 * under-samplers, Distribution Calibration's donor classes, neighbour selection of the granularity loss).
 *
 * Metrics (a, b rows of the two inputs):
 * - `'sqeuclidean'`: ‖a − b‖²;
 * - `'euclidean'`: ‖a − b‖;
 * - `'cosine'`: 1 − a·b / (‖a‖‖b‖), and 1 when a or b is the zero vector (a zero row has no direction:
 *   scikit-learn's `cosine_distances`; SciPy's `cdist` gives NaN there).
 *
 * On the host, squared distances are exact for the stored values: Σ_q (a_q − b_q)² accumulated in float64
 * in feature order (no ‖a‖² + ‖b‖² − 2a·b expansion, which cancels catastrophically for close points), so
 * the neighbour order is the same on every backend and ties are broken by row index. Rows are processed in
 * 2 × 2 register tiles (four independent sums per pass over the features), and each query keeps its k best
 * candidates in a bounded sorted buffer (partial selection, O(n·k) worst case, no full sort). Large
 * squared-Euclidean searches use the shared SIMD kernel and the expansion instead (see `simdSearch`).
 */
import * as tf from '@tensorflow/tfjs';
import { checkOptions, type OptionKeys } from './options.js';
import { getKernel } from './wasm-kernel.js';
import { invalid, LongTailError } from './errors.js';
import { checkInteger, checkOneOf, checkRank, checkSameSize } from './validate.js';

/** A row-major matrix on the host: `values.length = rows · cols`. */
export interface HostRows {
  readonly values: Float32Array | Float64Array;
  readonly rows: number;
  readonly cols: number;
}

/** A distance between two rows (see the module comment for the formulas). */
export type DistanceMetric = 'sqeuclidean' | 'euclidean' | 'cosine';

const METRICS: readonly DistanceMetric[] = ['sqeuclidean', 'euclidean', 'cosine'];

/** Options of {@link pairwiseDistances} and {@link hostPairwiseDistances}. */
export interface PairwiseDistanceOptions {
  /** @defaultValue 'sqeuclidean' */
  readonly metric?: DistanceMetric;
}

const PAIRWISE_KEYS: OptionKeys<PairwiseDistanceOptions> = { metric: true };

/** The k nearest neighbours of each query, nearest first. */
export interface NeighborResult {
  /** Neighbours per query (the same for every query). */
  readonly k: number;
  /** [queries · k] row indices into the reference rows, nearest first, ties by smaller index. */
  readonly indices: Int32Array;
  /** [queries · k] distances in the search's metric (squared Euclidean by default), matching `indices`. */
  readonly distances: Float64Array;
}

/** Options of {@link kNearest}. */
export interface KNearestOptions {
  /** Neighbours per query; must not exceed the candidates available. */
  readonly k: number;
  /** Cross search: the query rows (same width as the reference). Omitted: a self-search. */
  readonly query?: HostRows;
  /**
   * Self-search only: the queries are the reference rows listed here (each excluded from its own
   * neighbours). Default in a self-search: every reference row.
   */
  readonly rows?: ArrayLike<number>;
  /** @defaultValue 'sqeuclidean' */
  readonly metric?: DistanceMetric;
}

const KNN_KEYS: OptionKeys<KNearestOptions> = { k: true, query: true, rows: true, metric: true };

function checkHostRows(name: string, m: HostRows): void {
  if (m === null || typeof m !== 'object' || !(m.values instanceof Float32Array || m.values instanceof Float64Array)) {
    throw invalid('INVALID_OPTION', `${name} to be { values: Float32Array | Float64Array, rows, cols }`, name, m);
  }
  checkInteger(`${name}.rows`, m.rows);
  checkInteger(`${name}.cols`, m.cols, { min: 1 });
  if (m.values.length !== m.rows * m.cols) {
    throw invalid('SHAPE_MISMATCH', `${name}.values.length = rows · cols = ${m.rows * m.cols}`, `${name}.values.length`, m.values.length);
  }
}

function checkMatrixTensor(name: string, t: tf.Tensor): void {
  if (!(t instanceof tf.Tensor)) throw invalid('INVALID_OPTION', `${name} to be a tf.Tensor2D`, name, typeof t);
  if (t.isDisposed) throw new LongTailError('DISPOSED', `expected a live tensor ${name}. Received: ${name} after dispose()`, { name });
  checkRank(name, t.shape, 2);
  if (t.dtype !== 'float32') throw new LongTailError('DTYPE_MISMATCH', `expected ${name} of dtype float32. Received: ${name}.dtype=${t.dtype}`, { name, dtype: t.dtype });
}

/** Bounded sorted buffers of the k best (distance, index) pairs per query. */
class TopK {
  readonly indices: Int32Array;
  readonly distances: Float64Array;
  private readonly filled: Int32Array;

  constructor(
    queries: number,
    readonly k: number,
  ) {
    this.indices = new Int32Array(queries * k).fill(-1);
    this.distances = new Float64Array(queries * k).fill(Infinity);
    this.filled = new Int32Array(queries);
  }

  offer(q: number, j: number, s: number): void {
    const k = this.k;
    const base = q * k;
    const n = this.filled[q] as number;
    const d = this.distances;
    const ix = this.indices;
    if (n === k) {
      const worst = d[base + k - 1] as number;
      if (s > worst || (s === worst && j > (ix[base + k - 1] as number))) return;
    } else this.filled[q] = n + 1;
    let p = (n === k ? k - 1 : n) + base;
    while (p > base) {
      const ds = d[p - 1] as number;
      if (ds < s || (ds === s && (ix[p - 1] as number) < j)) break;
      d[p] = ds;
      ix[p] = ix[p - 1] as number;
      p--;
    }
    d[p] = s;
    ix[p] = j;
  }
}

/**
 * Calls `visit(ia, jb, d²)` for every pair of `a` rows `as[x]` and `b` rows `bs[y]` (all pairs, or only
 * y < x when `lowerOnly`, for the symmetric self case). 2 × 2 tiles; each sum runs in feature order.
 */
function forEachDistance(
  a: Float32Array | Float64Array,
  as: Int32Array,
  b: Float32Array | Float64Array,
  bs: Int32Array,
  d: number,
  lowerOnly: boolean,
  visit: (x: number, y: number, s: number) => void,
): void {
  const na = as.length;
  const nb = bs.length;
  for (let x = 0; x < na; x += 2) {
    const pair = x + 1 < na;
    const a0 = (as[x] as number) * d;
    const a1 = pair ? (as[x + 1] as number) * d : a0;
    const yEnd = lowerOnly ? Math.min(x + 1, nb) : nb;
    let y = 0;
    for (; y + 1 < yEnd; y += 2) {
      const b0 = (bs[y] as number) * d;
      const b1 = (bs[y + 1] as number) * d;
      let s00 = 0;
      let s01 = 0;
      let s10 = 0;
      let s11 = 0;
      for (let q = 0; q < d; q++) {
        const p0 = a[a0 + q] as number;
        const p1 = a[a1 + q] as number;
        const r0 = b[b0 + q] as number;
        const r1 = b[b1 + q] as number;
        let t = p0 - r0;
        s00 += t * t;
        t = p0 - r1;
        s01 += t * t;
        t = p1 - r0;
        s10 += t * t;
        t = p1 - r1;
        s11 += t * t;
      }
      if (!lowerOnly || y < x) visit(x, y, s00);
      if (!lowerOnly || y + 1 < x) visit(x, y + 1, s01);
      if (pair) {
        visit(x + 1, y, s10);
        visit(x + 1, y + 1, s11);
      }
    }
    // The last column of the tile row (odd remainder; in the symmetric case also the pair (x + 1, x)).
    const yLast = lowerOnly ? Math.min(x + 2, nb) : nb;
    for (; y < yLast; y++) {
      const b0 = (bs[y] as number) * d;
      let s0 = 0;
      let s1 = 0;
      for (let q = 0; q < d; q++) {
        const r0 = b[b0 + q] as number;
        let t = (a[a0 + q] as number) - r0;
        s0 += t * t;
        t = (a[a1 + q] as number) - r0;
        s1 += t * t;
      }
      if (!lowerOnly || y < x) visit(x, y, s0);
      if (pair && (!lowerOnly || y < x + 1)) visit(x + 1, y, s1);
    }
  }
}

/** Below this many multiply-adds the plain loops win (copying into the kernel's memory costs more). */
const SIMD_MIN_WORK = 1 << 16;

/**
 * The search as one SIMD mat-vec per query (the shared WebAssembly kernel): d²(q, j) = ‖q‖² + ‖x_j‖² −
 * 2 q·x_j in float64, clamped at 0 — scikit-learn's `euclidean_distances` expansion. Offers every
 * reference row except, in a self-search, the query itself. Returns false (nothing done) when the kernel
 * is unavailable or the problem is too small to gain from it.
 */
function simdSearch(reference: HostRows, queryValues: Float32Array | Float64Array, queries: Int32Array, self: Int32Array | null, top: TopK): boolean {
  const n = reference.rows;
  const d = reference.cols;
  if (d < 8 || queries.length * n * d < SIMD_MIN_WORK) return false;
  const kernel = getKernel();
  if (kernel === null) return false;
  kernel.reset();
  const pm = kernel.alloc(n * d);
  const pv = kernel.alloc(d);
  const po = kernel.alloc(n);
  const mat = kernel.view(pm, n * d);
  mat.set(reference.values);
  const norms = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    let t = 0;
    for (let c = 0; c < d; c++) t += (mat[j * d + c] as number) ** 2;
    norms[j] = t;
  }
  const vec = kernel.view(pv, d);
  const out = kernel.view(po, n);
  for (let qi = 0; qi < queries.length; qi++) {
    const row = queries[qi] as number;
    let qq = 0;
    for (let c = 0; c < d; c++) {
      const v = queryValues[row * d + c] as number;
      vec[c] = v;
      qq += v * v;
    }
    kernel.dotRows(pm, pv, po, n, d);
    const skip = self === null ? -1 : row;
    for (let j = 0; j < n; j++) {
      if (j === skip) continue;
      const s = qq + (norms[j] as number) - 2 * (out[j] as number);
      top.offer(qi, j, s > 0 ? s : 0);
    }
  }
  kernel.reset();
  return true;
}

function range(n: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  return out;
}

/**
 * Rows divided by their Euclidean norm; zero rows stay zero, with finite gradients everywhere: the square
 * root is taken of 1 instead of 0 on zero rows (1 − sign(‖x‖²) is 1 there, 0 elsewhere, and has zero
 * gradient), so neither the value nor the gradient meets 0/0.
 */
function unitRows(x: tf.Tensor2D): tf.Tensor2D {
  const sq = tf.sum(tf.square(x), 1, true);
  const safe = tf.add(sq, tf.sub(1, tf.sign(sq)));
  return tf.div(x, tf.sqrt(safe)) as tf.Tensor2D;
}

/**
 * Pairwise distances between the rows of `a` [n, d] and `b` [m, d] as a float32 tensor [n, m] the caller
 * owns (pass the same tensor twice for a self-distance matrix), differentiable in both inputs:
 *
 * - `'sqeuclidean'`: D_ij = max(0, ‖a_i‖² + ‖b_j‖² − 2 a_i·b_j) (the expansion as one matMul, clamped at 0
 *   against cancellation; the diagonal of a self-matrix may be a small positive number, not exactly 0);
 * - `'euclidean'`: √D_ij of the above, with gradient 0 (not ∞) where D_ij = 0;
 * - `'cosine'`: 1 − â_i·b̂_j with x̂ = x/‖x‖; a zero row has distance 1 to everything, with finite
 *   gradients.
 *
 * Tidy: intermediates are freed, inputs are never disposed.
 *
 * @example
 * ```ts
 * const M = pairwiseDistances(x, y, { metric: 'cosine' }); // POT: ot.dist(x, y, metric='cosine')
 * ```
 * @throws LongTailError before any tensor is made: `UNKNOWN_OPTION`, `INVALID_OPTION` (metric, not a
 *   tensor), `SHAPE_MISMATCH` (rank or widths), `DTYPE_MISMATCH`, `DISPOSED`.
 */
export function pairwiseDistances(a: tf.Tensor2D, b: tf.Tensor2D, options?: PairwiseDistanceOptions): tf.Tensor2D {
  const o = checkOptions('pairwiseDistances options', options, PAIRWISE_KEYS);
  const metric = checkOneOf('metric', o.metric ?? 'sqeuclidean', METRICS);
  checkMatrixTensor('a', a);
  checkMatrixTensor('b', b);
  checkSameSize('b.shape[1] = a.shape[1]', a.shape[1], 'b.shape[1]', b.shape[1]);
  return tf.tidy(() => {
    if (metric === 'cosine') return tf.sub(1, tf.matMul(unitRows(a), unitRows(b), false, true)) as tf.Tensor2D;
    const aa = tf.sum(tf.square(a), 1, true);
    const bb = tf.reshape(tf.sum(tf.square(b), 1), [1, -1]);
    const sq = tf.relu(tf.sub(tf.add(aa, bb), tf.mul(2, tf.matMul(a, b, false, true)))) as tf.Tensor2D;
    if (metric === 'sqeuclidean') return sq;
    // √D with the square root taken of 1 where D = 0 and the result masked to 0 there: value 0, gradient 0.
    const zero = tf.sub(1, tf.sign(sq));
    return tf.mul(tf.sqrt(tf.add(sq, zero)), tf.sign(sq)) as tf.Tensor2D;
  });
}

/** Euclidean norm of each row, summed in feature order in float64. */
function rowNorms(m: HostRows): Float64Array {
  const d = m.cols;
  const out = new Float64Array(m.rows);
  for (let i = 0; i < m.rows; i++) {
    let s = 0;
    for (let q = 0; q < d; q++) s += (m.values[i * d + q] as number) ** 2;
    out[i] = Math.sqrt(s);
  }
  return out;
}

/** Cosine distance 1 − a_i·b_j / (‖a_i‖‖b_j‖) of two rows given their norms; 1 when a norm is 0. */
function cosineDistance(a: HostRows, i: number, na: number, b: HostRows, j: number, nb: number): number {
  const scale = na * nb;
  if (scale === 0) return 1;
  const d = a.cols;
  let s = 0;
  for (let q = 0; q < d; q++) s += (a.values[i * d + q] as number) * (b.values[j * d + q] as number);
  return 1 - s / scale;
}

/**
 * Pairwise distances between every row of `a` and every row of `b` on the host, as a row-major
 * [a.rows, b.rows] float64 matrix, by the formulas of the module comment: squared distances as explicit
 * differences Σ_q (a_iq − b_jq)² in feature order (exact for the stored values; exactly 0 and symmetric
 * when `b` is `a`, which is computed once per pair), Euclidean as their square roots, cosine as
 * 1 − a·b/(‖a‖‖b‖) with 1 for a zero row. POT's `ot.dist(x, y)` / `ot.dist(x, y, metric='cosine')`
 * (cosine with scikit-learn's convention for zero rows).
 *
 * @example
 * ```ts
 * const D = hostPairwiseDistances({ values: x, rows: n, cols: d }, { values: y, rows: m, cols: d }); // [n·m]
 * ```
 * @throws LongTailError `UNKNOWN_OPTION`, `INVALID_OPTION`, `SHAPE_MISMATCH` (malformed matrices or
 *   different widths), before any work.
 */
export function hostPairwiseDistances(a: HostRows, b: HostRows, options?: PairwiseDistanceOptions): Float64Array {
  const o = checkOptions('hostPairwiseDistances options', options, PAIRWISE_KEYS);
  const metric = checkOneOf('metric', o.metric ?? 'sqeuclidean', METRICS);
  checkHostRows('a', a);
  checkHostRows('b', b);
  if (b.cols !== a.cols) throw invalid('SHAPE_MISMATCH', `b.cols = a.cols = ${a.cols}`, 'b.cols', b.cols);
  const m = b.rows;
  const out = new Float64Array(a.rows * m);
  if (metric === 'cosine') {
    const na = rowNorms(a);
    const nb = b === a ? na : rowNorms(b);
    for (let i = 0; i < a.rows; i++) for (let j = 0; j < m; j++) out[i * m + j] = cosineDistance(a, i, na[i] as number, b, j, nb[j] as number);
    return out;
  }
  if (b === a) {
    forEachDistance(a.values, range(a.rows), a.values, range(a.rows), a.cols, true, (x, y, s) => {
      out[x * m + y] = s;
      out[y * m + x] = s;
    });
  } else {
    forEachDistance(a.values, range(a.rows), b.values, range(m), a.cols, false, (x, y, s) => {
      out[x * m + y] = s;
    });
  }
  if (metric === 'euclidean') for (let i = 0; i < out.length; i++) out[i] = Math.sqrt(out[i] as number);
  return out;
}

/** Cosine search: every (query, reference) pair, skipping a self-search query's own row. */
function cosineSearch(reference: HostRows, query: HostRows, queries: Int32Array, self: boolean, top: TopK): void {
  const nr = rowNorms(reference);
  const nq = query === reference ? nr : rowNorms(query);
  for (let qi = 0; qi < queries.length; qi++) {
    const row = queries[qi] as number;
    for (let j = 0; j < reference.rows; j++) {
      if (self && j === row) continue;
      top.offer(qi, j, cosineDistance(query, row, nq[row] as number, reference, j, nr[j] as number));
    }
  }
}

function result(top: TopK, metric: DistanceMetric): NeighborResult {
  if (metric === 'euclidean') for (let i = 0; i < top.distances.length; i++) top.distances[i] = Math.sqrt(top.distances[i] as number);
  return { k: top.k, indices: top.indices, distances: top.distances };
}

/**
 * The k nearest reference rows of each query, nearest first, ties by the smaller reference index (the
 * order of a stable sort on distance), with their distances in `metric` (default squared Euclidean;
 * `'euclidean'` ranks as the squared distance and reports its square root; `'cosine'` ranks by
 * 1 − cos, i.e. most similar first).
 *
 * - Cross search, `kNearest(reference, { k, query })`: neighbours among all reference rows of each query
 *   row (needs k ≤ reference.rows).
 * - Self-search, `kNearest(reference, { k, rows? })`: the queries are reference rows (all, or those
 *   listed), each excluded from its own neighbours (needs k ≤ reference.rows − 1). Pairs of listed
 *   rows are computed once (D is symmetric).
 *
 * @example
 * ```ts
 * const { indices } = kNearest({ values: x, rows: n, cols: d }, { k: 5 }); // scikit-learn:
 * // NearestNeighbors(n_neighbors=6).fit(X).kneighbors(X)[1][:, 1:]
 * const nearest = kNearest(prototypes, { k: 1, query: samples, metric: 'cosine' }).indices;
 * ```
 * @throws LongTailError `UNKNOWN_OPTION`, `INVALID_OPTION` (k, rows, metric, query), `SHAPE_MISMATCH`
 *   (widths), before any work.
 */
export function kNearest(reference: HostRows, options: KNearestOptions): NeighborResult {
  checkHostRows('reference', reference);
  if (options === null || typeof options !== 'object') throw invalid('INVALID_OPTION', 'an options object { k }', 'options', options);
  checkOptions('kNearest options', options, KNN_KEYS);
  const metric = checkOneOf('metric', options.metric ?? 'sqeuclidean', METRICS);
  const n = reference.rows;
  const d = reference.cols;
  const query = options.query;
  if (query !== undefined) {
    checkHostRows('query', query);
    if (query.cols !== d) throw invalid('SHAPE_MISMATCH', `query.cols = reference.cols = ${d}`, 'query.cols', query.cols);
    if (options.rows !== undefined) throw invalid('INVALID_OPTION', 'rows only for a self-search (no query)', 'rows', options.rows);
    const k = checkInteger('k', options.k, { min: 1 });
    if (k > n) throw invalid('INVALID_OPTION', `k <= reference.rows = ${n}`, 'k', k);
    const top = new TopK(query.rows, k);
    if (metric === 'cosine') cosineSearch(reference, query, range(query.rows), false, top);
    else if (!simdSearch(reference, query.values, range(query.rows), null, top)) {
      forEachDistance(query.values, range(query.rows), reference.values, range(n), d, false, (x, y, s) => top.offer(x, y, s));
    }
    return result(top, metric);
  }
  const k = checkInteger('k', options.k, { min: 1 });
  if (k > n - 1) throw invalid('INVALID_OPTION', `k <= reference.rows − 1 = ${n - 1} for a self-search`, 'k', k);
  let rows: Int32Array;
  if (options.rows === undefined) rows = range(n);
  else {
    rows = new Int32Array(options.rows.length);
    const seen = new Uint8Array(n);
    for (let i = 0; i < rows.length; i++) {
      const r = options.rows[i] as number;
      if (!Number.isInteger(r) || r < 0 || r >= n) throw invalid('INVALID_OPTION', `rows in [0, ${n})`, `rows[${i}]`, r);
      if (seen[r] === 1) throw invalid('INVALID_OPTION', 'rows without repeats', `rows[${i}]`, r);
      seen[r] = 1;
      rows[i] = r;
    }
  }
  const top = new TopK(rows.length, k);
  if (metric === 'cosine') {
    cosineSearch(reference, reference, rows, true, top);
    return result(top, metric);
  }
  if (simdSearch(reference, reference.values, rows, rows, top)) return result(top, metric);
  // Position of each reference row in the query list (−1 when it is not a query).
  const position = new Int32Array(n).fill(-1);
  rows.forEach((r, i) => (position[r] = i));
  const others = Int32Array.from(range(n).filter((j) => position[j] === -1));
  const x = reference.values;
  forEachDistance(x, rows, x, rows, d, true, (qa, qb, s) => {
    top.offer(qa, rows[qb] as number, s);
    top.offer(qb, rows[qa] as number, s);
  });
  if (others.length > 0) forEachDistance(x, rows, x, others, d, false, (qa, y, s) => top.offer(qa, others[y] as number, s));
  return result(top, metric);
}
