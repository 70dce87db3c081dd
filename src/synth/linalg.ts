/**
 * Small dense linear algebra on row-major Float64Array matrices: Cholesky, positive-definite repair,
 * triangular products. tfjs has no Cholesky or eigen ops; these are d×d problems (d ≤ a few thousand),
 * where plain loops in float64 are accurate and fast enough.
 */
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { LongTailError } from '../core/errors.js';
import { checkOptions, type OptionKeys } from '../core/options.js';
import { getKernel, type DotKernel } from '../core/wasm-kernel.js';
import { getTriGemmKernel } from '../core/wasm-trigemm.js';

/**
 * Cholesky factor of a symmetric positive-definite `d×d` matrix: the lower-triangular `L` with
 * `A = L·Lᵀ` (row-major, upper triangle zero). Returns `null` when a pivot is not positive (A not PD).
 * Only the lower triangle of `a` is read.
 */
export function cholesky(a: Float64Array, d: number): Float64Array | null {
  const kernel = getKernel();
  if (kernel !== null && d >= 32) return choleskySimd(a, d, kernel);
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

/**
 * The same column-by-column (Cholesky–Crout) recurrence with the dot products L_i,<j · L_j,<j of column
 * j done as one strided SIMD mat-vec over rows j+1..d−1 of L, in the kernel's memory.
 */
function choleskySimd(a: Float64Array, d: number, kernel: DotKernel): Float64Array | null {
  kernel.reset();
  const pl = kernel.alloc(d * d);
  const po = kernel.alloc(d);
  const l = kernel.view(pl, d * d);
  const dots = kernel.view(po, d);
  l.fill(0);
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
    const below = d - j - 1;
    if (below === 0) break;
    if (j > 0) kernel.dotRows(pl + (j + 1) * d * 8, pl + rowJ * 8, po, below, j, d);
    else dots.fill(0, 0, below);
    for (let r = 0; r < below; r++) {
      const i = j + 1 + r;
      l[i * d + j] = ((a[i * d + j] as number) - (dots[r] as number)) * inv;
    }
  }
  return l.slice();
}

/**
 * How a covariance is repaired to positive definite before Cholesky: `'jitter'` and `'eigenFloor'` only
 * when plain Cholesky fails; `'eigenClip'` always (GGEUR's `nearest_pos_def` + jitter loop: eigenvalues
 * clipped at 0 and scaled, then δ·I with δ = `jitterStart`·10^k until Cholesky succeeds).
 */
export type PsdRepair = 'jitter' | 'eigenFloor' | 'eigenClip';

/** Options of {@link choleskyWithRepair}. */
export interface RepairOptions {
  /** `'jitter'` (default): add δ·I, δ = 1e-10·(tr A / d), ×10 until Cholesky succeeds. `'eigenFloor'`:
   * clamp eigenvalues to at least `eigenFloor`·λ_max, rebuild, then Cholesky. */
  readonly method?: PsdRepair;
  /** Relative eigenvalue floor for `'eigenFloor'`. @defaultValue 1e-6 */
  readonly eigenFloor?: number;
  /** First (absolute) jitter of `'eigenClip'`, multiplied by 10 until Cholesky succeeds. @defaultValue 1e-6 */
  readonly jitterStart?: number;
  /** Factor on the clipped eigenvalues of `'eigenClip'` (GGEUR's amplify variant uses 5). @defaultValue 1 */
  readonly eigenScale?: number;
}

/** A Cholesky factor and what was added to the diagonal to get it (0 when none was needed). */
export interface RepairedFactor {
  readonly factor: Float64Array;
  readonly jitter: number;
}

const MAX_JITTER_STEPS = 16;
const REPAIR_KEYS: OptionKeys<RepairOptions> = { method: true, eigenFloor: true, jitterStart: true, eigenScale: true };

/**
 * Cholesky of a symmetric matrix after repairing it to positive definite. With `'jitter'` the result is
 * the factor of A + δI for the smallest tried δ = δ₀·10^k (δ₀ = 1e-10 · max(tr A / d, 1e-300)) that
 * works; with `'eigenFloor'` it is the factor of V·max(Λ, floor·λ_max)·Vᵀ (eigen decomposition by
 * ml-matrix), falling back to jitter if rounding still breaks Cholesky. With `'eigenClip'` (GGEUR) the
 * repair always runs: the factor of V·(s·max(Λ, 0))·Vᵀ + δ·I, δ = `jitterStart`·10^k (Dai et al., CVPR 2025).
 *
 * @throws LongTailError `NON_FINITE` when the matrix has NaN/Inf or no repair succeeds.
 */
