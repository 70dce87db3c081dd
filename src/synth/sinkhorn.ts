/**
 * Entropic optimal transport by Sinkhorn scaling (Cuturi 2013) on typed arrays, in float64, following
 * POT 0.8.2's `ot.sinkhorn` (sinkhorn_knopp) and `ot.sinkhorn_log` iteration for iteration.
 */
import * as tf from '@tensorflow/tfjs';
import { invalid, LongTailError } from '../core/errors.js';
import { checkOptions, type OptionKeys } from '../core/options.js';
import { checkInteger, checkNonNegative, checkOneOf, checkPositive, checkSameSize } from '../core/validate.js';
import { asRows, type CostMatrix, type DenseMatrix, describeInput, type Histogram, readCost, readHistogram, restrict, support } from './ot-input.js';
import { exp64 } from '../core/exp.js';
import { getKernel } from '../core/wasm-kernel.js';
import { hostPairwiseDistances, type HostRows } from '../core/neighbors.js';

export type { CostMatrix, DenseMatrix, Histogram } from './ot-input.js';

/** Options of {@link sinkhorn}. */
export interface SinkhornOptions {
  /** Entropic regulariser ε > 0 (POT's `reg`). */
  readonly epsilon: number;
  /** POT's `numItermax`. @defaultValue 1000 */
  readonly maxIterations?: number;
  /**
   * POT's `stopThr`: stop when ‖Pᵀ1 − b‖₂ < tolerance, checked at iterations 0, 10, 20, … as POT does;
   * 0 never stops early. @defaultValue 1e-9
   */
  readonly tolerance?: number;
  /**
   * `'plain'` scaling (`ot.sinkhorn`), `'log'`-domain (`ot.sinkhorn_log`, stable for small ε), or
   * `'auto'`: plain, rerun in the log domain if plain scaling under- or overflows. Where plain works,
   * `'auto'` returns exactly the plain result. @defaultValue 'auto'
   */
  readonly method?: 'auto' | 'plain' | 'log';
  /** Mat-vec products: `'auto'` uses the built-in WebAssembly SIMD kernel when the runtime has it, `'js'` plain loops. @defaultValue 'auto' */
  readonly kernel?: 'auto' | 'js';
  /**
   * Precision of the plain iteration (POT keeps its inputs' dtype: `'float32'` is `ot.sinkhorn` on
   * float32 arrays). `'float32'` stores K = exp(−M/ε) (rounded from float64), a, b, u, v and the sums
   * Kv, Kᵀu in float32 (f32x4 SIMD on the WebAssembly kernel): half the bytes of K read per iteration
   * and twice the lanes, so about twice as fast, with the plan within float32 rounding of the float64
   * one (relative error ~1e-6·√iterations on well-scaled problems). Under- and overflow come sooner in
   * float32 (K_ij < 1e-38 is subnormal or 0, a scaling > 3.4e38 is +∞): `'auto'` then falls back to the
   * log domain. The log-domain iteration, the cost ⟨P, M⟩ and the returned plan are always float64.
   * @defaultValue 'float64'
   */
  readonly dtype?: 'float64' | 'float32';
  /** Also return the plan as a float32 `tf.Tensor2D` (`result.planTensor`, owned by the caller). @defaultValue false */
  readonly planTensor?: boolean;
  /** Called on non-convergence or numerical trouble (the library never logs). */
  readonly onWarning?: (warning: SinkhornWarning) => void;
}

const KEYS: OptionKeys<SinkhornOptions> = {
  epsilon: true,
  maxIterations: true,
  tolerance: true,
  method: true,
  kernel: true,
  dtype: true,
  planTensor: true,
  onWarning: true,
};

/** A non-fatal problem of a Sinkhorn run. */
export interface SinkhornWarning {
  readonly code: 'NOT_CONVERGED' | 'NUMERICAL_ERROR';
  readonly message: string;
  readonly iterations: number;
  readonly marginalError: number;
}

