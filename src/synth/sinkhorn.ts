/**
 * Entropic optimal transport by Sinkhorn scaling (Cuturi 2013) on typed arrays, in float64, following
 * POT 0.8.2's `ot.sinkhorn` (sinkhorn_knopp) and `ot.sinkhorn_log` iteration for iteration.
 */
import { invalid, LongTailError } from '../core/errors.js';
import { checkAllFinite, checkInteger, checkNonNegative, checkOneOf, checkPositive, checkSameSize } from '../core/validate.js';
import { getKernel } from './wasm-kernel.js';

/** A dense row-major matrix. */
export interface DenseMatrix {
  readonly values: ArrayLike<number>;
  readonly rows: number;
  readonly cols: number;
}

/** Options of {@link sinkhorn}. */
export interface SinkhornOptions {
  /** Entropic regulariser ε > 0 (POT's `reg`). */
  readonly epsilon: number;
  /** @defaultValue 200 */
  readonly maxIterations?: number;
  /** Stop when ‖Pᵀ1 − b‖₂ < tolerance, checked every 10th iteration as POT does; 0 never stops early. @defaultValue 1e-9 */
  readonly tolerance?: number;
  /** `'plain'` scaling, or `'log'`-domain (stable for small ε). @defaultValue 'plain' */
  readonly method?: 'plain' | 'log';
  /** Mat-vec products: `'auto'` uses the built-in WebAssembly SIMD kernel when the runtime has it, `'js'` plain loops. @defaultValue 'auto' */
  readonly kernel?: 'auto' | 'js';
  /** Called on non-convergence or numerical trouble (the library never logs). */
  readonly onWarning?: (warning: SinkhornWarning) => void;
}

/** A non-fatal problem of a Sinkhorn run. */
export interface SinkhornWarning {
  readonly code: 'NOT_CONVERGED' | 'NUMERICAL_ERROR';
  readonly message: string;
  readonly iterations: number;
  readonly marginalError: number;
}

/** The result of {@link sinkhorn}. */
export interface SinkhornResult {
  /** The transport plan P (rows × cols, row-major, float64). */
  readonly plan: Float64Array;
  /** ⟨P, M⟩ = Σ P_ij·M_ij (POT's `sinkhorn2` value, without the entropy term). */
  readonly cost: number;
  /** Iterations run (POT's `log['niter'] + 1`). */
  readonly iterations: number;
  /** ‖Pᵀ1 − b‖₂ of the returned plan (POT's stopping quantity). */
  readonly marginalError: number;
  readonly converged: boolean;
  /** Set when a warning was raised (the same one passed to `onWarning`). */
  readonly warning?: SinkhornWarning;
}

const CHECK_EVERY = 10;

/**
 * Entropic OT between histograms `a` (length n) and `b` (length m) with cost `M` (n × m):
 * P = diag(u)·K·diag(v), K = exp(−M/ε), alternating v = b ⊘ Kᵀu and u = a ⊘ Kv from u = 1/n, v = 1/m.
 *
 * - `'plain'` matches `ot.sinkhorn(a, b, M, reg, method='sinkhorn')`: on a zero or non-finite scaling
 *   it returns the previous iterate and warns (`NUMERICAL_ERROR`).
 * - `'log'` matches `ot.sinkhorn_log`: the same iterates computed as log-potentials. It is stabilised by
 *   absorbing the scalings into potentials (Schmitzer 2019) and falls back to an exact log-sum-exp for
 *   any row or column whose sum would underflow, so it stays finite for small ε (1e-3 on costs in [0, 1]).
 *
 * The error ‖Pᵀ1 − b‖₂ is checked every 10th iteration (0, 10, 20, ...) against `tolerance`, exactly as
 * POT; not converging by `maxIterations` warns (`NOT_CONVERGED`) and returns the last plan.
 *
 * @see Cuturi, "Sinkhorn Distances", NeurIPS 2013; Flamary et al., POT, JMLR 2021.
 * @throws LongTailError `INVALID_OPTION`, `SHAPE_MISMATCH`, `NON_FINITE` before any work.
 */
