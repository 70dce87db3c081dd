/**
 * Small dense linear algebra on row-major Float64Array matrices: Cholesky, positive-definite repair,
 * triangular products. tfjs has no Cholesky or eigen ops; these are d×d problems (d ≤ a few thousand),
 * where plain loops in float64 are accurate and fast enough.
 */
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { LongTailError } from '../core/errors.js';
import { getKernel } from './wasm-kernel.js';

/**
 * Cholesky factor of a symmetric positive-definite `d×d` matrix: the lower-triangular `L` with
 * `A = L·Lᵀ` (row-major, upper triangle zero). Returns `null` when a pivot is not positive (A not PD).
 * Only the lower triangle of `a` is read.
 */
export function cholesky(a: Float64Array, d: number): Float64Array | null {
  const l = new Float64Array(d * d);
  for (let j = 0; j < d; j++) {
    const rowJ = j * d;
    let s = a[rowJ + j] as number;
    for (let k = 0; k < j; k++) {
      const v = l[rowJ + k] as number;
      s -= v * v;
    }
    if (!(s > 0) || !Number.isFinite(s)) return null;
    const ljj = Math.sqrt(s);
    l[rowJ + j] = ljj;
    const inv = 1 / ljj;
    for (let i = j + 1; i < d; i++) {
      const rowI = i * d;
      let t = a[rowI + j] as number;
      for (let k = 0; k < j; k++) t -= (l[rowI + k] as number) * (l[rowJ + k] as number);
      l[rowI + j] = t * inv;
    }
  }
  return l;
}

/** How a covariance that is not numerically positive definite is repaired before Cholesky. */
export type PsdRepair = 'jitter' | 'eigenFloor';

/** Options of {@link choleskyWithRepair}. */
export interface RepairOptions {
  /** `'jitter'` (default): add δ·I, δ = 1e-10·(tr A / d), ×10 until Cholesky succeeds. `'eigenFloor'`:
   * clamp eigenvalues to at least `eigenFloor`·λ_max, rebuild, then Cholesky. */
  readonly method?: PsdRepair;
  /** Relative eigenvalue floor for `'eigenFloor'`. @defaultValue 1e-6 */
  readonly eigenFloor?: number;
}

/** A Cholesky factor and what was added to the diagonal to get it (0 when none was needed). */
export interface RepairedFactor {
  readonly factor: Float64Array;
  readonly jitter: number;
}

const MAX_JITTER_STEPS = 16;

/**
 * Cholesky of a symmetric matrix after repairing it to positive definite. With `'jitter'` the result is
 * the factor of A + δI for the smallest tried δ = δ₀·10^k (δ₀ = 1e-10 · max(tr A / d, 1e-300)) that
 * works; with `'eigenFloor'` it is the factor of V·max(Λ, floor·λ_max)·Vᵀ (eigen decomposition by
 * ml-matrix), falling back to jitter if rounding still breaks Cholesky.
 *
 * @throws LongTailError `NON_FINITE` when the matrix has NaN/Inf or no repair succeeds.
 */
export function choleskyWithRepair(a: Float64Array, d: number, options: RepairOptions = {}): RepairedFactor {
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i] as number)) {
      throw new LongTailError('NON_FINITE', `expected a finite covariance. Received: covariance[${i}]=${a[i]}`);
    }
  }
  const direct = cholesky(a, d);
  if (direct !== null) return { factor: direct, jitter: 0 };
  const source = options.method === 'eigenFloor' ? eigenFloor(a, d, options.eigenFloor ?? 1e-6) : a;
  if (source !== a) {
    const floored = cholesky(source, d);
    if (floored !== null) return { factor: floored, jitter: 0 };
  }
  let trace = 0;
  for (let i = 0; i < d; i++) trace += source[i * d + i] as number;
  let jitter = 1e-10 * Math.max(Math.abs(trace) / d, 1e-300);
  const work = new Float64Array(source);
  for (let step = 0; step < MAX_JITTER_STEPS; step++) {
    for (let i = 0; i < d; i++) work[i * d + i] = (source[i * d + i] as number) + jitter;
    const l = cholesky(work, d);
    if (l !== null) return { factor: l, jitter };
    jitter *= 10;
  }
  throw new LongTailError('NON_FINITE', `expected a covariance repairable to positive definite. Received: jitter up to ${jitter}`);
}

