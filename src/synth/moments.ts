/**
 * Streaming, mergeable per-class moments in float64 (Chan et al. 1979 pairwise update; Pébay 2008 for
 * the fourth-order term Ledoit–Wolf needs). Features never need to be in memory at once, and two
 * accumulators fitted on two halves of the data merge into the one fitted on all of it.
 */
import { getKernel } from '../core/wasm-kernel.js';

/** Moments of one class. `m2` is Σ (x−μ)(x−μ)ᵀ (d×d row-major, or its diagonal only). */
export interface ClassMomentState {
  count: number;
  readonly mean: Float64Array;
  /** Σ rrᵀ with r = x − μ: d×d when `full`, else length d (the diagonal). */
  readonly m2: Float64Array;
  /** Σ ‖r‖²·r (length d; only when full). */
  readonly t3: Float64Array;
  /** Σ ‖r‖⁴ (only when full). */
  q4: number;
}

/** Per-class moment accumulators for `numClasses` classes of dimension `dim`. */
export class ClassMoments {
  readonly classes: ClassMomentState[];

  constructor(
    readonly numClasses: number,
    readonly dim: number,
    /** Keep full d×d second moments (and the fourth-order terms); otherwise the diagonal only. */
    readonly full: boolean,
  ) {
    this.classes = [];
    for (let c = 0; c < numClasses; c++) this.classes.push(emptyState(dim, full));
  }

  /**
   * Adds the rows `rows` (indices into `x`, row-major N×d float32) of class `c`: their own centred
   * moments are computed in float64, then merged in (Chan).
   */
  addRows(c: number, x: Float32Array, rows: ArrayLike<number>): void {
    const batch = batchMoments(x, rows, this.dim, this.full);
    mergeInto(this.classes[c] as ClassMomentState, batch, this.dim, this.full);
  }

  /** Merges another accumulator of the same shape into this one. */
  merge(other: ClassMoments): void {
    for (let c = 0; c < this.numClasses; c++) {
      mergeInto(this.classes[c] as ClassMomentState, other.classes[c] as ClassMomentState, this.dim, this.full);
    }
  }

  /** Samples observed per class. */
  counts(): Float64Array {
    return Float64Array.from(this.classes, (s) => s.count);
  }
}

function emptyState(d: number, full: boolean): ClassMomentState {
  return {
    count: 0,
    mean: new Float64Array(d),
    m2: new Float64Array(full ? d * d : d),
    t3: new Float64Array(full ? d : 0),
    q4: 0,
  };
}

/** Centred moments of the given rows, computed directly (two passes, float64). */
export function batchMoments(x: Float32Array, rows: ArrayLike<number>, d: number, full: boolean): ClassMomentState {
  const n = rows.length;
  const state = emptyState(d, full);
  if (n === 0) return state;
  state.count = n;
  const mean = state.mean;
  for (let r = 0; r < n; r++) {
    const o = (rows[r] as number) * d;
    for (let i = 0; i < d; i++) mean[i] = (mean[i] as number) + (x[o + i] as number);
  }
  for (let i = 0; i < d; i++) mean[i] = (mean[i] as number) / n;
  // Centred data transposed (d × n) so each m2 entry is a contiguous dot product.
  const rt = new Float64Array(d * n);
  const norms = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    const o = (rows[r] as number) * d;
    let sq = 0;
    for (let i = 0; i < d; i++) {
      const v = (x[o + i] as number) - (mean[i] as number);
      rt[i * n + r] = v;
      sq += v * v;
    }
    norms[r] = sq;
  }
  const m2 = state.m2;
  if (!full) {
    for (let i = 0; i < d; i++) {
      let s = 0;
      const oi = i * n;
      for (let r = 0; r < n; r++) s += (rt[oi + r] as number) * (rt[oi + r] as number);
      m2[i] = s;
    }
    return state;
  }
  const kernel = getKernel();
  if (kernel !== null && n >= 8) {
    // M2[i, j ≥ i] = r_j·r_i: one SIMD mat-vec over rows i..d−1 of R per i (the upper triangle), mirrored.
    // The mirror is exact: the same products summed in the same order.
    kernel.reset();
    const pr = kernel.alloc(d * n);
    const po = kernel.alloc(d);
    kernel.view(pr, d * n).set(rt);
    const outView = kernel.view(po, d);
    for (let i = 0; i < d; i++) {
      kernel.dotRows(pr + i * n * 8, pr + i * n * 8, po, d - i, n);
      for (let k = 0; k < d - i; k++) {
        const value = outView[k] as number;
        m2[i * d + i + k] = value;
        m2[(i + k) * d + i] = value;
      }
    }
  } else {
    for (let i = 0; i < d; i++) {
      const oi = i * n;
      for (let j = i; j < d; j++) {
        const oj = j * n;
        let s0 = 0;
        let s1 = 0;
        let r = 0;
        for (; r + 1 < n; r += 2) {
          s0 += (rt[oi + r] as number) * (rt[oj + r] as number);
          s1 += (rt[oi + r + 1] as number) * (rt[oj + r + 1] as number);
        }
        if (r < n) s0 += (rt[oi + r] as number) * (rt[oj + r] as number);
        m2[i * d + j] = s0 + s1;
        m2[j * d + i] = s0 + s1;
      }
    }
  }
  let q4 = 0;
  for (let r = 0; r < n; r++) q4 += (norms[r] as number) * (norms[r] as number);
  state.q4 = q4;
  const t3 = state.t3;
  for (let i = 0; i < d; i++) {
    let s = 0;
    const oi = i * n;
    for (let r = 0; r < n; r++) s += (norms[r] as number) * (rt[oi + r] as number);
    t3[i] = s;
  }
  return state;
}