export function sinkhorn(a: ArrayLike<number>, b: ArrayLike<number>, cost: DenseMatrix, options: SinkhornOptions): SinkhornResult {
  if (options === null || typeof options !== 'object') throw invalid('INVALID_OPTION', 'an options object', 'options', options);
  const epsilon = checkPositive('epsilon', options.epsilon);
  const maxIterations = checkInteger('maxIterations', options.maxIterations ?? 200, { min: 1 });
  const tolerance = checkNonNegative('tolerance', options.tolerance ?? 1e-9);
  const useWasm = checkOneOf('kernel', options.kernel ?? 'auto', ['auto', 'js'] as const) === 'auto';
  const method = checkOneOf('method', options.method ?? 'plain', ['plain', 'log'] as const);
  const { rows: n, cols: m } = checkMatrix('cost', cost);
  const wa = checkWeights('a', a);
  const wb = checkWeights('b', b);
  checkSameSize('a.length = cost.rows', n, 'a.length', wa.length);
  checkSameSize('b.length = cost.cols', m, 'b.length', wb.length);
  const run = method === 'plain' ? plainSinkhorn : logSinkhorn;
  const { u, v, kernel, iterations, converged, numerical } = run(wa, wb, cost.values, n, m, epsilon, maxIterations, tolerance, useWasm);
  const plan = new Float64Array(n * m);
  let total = 0;
  const colSums = new Float64Array(m);
  for (let i = 0; i < n; i++) {
    const o = i * m;
    const ui = u[i] as number;
    for (let j = 0; j < m; j++) {
      const p = ui * (kernel[o + j] as number) * (v[j] as number);
      plan[o + j] = p;
      colSums[j] = (colSums[j] as number) + p;
      total += p * (cost.values[o + j] as number);
    }
  }
  let err = 0;
  for (let j = 0; j < m; j++) err += ((colSums[j] as number) - (wb[j] as number)) ** 2;
  const marginalError = Math.sqrt(err);
  let warning: SinkhornWarning | undefined;
  if (numerical) {
    warning = { code: 'NUMERICAL_ERROR', message: `Sinkhorn hit a zero or non-finite scaling at iteration ${iterations}; returned the previous iterate`, iterations, marginalError };
  } else if (!converged) {
    warning = {
      code: 'NOT_CONVERGED',
      message: `Sinkhorn did not converge in ${iterations} iterations (marginal error ${marginalError.toExponential(3)} > tolerance ${tolerance}); increase maxIterations or epsilon`,
      iterations,
      marginalError,
    };
  }
  if (warning !== undefined) options.onWarning?.(warning);
  const result: SinkhornResult = { plan, cost: total, iterations, marginalError, converged };
  return warning === undefined ? result : { ...result, warning };
}

interface RunResult {
  readonly u: Float64Array;
  readonly v: Float64Array;
  /** The kernel the plan is u_i·kernel_ij·v_j of. */
  readonly kernel: Float64Array;
  readonly iterations: number;
  readonly converged: boolean;
  readonly numerical: boolean;
}

/**
 * Kernel K (n×m), its transpose, scalings and products; in the WebAssembly kernel's memory when available
 * (its SIMD mat-vec is the hot loop), else in ordinary typed arrays.
 */
interface Workspace {
  readonly k: Float64Array;
  readonly kT: Float64Array;
  readonly u: Float64Array;
  readonly v: Float64Array;
  /** K·v after {@link kv}. */
  readonly rowOut: Float64Array;
  /** Kᵀ·u after {@link ktu}. */
  readonly colOut: Float64Array;
  kv(): void;
  ktu(): void;
}

function workspace(n: number, m: number, useWasm: boolean): Workspace {
  const kernel = useWasm ? getKernel() : null;
  if (kernel !== null) {
    kernel.reset();
    const pk = kernel.alloc(n * m);
    const pkT = kernel.alloc(n * m);
    const pu = kernel.alloc(n);
    const pv = kernel.alloc(m);
    const pr = kernel.alloc(n);
    const pc = kernel.alloc(m);
    return {
      k: kernel.view(pk, n * m),
      kT: kernel.view(pkT, n * m),
      u: kernel.view(pu, n),
      v: kernel.view(pv, m),
      rowOut: kernel.view(pr, n),
      colOut: kernel.view(pc, m),
      kv: () => kernel.dotRows(pk, pv, pr, n, m),
      ktu: () => kernel.dotRows(pkT, pu, pc, m, n),
    };
  }
  const ws = {
    k: new Float64Array(n * m),
    kT: new Float64Array(n * m),
    u: new Float64Array(n),
    v: new Float64Array(m),
    rowOut: new Float64Array(n),
    colOut: new Float64Array(m),
    kv(): void {
      for (let i = 0; i < n; i++) ws.rowOut[i] = dot(ws.k, i * m, ws.v, m);
    },
    ktu(): void {
      for (let j = 0; j < m; j++) ws.colOut[j] = dot(ws.kT, j * n, ws.u, n);
    },
  };
  return ws;
}