/** V·max(Λ, floor·λ_max)·Vᵀ of a symmetric matrix (a new array). */
export function eigenFloor(a: Float64Array, d: number, relativeFloor: number): Float64Array {
  const rows: number[][] = [];
  for (let i = 0; i < d; i++) rows.push(Array.from(a.subarray(i * d, (i + 1) * d)));
  const evd = new EigenvalueDecomposition(new Matrix(rows), { assumeSymmetric: true });
  const values = evd.realEigenvalues;
  const vectors = evd.eigenvectorMatrix;
  let maxValue = 0;
  for (const v of values) maxValue = Math.max(maxValue, v);
  const floor = Math.max(relativeFloor * maxValue, 1e-300);
  const clamped = values.map((v) => Math.max(v, floor));
  const out = new Float64Array(d * d);
  // Vdiag = V · diag(λ'), then out = Vdiag · Vᵀ (symmetric: fill both triangles).
  const v = new Float64Array(d * d);
  for (let i = 0; i < d; i++) for (let k = 0; k < d; k++) v[i * d + k] = vectors.get(i, k);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += (v[i * d + k] as number) * (clamped[k] as number) * (v[j * d + k] as number);
      out[i * d + j] = s;
      out[j * d + i] = s;
    }
  }
  return out;
}

/**
 * `out[s, :] = mean + L · z[s, :]` for `count` rows of `z` (row-major `count×d`), with `L` lower
 * triangular (row-major). Rows are written as float32.
 */
export function affineLowerRows(
  l: Float64Array,
  mean: Float64Array,
  z: Float32Array | Float64Array,
  count: number,
  d: number,
  out: Float32Array,
  outOffset: number,
): void {
  const kernel = getKernel();
  if (kernel !== null && d >= 8) {
    // One SIMD mat-vec (full square, upper zeros included) per row, in chunks of rows.
    kernel.reset();
    const pl = kernel.alloc(d * d);
    const chunk = Math.max(1, Math.min(count, Math.floor(4_000_000 / d)));
    const pz = kernel.alloc(chunk * d);
    const po = kernel.alloc(d);
    kernel.view(pl, d * d).set(l);
    const zView = kernel.view(pz, chunk * d);
    const oView = kernel.view(po, d);
    for (let start = 0; start < count; start += chunk) {
      const rows = Math.min(chunk, count - start);
      for (let q = 0; q < rows * d; q++) zView[q] = z[start * d + q] as number;
      for (let s = 0; s < rows; s++) {
        kernel.dotRows(pl, pz + s * d * 8, po, d, d);
        const oo = outOffset + (start + s) * d;
        for (let i = 0; i < d; i++) out[oo + i] = (mean[i] as number) + (oView[i] as number);
      }
    }
    return;
  }
  for (let s = 0; s < count; s++) {
    const zo = s * d;
    const oo = outOffset + s * d;
    for (let i = 0; i < d; i++) {
      const lo = i * d;
      let s0 = 0;
      let s1 = 0;
      let k = 0;
      for (; k + 1 <= i; k += 2) {
        s0 += (l[lo + k] as number) * (z[zo + k] as number);
        s1 += (l[lo + k + 1] as number) * (z[zo + k + 1] as number);
      }
      for (; k <= i; k++) s0 += (l[lo + k] as number) * (z[zo + k] as number);
      out[oo + i] = (mean[i] as number) + s0 + s1;
    }
  }
}

/**
 * Fills `out` with standard normals from uniforms `next()` in [0, 1) by Marsaglia's polar method
 * (pairs (u, v) uniform in the unit disc, x = u·√(−2 ln s / s), s = u² + v²): no trigonometry, about
 * 2.5 uniforms per pair; 2–3× faster than Box–Muller here. Deterministic given the uniform stream.
 */
export function fillStandardNormal(next: () => number, out: Float32Array | Float64Array): void {
  const n = out.length;
  let i = 0;
  while (i < n) {
    let u: number;
    let v: number;
    let s: number;
    do {
      u = 2 * next() - 1;
      v = 2 * next() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const f = Math.sqrt((-2 * Math.log(s)) / s);
    out[i++] = u * f;
    if (i < n) out[i++] = v * f;
  }
}
