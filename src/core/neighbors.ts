/**
 * Pairwise squared Euclidean distances and k-nearest neighbours on host typed arrays: the one home of
 * neighbour search (SMOTE, under-samplers, Distribution Calibration's donor classes).
 *
 * Distances are exact for the stored values: d(a, b) = Σ_q (a_q − b_q)², accumulated in float64 in
 * feature order (no ‖a‖² + ‖b‖² − 2a·b expansion, which cancels catastrophically for close points), so the
 * neighbour order is the same on every backend and ties are broken by row index. Rows are processed in
 * 2 × 2 register tiles (four independent sums per pass over the features), and each query keeps its k best
 * candidates in a bounded sorted buffer (partial selection, O(n·k) worst case, no full sort).
 */
import { checkOptions } from './options.js';
import { getKernel } from './wasm-kernel.js';
import { invalid } from './errors.js';
import { checkInteger } from './validate.js';

/** A row-major matrix on the host: `values.length = rows · cols`. */
export interface HostRows {
  readonly values: Float32Array | Float64Array;
  readonly rows: number;
  readonly cols: number;
}

/** The k nearest neighbours of each query, nearest first. */
export interface NeighborResult {
  /** Neighbours per query (the same for every query). */
  readonly k: number;
  /** [queries · k] row indices into the reference rows, nearest first, ties by smaller index. */
  readonly indices: Int32Array;
  /** [queries · k] squared Euclidean distances, matching `indices`. */
  readonly distances: Float64Array;
}

/** Options of {@link kNearest}. */
export interface KNearestOptions {
  /** Neighbours per query; must not exceed the candidates available. */
  readonly k: number;
  /**
   * Self-search: the queries are the reference rows listed here (each excluded from its own neighbours),
   * and `query` must be omitted. Default when `query` is omitted: every reference row.
   */
  readonly rows?: ArrayLike<number>;
}

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
 * Squared Euclidean distances between every row of `a` and every row of `b` (`b` omitted: `a` with
 * itself), as a row-major [a.rows, b.rows] float64 matrix. D_ij = Σ_q (a_iq − b_jq)².
 *
 * @throws LongTailError `INVALID_OPTION`, `SHAPE_MISMATCH` for malformed matrices or different widths.
 */
export function pairwiseSquaredDistances(a: HostRows, b?: HostRows): Float64Array {
  checkHostRows('a', a);
  const other = b ?? a;
  if (b !== undefined) {
    checkHostRows('b', b);
    if (b.cols !== a.cols) throw invalid('SHAPE_MISMATCH', `b.cols = a.cols = ${a.cols}`, 'b.cols', b.cols);
  }
  const out = new Float64Array(a.rows * other.rows);
  const m = other.rows;
  if (b === undefined) {
    forEachDistance(a.values, range(a.rows), a.values, range(a.rows), a.cols, true, (x, y, s) => {
      out[x * m + y] = s;
      out[y * m + x] = s;
    });
  } else {
    forEachDistance(a.values, range(a.rows), other.values, range(m), a.cols, false, (x, y, s) => {
      out[x * m + y] = s;
    });
  }
  return out;
}

/**
 * The k nearest reference rows of each query by squared Euclidean distance, nearest first, ties by the
 * smaller reference index (the order of a stable sort on distance).
 *
 * - Cross search, `kNearest(reference, { k }, query)`: neighbours among all reference rows of each
 *   query row (needs k ≤ reference.rows).
 * - Self-search, `kNearest(reference, { k, rows? })`: the queries are reference rows (all, or those
 *   listed), each excluded from its own neighbours (needs k ≤ reference.rows − 1). Pairs of listed
 *   rows are computed once (D is symmetric).
 *
 * @example
 * ```ts
 * const { indices } = kNearest({ values: x, rows: n, cols: d }, { k: 5 }); // scikit-learn:
 * // NearestNeighbors(n_neighbors=6).fit(X).kneighbors(X)[1][:, 1:]
 * ```
 * @throws LongTailError `INVALID_OPTION` (k, rows), `SHAPE_MISMATCH` (widths), before any work.
 */
export function kNearest(reference: HostRows, options: KNearestOptions, query?: HostRows): NeighborResult {
  checkHostRows('reference', reference);
  if (options === null || typeof options !== 'object') throw invalid('INVALID_OPTION', 'an options object { k }', 'options', options);
  checkOptions('kNearest options', options, { k: true, rows: true });
  const n = reference.rows;
  const d = reference.cols;
  if (query !== undefined) {
    checkHostRows('query', query);
    if (query.cols !== d) throw invalid('SHAPE_MISMATCH', `query.cols = reference.cols = ${d}`, 'query.cols', query.cols);
    if (options.rows !== undefined) throw invalid('INVALID_OPTION', 'rows only for a self-search (no query)', 'rows', options.rows);
    const k = checkInteger('k', options.k, { min: 1 });
    if (k > n) throw invalid('INVALID_OPTION', `k <= reference.rows = ${n}`, 'k', k);
    const top = new TopK(query.rows, k);
    if (!simdSearch(reference, query.values, range(query.rows), null, top)) {
      forEachDistance(query.values, range(query.rows), reference.values, range(n), d, false, (x, y, s) => top.offer(x, y, s));
    }
    return { k, indices: top.indices, distances: top.distances };
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
  if (simdSearch(reference, reference.values, rows, rows, top)) return { k, indices: top.indices, distances: top.distances };
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
  return { k, indices: top.indices, distances: top.distances };
}