/**
 * The plain iteration's memory: K (n×m), scalings, a, and col = Kᵀu; in the WebAssembly kernel's memory
 * when available, else ordinary typed arrays.
 */
interface PlainWorkspace {
  readonly k: Float64Array;
  readonly u: Float64Array;
  readonly v: Float64Array;
  readonly a: Float64Array;
  readonly col: Float64Array;
  /** u_i = a_i / (K_i·v) for every row, and col = Kᵀu for the new u, in one pass over K. */
  sweep(): void;
}

function plainWorkspace(n: number, m: number, useWasm: boolean): PlainWorkspace {
  const kernel = useWasm ? getKernel() : null;
  if (kernel !== null) {
    kernel.reset();
    const pk = kernel.alloc(n * m);
    const pu = kernel.alloc(n);
    const pv = kernel.alloc(m);
    const pa = kernel.alloc(n);
    const pc = kernel.alloc(m);
    const col = kernel.view(pc, m);
    return {
      k: kernel.view(pk, n * m),
      u: kernel.view(pu, n),
      v: kernel.view(pv, m),
      a: kernel.view(pa, n),
      col,
      sweep(): void {
        col.fill(0);
        kernel.sweep(pk, pv, pu, pa, pc, n, m);
      },
    };
  }
  const ws: PlainWorkspace = {
    k: new Float64Array(n * m),
    u: new Float64Array(n),
    v: new Float64Array(m),
    a: new Float64Array(n),
    col: new Float64Array(m),
    sweep(): void {
      const { k, u, v, a, col } = ws;
      col.fill(0);
      for (let i = 0; i < n; i++) {
        const o = i * m;
        const ui = (a[i] as number) / dot(k, o, v, m);
        u[i] = ui;
        for (let j = 0; j < m; j++) col[j] = (col[j] as number) + ui * (k[o + j] as number);
      }
    },
  };
  return ws;
}

function plainSinkhorn(
  a: Float64Array,
  b: Float64Array,
  M: ArrayLike<number>,
  n: number,
  m: number,
  epsilon: number,
  maxIterations: number,
  tolerance: number,
  useWasm: boolean,
): RunResult {
  // Each iteration is v = b ⊘ col, then one sweep over K's rows computing u = a ⊘ Kv and, while each
  // row is in cache, col = Kᵀu for the new u: K is read once per iteration (not twice, nor Kᵀ kept),
  // and col is also the column marginal of the POT error check.
  const ws = plainWorkspace(n, m, useWasm);
  const { k, u, v, col } = ws;
  ws.a.set(a);
  const inv = -1 / epsilon;
  for (let q = 0; q < n * m; q++) k[q] = Math.exp((M[q] as number) * inv);
  u.fill(1 / n);
  v.fill(1 / m);
  col.fill(0);
  for (let i = 0; i < n; i++) {
    const o = i * m;
    const ui = u[i] as number;
    for (let j = 0; j < m; j++) col[j] = (col[j] as number) + ui * (k[o + j] as number);
  }
  const uPrev = new Float64Array(n);
  const vPrev = new Float64Array(m);
  let converged = false;
  let numerical = false;
  let ii = 0;
  for (; ii < maxIterations; ii++) {
    uPrev.set(u);
    vPrev.set(v);
    let bad = false;
    for (let j = 0; j < m; j++) {
      const s = col[j] as number;
      if (s === 0) bad = true;
      const vj = (b[j] as number) / s;
      if (!Number.isFinite(vj)) bad = true;
      v[j] = vj;
    }
    ws.sweep();
    for (let i = 0; i < n; i++) if (!Number.isFinite(u[i] as number)) bad = true;
    if (bad) {
      // POT: "numerical errors" -> keep the previous iterate and stop.
      u.set(uPrev);
      v.set(vPrev);
      numerical = true;
      break;
    }
    if (ii % CHECK_EVERY === 0 && columnError(col, v, b) < tolerance) {
      converged = true;
      break;
    }
  }
  return { u, v, kernel: k, iterations: Math.min(ii + 1, maxIterations), converged, numerical };
}