export function choleskyWithRepair(a: Float64Array, d: number, options: RepairOptions = {}): RepairedFactor {
  checkOptions('choleskyWithRepair options', options, REPAIR_KEYS);
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i] as number)) {
      throw new LongTailError('NON_FINITE', `expected a finite covariance. Received: covariance[${i}]=${a[i]}`);
    }
  }
  if (options.method === 'eigenClip') return eigenClipFactor(a, d, { jitterStart: options.jitterStart ?? 1e-6, eigenScale: options.eigenScale ?? 1 });
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

/**
 * GGEUR's repair (Dai et al., CVPR 2025, `cov_matrix_generate_features_amplify.py`: `nearest_pos_def`
 * then the jitter loop of `generate_new_samples`): A′ = V·(s·max(Λ, 0))·Vᵀ (eigen decomposition by
 * ml-matrix), then the Cholesky factor of A′ + δ·I for the first δ = δ₀·10^k, k = 0, 1, …, that works.
 * The jitter is always added (δ ≥ δ₀, absolute), as in GGEUR. Returns the factor and δ.
 *
 * @throws LongTailError `NON_FINITE` when no finite δ works.
 */
export function eigenClipFactor(a: Float64Array, d: number, options: { readonly jitterStart: number; readonly eigenScale: number }): RepairedFactor {
  const clipped = eigenClip(a, d, options.eigenScale);
  const work = new Float64Array(clipped);
  // GGEUR loops until Cholesky succeeds; here until δ overflows (at most ~600 steps from the smallest δ₀).
  let jitter = options.jitterStart;
  let last = jitter;
  for (; Number.isFinite(jitter); jitter *= 10) {
    for (let i = 0; i < d; i++) work[i * d + i] = (clipped[i * d + i] as number) + jitter;
    const l = cholesky(work, d);
    if (l !== null) return { factor: l, jitter };
    last = jitter;
  }
  throw new LongTailError('NON_FINITE', `expected a covariance repairable to positive definite. Received: jitter up to ${last}`);
}

/** V·f(Λ)·Vᵀ of a symmetric matrix (a new array): its eigenvalues mapped by `f`, the eigenvectors kept. */
function rebuildWithEigenvalues(a: Float64Array, d: number, f: (values: readonly number[]) => readonly number[]): Float64Array {
  const rows: number[][] = [];
  for (let i = 0; i < d; i++) rows.push(Array.from(a.subarray(i * d, (i + 1) * d)));
  const evd = new EigenvalueDecomposition(new Matrix(rows), { assumeSymmetric: true });
  const mapped = f(evd.realEigenvalues);
  const vectors = evd.eigenvectorMatrix;
  const v = new Float64Array(d * d);
  for (let i = 0; i < d; i++) for (let k = 0; k < d; k++) v[i * d + k] = vectors.get(i, k);
  const out = new Float64Array(d * d);
  // out = V·diag(λ')·Vᵀ, symmetric: compute the lower triangle and mirror it.
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += (v[i * d + k] as number) * (mapped[k] as number) * (v[j * d + k] as number);
      out[i * d + j] = s;
      out[j * d + i] = s;
    }
  }
  return out;
}

/** V·(scale·max(Λ, 0))·Vᵀ of a symmetric matrix (a new array): negative eigenvalues set to 0, all scaled. */
export function eigenClip(a: Float64Array, d: number, scale: number): Float64Array {
  return rebuildWithEigenvalues(a, d, (values) => values.map((v) => Math.max(v, 0) * scale));
}