/** The result of {@link sinkhorn}. */
export interface SinkhornResult {
  /**
   * The transport plan P as rows: `plan[i][j]` is the mass moved from source i to target j (float64;
   * the rows are views of one contiguous row-major buffer, `plan[0].buffer`). Rows and columns of
   * zero-mass bins, and forbidden (+∞-cost) pairs, are exactly 0.
   */
  readonly plan: Float64Array[];
  /** The plan as a float32 tensor [n, m], only when `planTensor: true`; the caller disposes it. */
  readonly planTensor?: tf.Tensor2D;
  /** ⟨P, M⟩ = Σ P_ij·M_ij over allowed pairs (POT's `sinkhorn2` value, without the entropy term). */
  readonly cost: number;
  /**
   * Log-scalings: P_ij = exp(logU_i − M_ij/ε + logV_j). They equal POT's `log['log_u']`, `log['log_v']`
   * (`sinkhorn_log`) and `log(log['u'])`, `log(log['v'])` (`sinkhorn`); ε·logU and ε·logV are the dual
   * potentials f, g of the entropic problem. −∞ on zero-mass bins.
   */
  readonly logU: Float64Array;
  readonly logV: Float64Array;
  /** Iterations run (POT's `log['niter'] + 1`). */
  readonly iterations: number;
  /** ‖Pᵀ1 − b‖₂ of the returned plan (POT's stopping quantity). */
  readonly marginalError: number;
  /** ‖Pᵀ1 − b‖₂ at every check (iterations 0, 10, 20, …): POT's `log['err']`. */
  readonly errorHistory: number[];
  /** False when the run stopped at `maxIterations` or on a numerical error: then `warning` says which. */
  readonly converged: boolean;
  /** The iteration that produced the plan (`'auto'` reports the one it ended with). */
  readonly method: 'plain' | 'log';
  /** Set when a warning was raised (the same one passed to `onWarning`). */
  readonly warning?: SinkhornWarning;
}

const CHECK_EVERY = 10;

/**
 * Entropic OT between histograms `a` (length n) and `b` (length m) with cost `M` (n × m), POT's
 * `ot.sinkhorn(a, b, M, reg)`: P = diag(u)·K·diag(v), K = exp(−M/ε), alternating v = b ⊘ Kᵀu and
 * u = a ⊘ Kv from u = 1/n.
 *
 * - `M`: a `tf.Tensor2D` (read, not disposed), nested rows or `{ values, rows, cols }`. `+Infinity`
 *   forbids a pair (K_ij = 0, so P_ij = 0); a row or column with mass whose every pair is forbidden is
 *   an error naming it. (Other infeasible patterns of forbidden pairs simply do not converge.)
 * - `a`, `b`: omitted or empty means uniform. Zero entries are allowed: their rows/columns of P are 0,
 *   and the iterates on the other bins are POT's.
 * - `'plain'` matches `ot.sinkhorn(…, method='sinkhorn')`: on a zero or non-finite scaling it returns
 *   the previous iterate and warns (`NUMERICAL_ERROR`, pointing to `method: 'log'`).
 * - `'log'` matches `ot.sinkhorn_log`: the same iterates computed as log-potentials, stabilised by
 *   absorbing the scalings into potentials (Schmitzer 2019) with an exact log-sum-exp for any row or
 *   column whose sum would underflow, so it stays finite for small ε (1e-3 on costs in [0, 1]).
 * - `'auto'` (default): plain, and the log domain when plain hits a numerical error.
 *
 * The error ‖Pᵀ1 − b‖₂ is checked every 10th iteration (0, 10, 20, ...) against `tolerance`, exactly as
 * POT; not converging by `maxIterations` (default 1000, POT's) returns the last plan with
 * `converged: false` and a `NOT_CONVERGED` warning.
 *
 * @example
 * ```ts
 * // POT: P = ot.sinkhorn([], [], M, 0.05); log_u = ot.sinkhorn_log(a, b, M, 0.05, log=True)[1]['log_u']
 * const { plan, cost, converged } = sinkhorn(undefined, undefined, M, { epsilon: 0.05 });
 * ```
 * @see Cuturi, "Sinkhorn Distances", NeurIPS 2013; Flamary et al., POT, JMLR 2021.
 * @throws LongTailError `UNKNOWN_OPTION`, `INVALID_OPTION`, `SHAPE_MISMATCH`, `NON_FINITE`,
 *   `DTYPE_MISMATCH`, `DISPOSED` before any work.
 */
