/**
 * Covariance estimators over streamed class moments (see {@link ClassMoments}). Notation: n = class
 * count, M2 = Σ (x−μ)(x−μ)ᵀ, S = M2 / n (maximum-likelihood), Ŝ = M2 / (n − 1) (unbiased).
 */
import { LongTailError } from '../core/errors.js';
import { kNearest } from '../core/neighbors.js';
import { checkOptions, type OptionKeys } from '../core/options.js';
import type { ClassMomentState } from './moments.js';

/** Which covariance each class's Gaussian uses. */
export type CovarianceKind = 'full' | 'diagonal' | 'shrinkage' | 'ledoitWolf' | 'pooled' | 'calibrated';

/** Every {@link CovarianceKind}, for validation and docs. */
export const COVARIANCE_KINDS: readonly CovarianceKind[] = ['full', 'diagonal', 'shrinkage', 'ledoitWolf', 'pooled', 'calibrated'];

/**
 * Ledoit–Wolf shrinkage intensity, exactly as scikit-learn's `ledoit_wolf_shrinkage` (assume_centered =
 * False): with S = M2/n, m = tr S / d, Q = Σ‖x−μ‖⁴,
 * β = (Q/n − ‖S‖²_F) / (d·n), δ = (‖S‖²_F − d·m²) / d, ρ = min(β, δ) / δ (0 when β = 0).
 *
 * @see Ledoit & Wolf, "A well-conditioned estimator for large-dimensional covariance matrices", 2004.
 */
export function ledoitWolfShrinkage(state: ClassMomentState, d: number): number {
  const n = state.count;
  if (d === 1) return 0;
  let frob = 0;
  let trace = 0;
  for (let i = 0; i < d * d; i++) {
    const s = (state.m2[i] as number) / n;
    frob += s * s;
  }
  for (let i = 0; i < d; i++) trace += (state.m2[i * d + i] as number) / n;
  const m = trace / d;
  let beta = (state.q4 / n - frob) / (d * n);
  const delta = (frob - 2 * m * trace + d * m * m) / d;
  beta = Math.min(beta, delta);
  return beta === 0 ? 0 : beta / delta;
}

/** (1 − ρ)·S + ρ·(tr S / d)·I with S = M2 / n (scikit-learn `ShrunkCovariance` semantics). A new array. */
export function shrunkCovariance(state: ClassMomentState, d: number, rho: number): Float64Array {
  const n = state.count;
  const out = new Float64Array(d * d);
  let trace = 0;
  for (let i = 0; i < d; i++) trace += state.m2[i * d + i] as number;
  const target = (rho * trace) / (n * d);
  const scale = (1 - rho) / n;
  for (let i = 0; i < d * d; i++) out[i] = (state.m2[i] as number) * scale;
  for (let i = 0; i < d; i++) out[i * d + i] = (out[i * d + i] as number) + target;
  return out;
}

/** Ŝ = M2 / (n − 1), as a new d×d array (`full`) or its diagonal (length d). */
export function unbiasedCovariance(state: ClassMomentState, d: number, full: boolean): Float64Array {
  const denom = state.count - 1;
  const src = state.m2;
  if (full && src.length === d * d) return Float64Array.from(src, (v) => v / denom);
  const out = new Float64Array(d);
  const stride = src.length === d * d ? d + 1 : 1;
  for (let i = 0; i < d; i++) out[i] = (src[i * stride] as number) / denom;
  return out;
}

/**
 * Pooled within-class covariance Σ_c M2_c / (Σ_c n_c − C′), C′ = number of non-empty classes (the LDA
 * estimate). Requires Σ n_c > C′.
 */