/** V·max(Λ, floor·λ_max)·Vᵀ of a symmetric matrix (a new array). */
export function eigenFloor(a: Float64Array, d: number, relativeFloor: number): Float64Array {
  return rebuildWithEigenvalues(a, d, (values) => {
    let maxValue = 0;
    for (const v of values) maxValue = Math.max(maxValue, v);
    const floor = Math.max(relativeFloor * maxValue, 1e-300);
    return values.map((v) => Math.max(v, floor));
  });
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

const ZIG_LAYERS = 128;
/** Start of the tail, R, and the common area v of the 128 ziggurat layers (Marsaglia & Tsang 2000). */
const ZIG_R = 3.442619855899;
const ZIG_V = 9.91256303526217e-3;

/**
 * Ziggurat tables: layer i covers [0, X[i]] × [F[i], F[i+1]] under f(x) = exp(−x²/2) with area v each;
 * X[0] = v / f(R) is the base strip's virtual width (its part beyond R is the tail), X[1] = R, X[128] = 0.
 */
const ZIG = ((): { x: Float64Array; f: Float64Array } => {
  const x = new Float64Array(ZIG_LAYERS + 1);
  const f = new Float64Array(ZIG_LAYERS + 1);
  const gauss = (t: number): number => Math.exp(-0.5 * t * t);
  x[0] = ZIG_V / gauss(ZIG_R);
  x[1] = ZIG_R;
  for (let i = 1; i < ZIG_LAYERS - 1; i++) {
    const xi = x[i] as number;
    x[i + 1] = Math.sqrt(-2 * Math.log(ZIG_V / xi + gauss(xi)));
  }
  x[ZIG_LAYERS] = 0;
  for (let i = 0; i <= ZIG_LAYERS; i++) f[i] = gauss(x[i] as number);
  f[0] = 0;
  return { x, f };
})();

const TWO_32 = 4294967296;
const TWO_M24 = 1 / 16777216;
const TWO_M32 = 1 / TWO_32;

/** One xoshiro128** step on `st` (four 32-bit words); returns the 32-bit output as an int32. */
function nextU32(st: Int32Array): number {
  let s0 = st[0] as number;
  let s1 = st[1] as number;
  let s2 = st[2] as number;
  let s3 = st[3] as number;
  const m5 = Math.imul(s1, 5);
  const result = Math.imul((m5 << 7) | (m5 >>> 25), 9);
  const t9 = s1 << 9;
  s2 ^= s0;
  s3 ^= s1;
  s1 ^= s2;
  s0 ^= s3;
  s2 ^= t9;
  s3 = (s3 << 11) | (s3 >>> 21);
  st[0] = s0;
  st[1] = s1;
  st[2] = s2;
  st[3] = s3;
  return result;
}

/** A uniform in (0, 1] from the next 32 bits. */
function openUniform(st: Int32Array): number {
  return 1 - (nextU32(st) >>> 0) * TWO_M32;
}

/**
 * Completes a ziggurat draw whose point fell outside its layer's inner rectangle: the tail beyond R
 * (Marsaglia 1964: e = −ln(u₁)/R, accepted when −2 ln(u₂) > e²) or the wedge test against f. Null when
 * the wedge rejects (the caller starts a fresh draw).
 */
function finishDraw(st: Int32Array, bits: number, t: number): number | null {
  const layer = bits & (ZIG_LAYERS - 1);
  const negative = (bits & ZIG_LAYERS) !== 0;
  if (layer === 0) {
    let e: number;
    let y: number;
    do {
      e = -Math.log(openUniform(st)) / ZIG_R;
      y = -Math.log(openUniform(st));
    } while (2 * y <= e * e);
    return negative ? -(ZIG_R + e) : ZIG_R + e;
  }
  const fLow = ZIG.f[layer] as number;
  const height = fLow + (nextU32(st) >>> 0) * TWO_M32 * ((ZIG.f[layer + 1] as number) - fLow);
  if (height < Math.exp(-0.5 * t * t)) return negative ? -t : t;
  return null;
}

/** The slow path: finish the draw that missed its rectangle, or redraw until one is accepted. */
function slowNormal(st: Int32Array, bits: number, t: number): number {
  const z = finishDraw(st, bits, t);
  return z === null ? drawNormal(st) : z;
}

/** One full ziggurat draw (the slow path's retries). */
function drawNormal(st: Int32Array): number {
  for (;;) {
    const bits = nextU32(st);
    const layer = bits & (ZIG_LAYERS - 1);
    const t = (bits >>> 8) * TWO_M24 * (ZIG.x[layer] as number);
    if (t < (ZIG.x[layer + 1] as number)) return (bits & ZIG_LAYERS) !== 0 ? -t : t;
    const z = finishDraw(st, bits, t);
    if (z !== null) return z;
  }
}

/**
 * Fills `out` with standard normals. Four uniforms from `next()` (the caller's seeded stream) seed a
 * local xoshiro128** generator (Blackman & Vigna 2018) whose 32-bit outputs feed a 128-layer ziggurat
 * (Marsaglia & Tsang, "The Ziggurat Method for Generating Random Variables", J. Stat. Softw. 2000):
 * one output gives the layer (7 bits), the sign (1 bit) and the position in the layer (24 bits, a
 * float32 mantissa's worth); about 1.2% of draws fall in a wedge or the tail (|z| > R ≈ 3.44) and take
 * more outputs for an exact rejection step, so the output is N(0, 1) up to the 24-bit grid.
 * Deterministic given `next`'s stream, which advances by exactly four draws whatever `out.length` is.
 * Several times faster than Marsaglia's polar method on `next()` (Alea's per-call cost dominated).
 */
export function fillStandardNormal(next: () => number, out: Float32Array | Float64Array): void {
  const st = new Int32Array(4);
  for (let k = 0; k < 4; k++) st[k] = Math.floor(next() * TWO_32) | 0;
  if (((st[0] as number) | (st[1] as number) | (st[2] as number) | (st[3] as number)) === 0) st[0] = 1;
  // Literals in the hot loop (module constants are context loads): 127 = ZIG_LAYERS − 1, 2⁻²⁴.
  const X = ZIG.x;
  let s0 = st[0] as number;
  let s1 = st[1] as number;
  let s2 = st[2] as number;
  let s3 = st[3] as number;
  const n = out.length;
  for (let q = 0; q < n; q++) {
    // xoshiro128** inline on locals (the same step as nextU32).
    const m5 = Math.imul(s1, 5);
    const bits = Math.imul((m5 << 7) | (m5 >>> 25), 9);
    const t9 = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t9;
    s3 = (s3 << 11) | (s3 >>> 21);
    const layer = bits & 127;
    const t = (bits >>> 8) * 5.960464477539063e-8 * (X[layer] as number);
    if (t < (X[layer + 1] as number)) {
      // The sign bit as a factor ±1 (a random branch would mispredict half the time).
      out[q] = t * (1 - ((bits >>> 6) & 2));
      continue;
    }
    st[0] = s0;
    st[1] = s1;
    st[2] = s2;
    st[3] = s3;
    out[q] = slowNormal(st, bits, t);
    s0 = st[0] as number;
    s1 = st[1] as number;
    s2 = st[2] as number;
    s3 = st[3] as number;
  }
}

/**
 * `out[s, :] = mean + L · z[s, :]` in float32 on the triangular WebAssembly SIMD kernel
 * (src/core/wasm-trigemm.ts): X = 1·μᵀ + Z·Lᵀ computing only the terms k ≤ i of each x_i = μ_i + Σ_k
 * L_ik·z_k, about half a full GEMM's multiply-adds, with L and μ rounded to float32 once and each sum
 * accumulated in float32 from μ_i in order of k. Same arguments as {@link affineLowerRows}; returns
 * false (writing nothing) when WebAssembly SIMD is unavailable.
 */
export function affineLowerRowsF32(
  l: Float64Array,
  mean: Float64Array,
  z: Float32Array,
  count: number,
  d: number,
  out: Float32Array,
  outOffset: number,
): boolean {
  const kernel = getTriGemmKernel();
  if (kernel === null) return false;
  if (count === 0 || d === 0) return true;
  const d8 = Math.ceil(d / 8) * 8;
  const panels = d8 / 8;
  let packed = 0;
  for (let p = 0; p < panels; p++) packed += Math.min(8 * p + 8, d) * 8;
  // Rows per call: a multiple of 4 holding about 256K floats of Z (1 MB, cache-sized). Many short calls
  // also let V8 switch to its optimized code for the kernel after the first few (it does not replace a
  // running wasm call).
  const chunk = Math.max(4, Math.min(Math.ceil(count / 4) * 4, Math.floor(262_144 / d / 4) * 4));
  kernel.reset();
  const pb = kernel.alloc(packed);
  const pmu = kernel.alloc(d8);
  const pz = kernel.alloc(chunk * d);
  const po = kernel.alloc(chunk * d8);
  const b = kernel.view(pb, packed);
  let q = 0;
  for (let p = 0; p < panels; p++) {
    const kMax = Math.min(8 * p + 8, d);
    for (let k = 0; k < kMax; k++) {
      for (let c = 0; c < 8; c++) {
        const i = 8 * p + c;
        b[q++] = i < d && k <= i ? (l[i * d + k] as number) : 0;
      }
    }
  }
  const mu = kernel.view(pmu, d8);
  mu.fill(0);
  for (let i = 0; i < d; i++) mu[i] = mean[i] as number;
  const zView = kernel.view(pz, chunk * d);
  const oView = kernel.view(po, chunk * d8);
  for (let start = 0; start < count; start += chunk) {
    const rows = Math.min(chunk, count - start);
    const tiles = Math.ceil(rows / 4);
    zView.set(z.subarray(start * d, (start + rows) * d));
    // Padding rows of the last tile: zeros, computed and dropped.
    if (tiles * 4 > rows) zView.fill(0, rows * d, tiles * 4 * d);
    kernel.lowerAffine(pz, pb, pmu, po, tiles, d, d8);
    const o = outOffset + start * d;
    if (d8 === d) out.set(oView.subarray(0, rows * d), o);
    else for (let s = 0; s < rows; s++) out.set(oView.subarray(s * d8, s * d8 + d), o + s * d);
  }
  return true;
}