/** Sums below this are treated as underflowed and recomputed exactly in the log domain. */
const TINY = 1e-200;
/** Scalings outside [1/BIG, BIG] are absorbed into the potentials. */
const BIG = 1e50;

function logSinkhorn(
  a: Float64Array,
  b: Float64Array,
  M: ArrayLike<number>,
  n: number,
  m: number,
  epsilon: number,
  maxIterations: number,
  tolerance: number,
  useWasm: boolean,
): RunResult {
  // Total log-scalings (POT's u, v) are F + log ũ and G + log ṽ; the working kernel is
  // K̃_ij = exp(−M_ij/ε + F_i + G_j), and the iteration runs on ũ, ṽ like the plain one.
  const inv = -1 / epsilon;
  const mr = new Float64Array(n * m);
  for (let i = 0; i < n * m; i++) mr[i] = (M[i] as number) * inv;
  const mrT = new Float64Array(n * m);
  transposeInto(mr, n, m, mrT);
  const loga = Float64Array.from(a, Math.log);
  const logb = Float64Array.from(b, Math.log);
  const F = new Float64Array(n);
  const G = new Float64Array(m);
  // First iteration exactly as POT (u = 0): G = log b − LSE_i(Mr_ij), F = log a − LSE_j(Mr_ij + G_j).
  for (let j = 0; j < m; j++) G[j] = (logb[j] as number) - lse(mrT, j * n, n, F);
  for (let i = 0; i < n; i++) F[i] = (loga[i] as number) - lse(mr, i * m, m, G);
  const ws = workspace(n, m, useWasm);
  const { k: kt, kT, u: uu, v: vv, rowOut, colOut } = ws;
  const rebuild = (): void => {
    for (let i = 0; i < n; i++) {
      const o = i * m;
      const fi = F[i] as number;
      for (let j = 0; j < m; j++) kt[o + j] = Math.exp((mr[o + j] as number) + fi + (G[j] as number));
    }
    transposeInto(kt, n, m, kT);
  };
  rebuild();
  uu.fill(1);
  vv.fill(1);
  let colValid = false;
  const computeColSums = (): void => {
    ws.ktu();
    colValid = true;
  };
  const absorb = (): void => {
    for (let i = 0; i < n; i++) F[i] = (F[i] as number) + Math.log(uu[i] as number);
    for (let j = 0; j < m; j++) G[j] = (G[j] as number) + Math.log(vv[j] as number);
    uu.fill(1);
    vv.fill(1);
    rebuild();
    colValid = false;
  };
  let converged = false;
  let ii = 0;
  // Iteration 0 was done exactly above (ũ = ṽ = 1); check it like POT does.
  computeColSums();
  if (columnError(colOut, vv, b) < tolerance) converged = true;
  for (ii = 1; ii < maxIterations && !converged; ii++) {
    if (!colValid) computeColSums();
    colValid = false;
    for (let j = 0; j < m; j++) {
      const s = colOut[j] as number;
      if (s > TINY && Number.isFinite(s)) {
        vv[j] = (b[j] as number) / s;
      } else {
        // G_j ← log b_j − LSE_i(Mr_ij + F_i + log ũ_i), ṽ_j = 1, and refresh column j of the kernel.
        G[j] = (logb[j] as number) - lseShifted(mrT, j * n, n, F, uu);
        vv[j] = 1;
        for (let i = 0; i < n; i++) {
          const e = Math.exp((mr[i * m + j] as number) + (F[i] as number) + (G[j] as number));
          kt[i * m + j] = e;
          kT[j * n + i] = e;
        }
      }
    }
    ws.kv();
    for (let i = 0; i < n; i++) {
      const s = rowOut[i] as number;
      if (s > TINY && Number.isFinite(s)) {
        uu[i] = (a[i] as number) / s;
      } else {
        F[i] = (loga[i] as number) - lseShifted(mr, i * m, m, G, vv);
        uu[i] = 1;
        for (let j = 0; j < m; j++) {
          const e = Math.exp((mr[i * m + j] as number) + (F[i] as number) + (G[j] as number));
          kt[i * m + j] = e;
          kT[j * n + i] = e;
        }
      }
    }
    if (outside(uu) || outside(vv)) absorb();
    if (ii % CHECK_EVERY === 0) {
      computeColSums();
      if (columnError(colOut, vv, b) < tolerance) converged = true;
    }
  }
  const iterations = converged ? ii : maxIterations;
  // P_ij = ũ_i·K̃_ij·ṽ_j.
  return { u: uu, v: vv, kernel: kt, iterations, converged, numerical: false };
}