export function sinkhorn(a: Histogram, b: Histogram, M: CostMatrix, options: SinkhornOptions): SinkhornResult {
  if (options === undefined) throw invalid('INVALID_OPTION', 'sinkhorn options with epsilon (POT\'s reg)', 'options', options);
  const o = checkOptions('sinkhorn options', options, KEYS);
  const epsilon = checkPositive('epsilon', o.epsilon);
  const maxIterations = checkInteger('maxIterations', o.maxIterations ?? 1000, { min: 1 });
  const tolerance = checkNonNegative('tolerance', o.tolerance ?? 1e-9);
  const useWasm = checkOneOf('kernel', o.kernel ?? 'auto', ['auto', 'js'] as const) === 'auto';
  const method = checkOneOf('method', o.method ?? 'auto', ['auto', 'plain', 'log'] as const);
  const dtype = checkOneOf('dtype', o.dtype ?? 'float64', ['float64', 'float32'] as const);
  const wantTensor = o.planTensor ?? false;
  if (typeof wantTensor !== 'boolean') throw invalid('INVALID_OPTION', 'planTensor to be a boolean', 'planTensor', wantTensor);
  if (o.onWarning !== undefined && typeof o.onWarning !== 'function') throw invalid('INVALID_OPTION', 'onWarning to be a function', 'onWarning', describeInput(o.onWarning));
  // Borrowed, not copied: nothing below writes to the cost or keeps it past the return.
  const cost = readCost('M', M, { allowInfinity: true, borrow: true });
  const n = cost.rows;
  const m = cost.cols;
  const wa = readHistogram('a', a, n, 'M.rows');
  const wb = readHistogram('b', b, m, 'M.cols');
  const rowIdx = support(wa);
  const colIdx = support(wb);
  checkAllowedPairs(cost, wa, wb, rowIdx, colIdx);

  // Zero-mass bins have u_i = 0 (v_j = 0) after the first iteration, in POT as here: solve on the
  // support, with the first column sums taken over every row as POT's u = 1/n start does.
  const nr = rowIdx.length;
  const mr = colIdx.length;
  const Mr = nr === n && mr === m ? cost.values : restrict(cost, rowIdx, colIdx);
  const ar = Float64Array.from(rowIdx, (i) => wa[i] as number);
  const br = Float64Array.from(colIdx, (j) => wb[j] as number);
  const setup = { a: ar, b: br, M: Mr, n: nr, m: mr, epsilon, maxIterations, tolerance, useWasm };
  let used: 'plain' | 'log' = method === 'log' ? 'log' : 'plain';
  // With every row in the support, the plain start's column sums are sums of K's own entries: they are
  // accumulated while K is filled (the same exponentials in the same order) instead of a second pass.
  const start = (): Float64Array | null => (nr === n ? null : plainStart(cost, colIdx, epsilon));
  let run = used === 'plain' ? plainSinkhorn(setup, start(), dtype) : logSinkhorn(setup, logStart(cost, colIdx, epsilon));
  if (method === 'auto' && run.numerical) {
    used = 'log';
    run = logSinkhorn(setup, logStart(cost, colIdx, epsilon));
  }

  const flat = new Float64Array(n * m);
  const logU = new Float64Array(n).fill(-Infinity);
  const logV = new Float64Array(m).fill(-Infinity);
  rowIdx.forEach((i, r) => (logU[i] = run.logU[r] as number));
  colIdx.forEach((j, c) => (logV[j] = run.logV[c] as number));
  let total = 0;
  const colSums = new Float64Array(m);
  const { kernel: K, u: uRun, v: vRun } = run;
  const values = cost.values;
  for (let r = 0; r < nr; r++) {
    const i = rowIdx[r] as number;
    const ur = uRun[r] as number;
    const o = r * mr;
    for (let c = 0; c < mr; c++) {
      const p = ur * (K[o + c] as number) * (vRun[c] as number);
      if (p === 0) continue;
      const j = colIdx[c] as number;
      flat[i * m + j] = p;
      colSums[j] = (colSums[j] as number) + p;
      total += p * (values[i * m + j] as number);
    }
  }
  let err = 0;
  for (let j = 0; j < m; j++) err += ((colSums[j] as number) - (wb[j] as number)) ** 2;
  const marginalError = Math.sqrt(err);
  const { iterations, converged, numerical } = run;
  let warning: SinkhornWarning | undefined;
  if (numerical) {
    warning = {
      code: 'NUMERICAL_ERROR',
      message:
        `Sinkhorn's plain scaling under- or overflowed at iteration ${iterations} (exp(−M/ε) too small for ε = ${epsilon}); ` +
        "returned the previous iterate. Use method: 'log' (or 'auto', which falls back to it), or a larger epsilon",
      iterations,
      marginalError,
    };
  } else if (!converged) {
    warning = {
      code: 'NOT_CONVERGED',
      message: `Sinkhorn did not converge in ${iterations} iterations (marginal error ${marginalError.toExponential(3)} >= tolerance ${tolerance}); increase maxIterations or epsilon`,
      iterations,
      marginalError,
    };
  }
  if (warning !== undefined) o.onWarning?.(warning);
  const result: SinkhornResult = {
    plan: asRows(flat, n, m),
    cost: total,
    logU,
    logV,
    iterations,
    marginalError,
    errorHistory: run.errors,
    converged: converged && !numerical,
    method: used,
    ...(warning === undefined ? {} : { warning }),
  };
  return wantTensor ? { ...result, planTensor: tf.tensor2d(Float32Array.from(flat), [n, m]) } : result;
}