export function pooledCovariance(states: readonly ClassMomentState[], d: number): Float64Array {
  const out = new Float64Array(d * d);
  let total = 0;
  let nonEmpty = 0;
  for (const s of states) {
    if (s.count === 0) continue;
    nonEmpty++;
    total += s.count;
    for (let i = 0; i < d * d; i++) out[i] = (out[i] as number) + (s.m2[i] as number);
  }
  const dof = total - nonEmpty;
  if (dof <= 0) {
    throw new LongTailError('EMPTY_CLASS', `expected more samples than classes for a pooled covariance. Received: samples=${total}, classes=${nonEmpty}`, {
      samples: total,
      classes: nonEmpty,
    });
  }
  for (let i = 0; i < d * d; i++) out[i] = (out[i] as number) / dof;
  return out;
}

/** Options of Distribution Calibration ({@link calibratedMoments}). */
export interface CalibrationOptions {
  /** Number of head classes to borrow from. */
  readonly k: number;
  /** Dispersion α added to the borrowed covariance. */
  readonly alpha: number;
  /** `'all'`: Σ′ + α·11ᵀ (every entry, as the official code's broadcast); `'diagonal'`: Σ′ + α·I. */
  readonly alphaOn: 'all' | 'diagonal';
  /** Also calibrate the mean (μ′ = (μ_c + Σ_h μ_h)/(k + 1)), as in the paper. */
  readonly calibrateMean: boolean;
}

const CALIBRATION_KEYS: OptionKeys<CalibrationOptions> = { k: true, alpha: true, alphaOn: true, calibrateMean: true };

/**
 * Distribution Calibration (Yang, Liu & Xu, ICLR 2021, "Free Lunch for Few-shot Learning"), at class
 * level: for a tail class c with mean μ_c and the set H of the k head classes whose means are nearest
 * to μ_c (Euclidean), μ′ = (μ_c + Σ_{h∈H} μ_h) / (k + 1) and Σ′ = (1/k) Σ_{h∈H} Ŝ_h + α (every entry,
 * or α·I). `heads` are the indices of classes allowed as donors (fewer than k available: all are used).
 */
export function calibratedMoments(
  c: number,
  states: readonly ClassMomentState[],
  heads: readonly number[],
  d: number,
  options: CalibrationOptions,
): { mean: Float64Array; covariance: Float64Array; donors: number[] } {
  checkOptions('calibratedMoments options', options, CALIBRATION_KEYS);
  const own = states[c] as ClassMomentState;
  const candidates = [...new Set(heads)].filter((h) => h !== c).sort((x, y) => x - y);
  if (candidates.length === 0) {
    throw new LongTailError('EMPTY_CLASS', `expected at least one head class to calibrate class ${c} from. Received: heads=0`, {
      classIndex: c,
    });
  }
  const means = new Float64Array(candidates.length * d);
  candidates.forEach((h, i) => means.set((states[h] as ClassMomentState).mean.subarray(0, d), i * d));
  const nearest = kNearest(
    { values: means, rows: candidates.length, cols: d },
    { k: Math.min(options.k, candidates.length), query: { values: Float64Array.from(own.mean.subarray(0, d)), rows: 1, cols: d } },
  );
  const donors = Array.from(nearest.indices, (i) => candidates[i] as number);
  const k = donors.length;
  const covariance = new Float64Array(d * d);
  const mean = new Float64Array(own.mean);
  for (const h of donors) {
    const s = states[h] as ClassMomentState;
    const w = 1 / (k * (s.count - 1));
    for (let i = 0; i < d * d; i++) covariance[i] = (covariance[i] as number) + (s.m2[i] as number) * w;
    for (let i = 0; i < d; i++) mean[i] = (mean[i] as number) + (s.mean[i] as number);
  }
  if (options.calibrateMean) {
    for (let i = 0; i < d; i++) mean[i] = (mean[i] as number) / (k + 1);
  } else {
    mean.set(own.mean);
  }
  if (options.alphaOn === 'all') {
    for (let i = 0; i < d * d; i++) covariance[i] = (covariance[i] as number) + options.alpha;
  } else {
    for (let i = 0; i < d; i++) covariance[i * d + i] = (covariance[i * d + i] as number) + options.alpha;
  }
  return { mean, covariance, donors };
}