/** out (m×n) = src (n×m)ᵀ, in 32×32 tiles so both sides stay in cache. */
function transposeInto(src: Float64Array, n: number, m: number, out: Float64Array): void {
  const T = 32;
  for (let i0 = 0; i0 < n; i0 += T) {
    const i1 = Math.min(i0 + T, n);
    for (let j0 = 0; j0 < m; j0 += T) {
      const j1 = Math.min(j0 + T, m);
      for (let i = i0; i < i1; i++) {
        const o = i * m;
        for (let j = j0; j < j1; j++) out[j * n + i] = src[o + j] as number;
      }
    }
  }
}

function outside(x: Float64Array): boolean {
  for (let i = 0; i < x.length; i++) {
    const v = x[i] as number;
    if (v > BIG || v < 1 / BIG) return true;
  }
  return false;
}

function columnError(colSum: Float64Array, v: Float64Array, b: Float64Array): number {
  let err = 0;
  for (let j = 0; j < b.length; j++) err += ((colSum[j] as number) * (v[j] as number) - (b[j] as number)) ** 2;
  return Math.sqrt(err);
}

function dot(x: Float64Array, offset: number, y: Float64Array, len: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let j = 0;
  for (; j + 3 < len; j += 4) {
    s0 += (x[offset + j] as number) * (y[j] as number);
    s1 += (x[offset + j + 1] as number) * (y[j + 1] as number);
    s2 += (x[offset + j + 2] as number) * (y[j + 2] as number);
    s3 += (x[offset + j + 3] as number) * (y[j + 3] as number);
  }
  for (; j < len; j++) s0 += (x[offset + j] as number) * (y[j] as number);
  return s0 + s1 + s2 + s3;
}

/** log Σ_j exp(x[offset + j] + shift[j]) with the max subtracted. */
function lse(x: Float64Array, offset: number, len: number, shift: Float64Array): number {
  let max = -Infinity;
  for (let j = 0; j < len; j++) max = Math.max(max, (x[offset + j] as number) + (shift[j] as number));
  if (max === -Infinity) return -Infinity;
  let s = 0;
  for (let j = 0; j < len; j++) s += Math.exp((x[offset + j] as number) + (shift[j] as number) - max);
  return max + Math.log(s);
}

/** log Σ_j exp(x[offset + j] + shift[j] + log scale[j]). */
function lseShifted(x: Float64Array, offset: number, len: number, shift: Float64Array, scale: Float64Array): number {
  const combined = new Float64Array(len);
  for (let j = 0; j < len; j++) combined[j] = (shift[j] as number) + Math.log(scale[j] as number);
  return lse(x, offset, len, combined);
}

function checkMatrix(name: string, mat: DenseMatrix): { rows: number; cols: number } {
  if (mat === null || typeof mat !== 'object' || mat.values === undefined || typeof mat.values.length !== 'number') {
    throw invalid('INVALID_OPTION', `${name} to be { values, rows, cols }`, name, mat);
  }
  const rows = checkInteger(`${name}.rows`, mat.rows, { min: 1 });
  const cols = checkInteger(`${name}.cols`, mat.cols, { min: 1 });
  checkSameSize(`${name}.values.length = rows·cols`, rows * cols, `${name}.values.length`, mat.values.length);
  checkAllFinite(`${name}.values`, mat.values);
  return { rows, cols };
}