/** Every row and column with mass must have an allowed pair (finite cost) with a bin of mass on the other side. */
function checkAllowedPairs(cost: { values: Float64Array; rows: number; cols: number }, wa: Float64Array, wb: Float64Array, rowIdx: Int32Array, colIdx: Int32Array): void {
  const m = cost.cols;
  // One row-major pass: whether each row has an allowed pair, and which columns have one.
  const colOk = new Uint8Array(m);
  const rowOk = new Uint8Array(rowIdx.length);
  let missingCols = colIdx.length;
  rowIdx.forEach((i, r) => {
    const o = i * m;
    for (const j of colIdx) {
      if ((cost.values[o + j] as number) === Infinity) continue;
      rowOk[r] = 1;
      if (colOk[j] === 0) {
        colOk[j] = 1;
        missingCols--;
      }
    }
  });
  rowIdx.forEach((i, r) => {
    if (rowOk[r] === 0) {
      throw new LongTailError(
        'INVALID_OPTION',
        `expected row ${i} of M (a[${i}] = ${wa[i]} > 0) to allow a pair: a finite cost to some column with b > 0. Received: M[${i}]=${describeInput(Array.from(cost.values.subarray(i * m, (i + 1) * m)))}`,
        { name: 'M', row: i },
      );
    }
  });
  if (missingCols === 0) return;
  for (const j of colIdx) {
    if (colOk[j] === 0) {
      const column = Array.from({ length: cost.rows }, (_, i) => cost.values[i * m + j] as number);
      throw new LongTailError(
        'INVALID_OPTION',
        `expected column ${j} of M (b[${j}] = ${wb[j]} > 0) to allow a pair: a finite cost to some row with a > 0. Received: M[:, ${j}]=${describeInput(column)}`,
        { name: 'M', col: j },
      );
    }
  }
}

/** Plain start: col_j = Σ_i K_ij / n over every row (POT's u = 1/n), for the support columns. */
function plainStart(cost: { values: Float64Array; rows: number; cols: number }, colIdx: Int32Array, epsilon: number): Float64Array {
  const { rows: n, cols: m } = cost;
  const inv = -1 / epsilon;
  const u0 = 1 / n;
  const col = new Float64Array(colIdx.length);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < colIdx.length; c++) col[c] = (col[c] as number) + u0 * exp64((cost.values[i * m + (colIdx[c] as number)] as number) * inv);
  }
  return col;
}