/**
 * Chan's pairwise merge: n = nA + nB, δ = μB − μA, μ = μA + δ·nB/n, M2 = M2A + M2B + δδᵀ·nA·nB/n.
 * The fourth-order terms follow from shifting each part's residuals by α·δ (α_A = nB/n, α_B = −nA/n):
 * Q' = Q − 4α δ·T + 4α² δᵀM2δ + 2α²‖δ‖² tr M2 + n α⁴ ‖δ‖⁴ and T' = T − α tr(M2) δ − 2α M2δ − n α³ ‖δ‖² δ.
 */
export function mergeInto(a: ClassMomentState, b: ClassMomentState, d: number, full: boolean): void {
  if (b.count === 0) return;
  if (a.count === 0) {
    a.count = b.count;
    a.mean.set(b.mean);
    a.m2.set(b.m2);
    a.t3.set(b.t3);
    a.q4 = b.q4;
    return;
  }
  const na = a.count;
  const nb = b.count;
  const n = na + nb;
  const delta = new Float64Array(d);
  let s = 0;
  for (let i = 0; i < d; i++) {
    const v = (b.mean[i] as number) - (a.mean[i] as number);
    delta[i] = v;
    s += v * v;
  }
  if (full) {
    const shiftedA = shiftHigher(a, delta, s, nb / n, d);
    const shiftedB = shiftHigher(b, delta, s, -na / n, d);
    a.q4 = shiftedA.q4 + shiftedB.q4;
    for (let i = 0; i < d; i++) a.t3[i] = (shiftedA.t3[i] as number) + (shiftedB.t3[i] as number);
  }
  const w = (na * nb) / n;
  const m2a = a.m2;
  const m2b = b.m2;
  if (full) {
    for (let i = 0; i < d; i++) {
      const wi = w * (delta[i] as number);
      const o = i * d;
      for (let j = 0; j < d; j++) m2a[o + j] = (m2a[o + j] as number) + (m2b[o + j] as number) + wi * (delta[j] as number);
    }
  } else {
    for (let i = 0; i < d; i++) m2a[i] = (m2a[i] as number) + (m2b[i] as number) + w * (delta[i] as number) * (delta[i] as number);
  }
  const f = nb / n;
  for (let i = 0; i < d; i++) a.mean[i] = (a.mean[i] as number) + (delta[i] as number) * f;
  a.count = n;
}

function shiftHigher(p: ClassMomentState, delta: Float64Array, s: number, alpha: number, d: number): { q4: number; t3: Float64Array } {
  const m2d = new Float64Array(d);
  let trace = 0;
  let quad = 0;
  let dotT = 0;
  for (let i = 0; i < d; i++) {
    const o = i * d;
    let acc = 0;
    for (let j = 0; j < d; j++) acc += (p.m2[o + j] as number) * (delta[j] as number);
    m2d[i] = acc;
    quad += acc * (delta[i] as number);
    trace += p.m2[o + i] as number;
    dotT += (p.t3[i] as number) * (delta[i] as number);
  }
  const a2 = alpha * alpha;
  const q4 = p.q4 - 4 * alpha * dotT + 4 * a2 * quad + 2 * a2 * s * trace + p.count * a2 * a2 * s * s;
  const t3 = new Float64Array(d);
  const c = alpha * trace + p.count * a2 * alpha * s;
  for (let i = 0; i < d; i++) t3[i] = (p.t3[i] as number) - c * (delta[i] as number) - 2 * alpha * (m2d[i] as number);
  return { q4, t3 };
}