function checkWeights(name: string, w: ArrayLike<number>): Float64Array {
  if (w === null || w === undefined || typeof w.length !== 'number' || w.length === 0) {
    throw invalid('INVALID_OPTION', `${name} to be a non-empty array of weights`, name, w);
  }
  checkAllFinite(name, w);
  const out = Float64Array.from(w);
  for (let i = 0; i < out.length; i++) {
    if (!((out[i] as number) > 0)) throw invalid('INVALID_OPTION', `every ${name} entry > 0`, `${name}[${i}]`, out[i]);
  }
  return out;
}

/** Points as a row-major matrix (one point per row). */
function checkPoints(name: string, p: DenseMatrix): void {
  checkMatrix(name, p);
}

/**
 * Squared Euclidean cost M_ij = ‖x_i − y_j‖² (POT's `ot.dist(x, y)` default), computed from differences.
 */
export function squaredEuclidean(x: DenseMatrix, y: DenseMatrix): DenseMatrix {
  checkPoints('x', x);
  checkPoints('y', y);
  checkSameSize('y.cols = x.cols', x.cols, 'y.cols', y.cols);
  const d = x.cols;
  const out = new Float64Array(x.rows * y.rows);
  const xv = Float64Array.from(x.values);
  const yv = Float64Array.from(y.values);
  for (let i = 0; i < x.rows; i++) {
    const xo = i * d;
    const oo = i * y.rows;
    for (let j = 0; j < y.rows; j++) {
      const yo = j * d;
      let s0 = 0;
      let s1 = 0;
      let k = 0;
      for (; k + 1 < d; k += 2) {
        const t0 = (xv[xo + k] as number) - (yv[yo + k] as number);
        const t1 = (xv[xo + k + 1] as number) - (yv[yo + k + 1] as number);
        s0 += t0 * t0;
        s1 += t1 * t1;
      }
      if (k < d) {
        const t = (xv[xo + k] as number) - (yv[yo + k] as number);
        s0 += t * t;
      }
      out[oo + j] = s0 + s1;
    }
  }
  return { values: out, rows: x.rows, cols: y.rows };
}

/**
 * Cosine cost M_ij = 1 − x_i·y_j / (‖x_i‖‖y_j‖) (POT's `ot.dist(x, y, metric='cosine')`).
 *
 * @throws LongTailError `NON_FINITE` for a zero vector (its cosine is undefined).
 */
export function cosine(x: DenseMatrix, y: DenseMatrix): DenseMatrix {
  checkPoints('x', x);
  checkPoints('y', y);
  checkSameSize('y.cols = x.cols', x.cols, 'y.cols', y.cols);
  const d = x.cols;
  const norm = (p: DenseMatrix, name: string): Float64Array =>
    Float64Array.from({ length: p.rows }, (_, i) => {
      let s = 0;
      for (let k = 0; k < d; k++) s += (p.values[i * d + k] as number) ** 2;
      if (s === 0) throw new LongTailError('NON_FINITE', `expected non-zero vectors for a cosine cost. Received: ${name}[${i}] = 0`, { name, index: i });
      return Math.sqrt(s);
    });
  const nx = norm(x, 'x');
  const ny = norm(y, 'y');
  const out = new Float64Array(x.rows * y.rows);
  for (let i = 0; i < x.rows; i++) {
    for (let j = 0; j < y.rows; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += (x.values[i * d + k] as number) * (y.values[j * d + k] as number);
      out[i * y.rows + j] = 1 - s / ((nx[i] as number) * (ny[j] as number));
    }
  }
  return { values: out, rows: x.rows, cols: y.rows };
}

/** M / max(M) (POT examples' `M /= M.max()`); a copy, unchanged when max(M) ≤ 0. */
export function normaliseByMax(cost: DenseMatrix): DenseMatrix {
  checkMatrix('cost', cost);
  let max = -Infinity;
  for (let i = 0; i < cost.values.length; i++) max = Math.max(max, cost.values[i] as number);
  const scale = max > 0 ? 1 / max : 1;
  return { values: Float64Array.from(cost.values, (v) => v * scale), rows: cost.rows, cols: cost.cols };
}