/** Log start: LSE_i(−M_ij/ε) over every row (POT's log u = 0), for the support columns. */
function logStart(cost: { values: Float64Array; rows: number; cols: number }, colIdx: Int32Array, epsilon: number): Float64Array {
  const { rows: n, cols: m } = cost;
  const inv = -1 / epsilon;
  const column = new Float64Array(n);
  const zero = new Float64Array(n);
  return Float64Array.from(colIdx, (j) => {
    for (let i = 0; i < n; i++) column[i] = (cost.values[i * m + j] as number) * inv;
    return lse(column, 0, n, zero);
  });
}

/** The reduced problem a run solves (only bins with mass). */
interface Setup {
  readonly a: Float64Array;
  readonly b: Float64Array;
  readonly M: ArrayLike<number>;
  readonly n: number;
  readonly m: number;
  readonly epsilon: number;
  readonly maxIterations: number;
  readonly tolerance: number;
  readonly useWasm: boolean;
}

interface RunResult {
  readonly u: Float64Array | Float32Array;
  readonly v: Float64Array | Float32Array;
  /** The kernel the plan is u_i·kernel_ij·v_j of. */
  readonly kernel: Float64Array | Float32Array;
  /** log u, log v of the returned iterate (the plan is exp(logU_i − M_ij/ε + logV_j)). */
  readonly logU: Float64Array;
  readonly logV: Float64Array;
  readonly iterations: number;
  readonly converged: boolean;
  readonly numerical: boolean;
  /** The marginal error at every check (POT's `log['err']`). */
  readonly errors: number[];
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

/** A float64 or float32 vector of the plain iteration. */
type Vec = Float64Array | Float32Array;

/**
 * The plain iteration's memory: K (n×m), scalings, a, and col = Kᵀu, in `dtype`; in the WebAssembly
 * kernel's memory when available, else ordinary typed arrays.
 */
interface PlainWorkspace {
  readonly k: Vec;
  readonly u: Vec;
  readonly v: Vec;
  readonly a: Vec;
  readonly col: Vec;
  /** u_i = a_i / (K_i·v) for every row, and col = Kᵀu for the new u, in one pass over K. */
  sweep(): void;
}

function plainWorkspace(n: number, m: number, useWasm: boolean, dtype: 'float64' | 'float32'): PlainWorkspace {
  const kernel = useWasm ? getKernel() : null;
  if (kernel !== null) {
    kernel.reset();
    const f32 = dtype === 'float32';
    const alloc = (count: number): number => (f32 ? kernel.alloc32(count) : kernel.alloc(count));
    const view = (address: number, count: number): Vec => (f32 ? kernel.view32(address, count) : kernel.view(address, count));
    const pk = alloc(n * m);
    const pu = alloc(n);
    const pv = alloc(m);
    const pa = alloc(n);
    const pc = alloc(m);
    const col = view(pc, m);
    const sweep = f32 ? kernel.sweep32 : kernel.sweep;
    return {
      k: view(pk, n * m),
      u: view(pu, n),
      v: view(pv, m),
      a: view(pa, n),
      col,
      sweep(): void {
        col.fill(0);
        sweep(pk, pv, pu, pa, pc, n, m);
      },
    };
  }
  const make = (count: number): Vec => (dtype === 'float32' ? new Float32Array(count) : new Float64Array(count));
  const ws: PlainWorkspace = {
    k: make(n * m),
    u: make(n),
    v: make(m),
    a: make(n),
    col: make(m),
    sweep(): void {
      const { k, u, v, a, col } = ws;
      col.fill(0);
      for (let i = 0; i < n; i++) {
        const o = i * m;
        const ui = (a[i] as number) / dot(k, o, v, m);
        u[i] = ui;
        // Read back: in float32 the stored (rounded) u_i is the one the plan uses.
        const us = u[i] as number;
        for (let j = 0; j < m; j++) col[j] = (col[j] as number) + us * (k[o + j] as number);
      }
    },
  };
  return ws;
}

/**
 * `startColumns`: Kᵀu for POT's start u = 1/n (over every row of the full problem, see {@link plainStart}).
 * In `'float32'` every stored quantity is rounded to float32 (POT's `ot.sinkhorn` on float32 arrays).
 */
function plainSinkhorn(s: Setup, startColumns: Float64Array | null, dtype: 'float64' | 'float32'): RunResult {
  const { a, b: b64, M, n, m, epsilon, maxIterations, tolerance, useWasm } = s;
  // Each iteration is v = b ⊘ col, then one sweep over K's rows computing u = a ⊘ Kv and, while each
  // row is in cache, col = Kᵀu for the new u: K is read once per iteration (not twice, nor Kᵀ kept),
  // and col is also the column marginal of the POT error check.
  const ws = plainWorkspace(n, m, useWasm, dtype);
  const { k, u, v, col } = ws;
  ws.a.set(a);
  const b = dtype === 'float32' ? Float32Array.from(b64) : b64;
  const inv = -1 / epsilon;
  if (startColumns === null) {
    // Every row is in the support: the start's column sums Σ_i K_ij / n (plainStart's loop) as K is filled.
    const u0 = 1 / n;
    const start = new Float64Array(m);
    for (let i = 0; i < n; i++) {
      const o = i * m;
      for (let j = 0; j < m; j++) {
        const e = exp64((M[o + j] as number) * inv);
        k[o + j] = e;
        start[j] = (start[j] as number) + u0 * e;
      }
    }
    col.set(start);
  } else {
    for (let q = 0; q < n * m; q++) k[q] = exp64((M[q] as number) * inv);
    col.set(startColumns);
  }
  // POT's start u = 1/n, v = 1/m (what a numerical error at iteration 0 returns).
  u.fill(1 / n);
  v.fill(1 / m);
  const uPrev = u.slice();
  const vPrev = v.slice();
  let converged = false;
  let numerical = false;
  const errors: number[] = [];
  let ii = 0;
  for (; ii < maxIterations; ii++) {
    uPrev.set(u);
    vPrev.set(v);
    let bad = false;
    for (let j = 0; j < m; j++) {
      const s = col[j] as number;
      if (s === 0) bad = true;
      v[j] = (b[j] as number) / s;
      // Checked after the store: a float32 quotient can overflow to +∞ where the float64 one did not.
      if (!Number.isFinite(v[j] as number)) bad = true;
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
    if (ii % CHECK_EVERY === 0) {
      const err = columnError(col, v, b);
      errors.push(err);
      if (err < tolerance) {
        converged = true;
        break;
      }
    }
  }
  const logU = Float64Array.from(u, Math.log);
  const logV = Float64Array.from(v, Math.log);
  return { u, v, kernel: k, logU, logV, iterations: Math.min(ii + 1, maxIterations), converged, numerical, errors };
}

/** Sums below this are treated as underflowed and recomputed exactly in the log domain. */
const TINY = 1e-200;
/** Scalings outside [1/BIG, BIG] are absorbed into the potentials. */
const BIG = 1e50;

/** `startColumns`: LSE_i(−M_ij/ε) for POT's start log u = 0 (over every row of the full problem, see {@link logStart}). */
function logSinkhorn(s: Setup, startColumns: Float64Array): RunResult {
  const { a, b, M, n, m, epsilon, maxIterations, tolerance, useWasm } = s;
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
  for (let j = 0; j < m; j++) G[j] = (logb[j] as number) - (startColumns[j] as number);
  for (let i = 0; i < n; i++) F[i] = (loga[i] as number) - lse(mr, i * m, m, G);
  const ws = workspace(n, m, useWasm);
  const { k: kt, kT, u: uu, v: vv, rowOut, colOut } = ws;
  const rebuild = (): void => {
    for (let i = 0; i < n; i++) {
      const o = i * m;
      const fi = F[i] as number;
      for (let j = 0; j < m; j++) kt[o + j] = exp64((mr[o + j] as number) + fi + (G[j] as number));
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
  const errors: number[] = [];
  let ii = 0;
  // Iteration 0 was done exactly above (ũ = ṽ = 1); check it like POT does.
  computeColSums();
  errors.push(columnError(colOut, vv, b));
  if ((errors[0] as number) < tolerance) converged = true;
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
          const e = exp64((mr[i * m + j] as number) + (F[i] as number) + (G[j] as number));
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
          const e = exp64((mr[i * m + j] as number) + (F[i] as number) + (G[j] as number));
          kt[i * m + j] = e;
          kT[j * n + i] = e;
        }
      }
    }
    if (outside(uu) || outside(vv)) absorb();
    if (ii % CHECK_EVERY === 0) {
      computeColSums();
      const err = columnError(colOut, vv, b);
      errors.push(err);
      if (err < tolerance) converged = true;
    }
  }
  const iterations = converged ? ii : maxIterations;
  const logU = Float64Array.from(F, (f, i) => f + Math.log(uu[i] as number));
  const logV = Float64Array.from(G, (g, j) => g + Math.log(vv[j] as number));
  // P_ij = ũ_i·K̃_ij·ṽ_j.
  return { u: uu, v: vv, kernel: kt, logU, logV, iterations, converged, numerical: false, errors };
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

function columnError(colSum: Vec, v: Vec, b: Vec): number {
  let err = 0;
  for (let j = 0; j < b.length; j++) err += ((colSum[j] as number) * (v[j] as number) - (b[j] as number)) ** 2;
  return Math.sqrt(err);
}

function dot(x: Vec, offset: number, y: Vec, len: number): number {
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
  for (let j = 0; j < len; j++) s += exp64((x[offset + j] as number) + (shift[j] as number) - max);
  return max + Math.log(s);
}

/** log Σ_j exp(x[offset + j] + shift[j] + log scale[j]). */
function lseShifted(x: Float64Array, offset: number, len: number, shift: Float64Array, scale: Float64Array): number {
  const combined = new Float64Array(len);
  for (let j = 0; j < len; j++) combined[j] = (shift[j] as number) + Math.log(scale[j] as number);
  return lse(x, offset, len, combined);
}

/** Points as a row-major matrix (one point per row): any {@link CostMatrix} form, finite. */
function readPoints(name: string, p: CostMatrix): { values: Float64Array; rows: number; cols: number } {
  return readCost(name, p, { allowInfinity: false });
}

/** Points read as host rows of {@link hostPairwiseDistances}, after the checks of a cost matrix. */
function pointPair(x: CostMatrix, y: CostMatrix): [HostRows, HostRows] {
  const px = readPoints('x', x);
  const py = readPoints('y', y);
  checkSameSize('y.cols = x.cols', px.cols, 'y.cols', py.cols);
  return [px, py];
}

/**
 * Squared Euclidean cost M_ij = ‖x_i − y_j‖² (POT's `ot.dist(x, y)` default), computed from differences
 * ({@link hostPairwiseDistances} with `metric: 'sqeuclidean'`). `x`, `y`: one point per row, as a
 * `tf.Tensor2D`, nested rows or `{ values, rows, cols }`.
 */
export function squaredEuclidean(x: CostMatrix, y: CostMatrix): DenseMatrix {
  const [px, py] = pointPair(x, y);
  return { values: hostPairwiseDistances(px, py, { metric: 'sqeuclidean' }), rows: px.rows, cols: py.rows };
}

/**
 * Cosine cost M_ij = 1 − x_i·y_j / (‖x_i‖‖y_j‖) (POT's `ot.dist(x, y, metric='cosine')`;
 * {@link hostPairwiseDistances} with `metric: 'cosine'`). A zero vector (e.g. a dead-ReLU latent) has no
 * direction: its distance to every point, itself included, is 1 (orthogonal), as scikit-learn's
 * `cosine_distances` gives.
 */
export function cosine(x: CostMatrix, y: CostMatrix): DenseMatrix {
  const [px, py] = pointPair(x, y);
  return { values: hostPairwiseDistances(px, py, { metric: 'cosine' }), rows: px.rows, cols: py.rows };
}

/**
 * M / max(M) over the finite entries (POT examples' `M /= M.max()`); a copy, unchanged when the max is
 * ≤ 0; +∞ (forbidden pairs) stays +∞.
 */
export function normalizeByMax(cost: CostMatrix): DenseMatrix {
  const c = readCost('cost', cost, { allowInfinity: true });
  let max = -Infinity;
  for (const v of c.values) if (v !== Infinity) max = Math.max(max, v);
  const scale = max > 0 ? 1 / max : 1;
  return { values: Float64Array.from(c.values, (v) => v * scale), rows: c.rows, cols: c.cols };
}
