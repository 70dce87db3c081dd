/**
 * Class-conditional Gaussian latent synthesizer (Sharma 2025, "Efficient Long-Tail Learning in Latent
 * Space"): per class μ_c and Σ_c from streamed moments, synthetic features x = μ_c + L_c·z with
 * Σ_c = L_c·L_cᵀ and z ~ N(0, I) from the caller's Rng; or, anchored on the real samples as GGEUR does
 * (Dai et al., CVPR 2025), x = x_i + L_c·z.
 */
import * as tf from '@tensorflow/tfjs';
import { invalid, LongTailError } from '../core/errors.js';
import type { JsonObject } from '../core/json.js';
import { checkOptions, type OptionKeys } from '../core/options.js';
import type { Rng } from '../core/rng.js';
import { DisposeGuard } from '../core/tensors.js';
import { checkInteger, checkOneOf, checkPositive, checkRange, checkNonNegative } from '../core/validate.js';
import {
  calibratedMoments,
  COVARIANCE_KINDS,
  ledoitWolfShrinkage,
  pooledCovariance,
  shrunkCovariance,
  unbiasedCovariance,
  type CovarianceKind,
} from './covariance.js';
import { checkPerClass, groupByClass, readBatch, tooFew } from './input.js';
import { getTriGemmKernel } from '../core/wasm-trigemm.js';
import { affineLowerRows, affineLowerRowsF32, choleskyWithRepair, fillStandardNormal, type PsdRepair } from './linalg.js';
import { ClassMoments, type ClassMomentState } from './moments.js';
import type { FeatureBatch, LabeledFeatures, SynthesisRequest, Synthesizer } from './types.js';

/**
 * How the L·z product is computed: `'tensor'` tfjs matMul (float32), `'typed'` float64 typed-array loops,
 * or `'auto'`: on the cpu backend the typed loops; elsewhere the float32 triangular WebAssembly SIMD
 * kernel (x_i = μ_i + Σ_{k≤i} L_ik·z_k, half a full GEMM's work, the same float32 numbers as `'tensor'`
 * on the wasm backend), or matMul when the runtime has no WebAssembly SIMD.
 */
export type GaussianProduct = 'auto' | 'tensor' | 'typed';

/**
 * Where {@link ClassGaussian} centres its draws: `'mean'`, x = μ_c + L_c·z (Sharma 2025), or
 * `'samples'`, x = x_i + L_c·z with x_i a real sample of class c (GGEUR, Dai et al., "Geometric
 * Knowledge-Guided Localized Global Distribution Alignment for Federated Learning", CVPR 2025). GGEUR's
 * anchor rule, for k draws from a class of n real samples: k ≤ n, k distinct anchors drawn uniformly
 * without replacement, one draw each; k > n, every sample in observation order anchors ⌈k/n⌉
 * consecutive draws, cut at k.
 */
export type GaussianCenter = 'mean' | 'samples';

/** Options of {@link ClassGaussian}. Every field is plain JSON (the synthesizer's `config`). */
export interface ClassGaussianOptions {
  readonly numClasses: number;
  /** Covariance estimator; see docs/synthesizers.md. @defaultValue 'ledoitWolf' */
  readonly covariance?: CovarianceKind;
  /** ρ of `covariance: 'shrinkage'`, in [0, 1]. @defaultValue 0.1 */
  readonly shrinkage?: number;
  /** k head classes per tail class for `'calibrated'` (Yang et al. 2021 use k = 2). @defaultValue 2 */
  readonly calibrationK?: number;
  /** α of `'calibrated'` (0.21, the paper's miniImageNet value). @defaultValue 0.21 */
  readonly calibrationAlpha?: number;
  /** Where α is added: every entry (the official code) or the diagonal. @defaultValue 'all' */
  readonly calibrationAlphaOn?: 'all' | 'diagonal';
  /** Calibrate the tail mean too. @defaultValue true */
  readonly calibrateMean?: boolean;
  /** `'calibrated'`: classes with n ≥ headMinCount use their own Ŝ and are donors; the rest are calibrated. @defaultValue 20 */
  readonly headMinCount?: number;
  /**
   * `'jitter'`, `'eigenFloor'` (both only when Cholesky fails) or `'eigenClip'` (GGEUR, always:
   * eigenvalues clipped at 0 and multiplied by `eigenScale`, then `jitterStart`·10^k·I added until
   * Cholesky succeeds). @defaultValue 'jitter'
   */
  readonly psdRepair?: PsdRepair;
  /** Relative eigenvalue floor for `psdRepair: 'eigenFloor'`. @defaultValue 1e-6 */
  readonly eigenFloor?: number;
  /** First absolute jitter δ₀ of `psdRepair: 'eigenClip'` (GGEUR: 1e-6), > 0. @defaultValue 1e-6 */
  readonly jitterStart?: number;
  /** Factor s on the clipped eigenvalues of `psdRepair: 'eigenClip'` (GGEUR's amplify script: 5), > 0. @defaultValue 1 */
  readonly eigenScale?: number;
  /**
   * Centre of the draws: `'mean'` (x = μ_c + L_c·z) or `'samples'` (x = x_i + L_c·z, anchored on the real
   * samples as GGEUR does; the anchor rule is in {@link GaussianCenter}). `'samples'` keeps a float32 host copy of every
   * observed feature (4·N·d bytes; 10 MB for 10 000 features of width 256). @defaultValue 'mean'
   */
  readonly center?: GaussianCenter;
  /** @defaultValue 'auto' */
  readonly product?: GaussianProduct;
}

/** A fitted class distribution (copies; float64). `factor` is the Cholesky factor (or √diag for diagonal). */
export interface FittedGaussian {
  readonly mean: Float64Array;
  /** d×d row-major, or length d for `'diagonal'`. */
  readonly covariance: Float64Array;
  readonly factor: Float64Array;
  /** What PSD repair added to the diagonal (0 if none). */
  readonly jitter: number;
  /** The Ledoit–Wolf or fixed ρ used (0 for other estimators). */
  readonly shrinkage: number;
  /** Head classes borrowed from (`'calibrated'` tail classes only). */
  readonly donors: readonly number[];
}

/** {@link ClassGaussianOptions} with every value checked and every default filled in. */
export interface ResolvedClassGaussianOptions {
  readonly numClasses: number;
  readonly covariance: CovarianceKind;
  readonly shrinkage: number;
  readonly calibrationK: number;
  readonly calibrationAlpha: number;
  readonly calibrationAlphaOn: 'all' | 'diagonal';
  readonly calibrateMean: boolean;
  readonly headMinCount: number;
  readonly psdRepair: PsdRepair;
  readonly eigenFloor: number;
  readonly jitterStart: number;
  readonly eigenScale: number;
  readonly center: GaussianCenter;
  readonly product: GaussianProduct;
}

/** The keys of {@link ClassGaussianOptions} (also the keys of a ClassGaussian's config). */
export const CLASS_GAUSSIAN_KEYS: OptionKeys<ClassGaussianOptions> = {
  numClasses: true,
  covariance: true,
  shrinkage: true,
  calibrationK: true,
  calibrationAlpha: true,
  calibrationAlphaOn: true,
  calibrateMean: true,
  headMinCount: true,
  psdRepair: true,
  eigenFloor: true,
  jitterStart: true,
  eigenScale: true,
  center: true,
  product: true,
};

/**
 * Checks ClassGaussian options and fills in the defaults, without building anything (the constructor
 * runs it; recipes run it to fail before their model exists).
 */
export function resolveClassGaussianOptions(options: ClassGaussianOptions): ResolvedClassGaussianOptions {
  if (options === null || typeof options !== 'object') throw invalid('INVALID_OPTION', 'an options object', 'options', options);
  checkOptions('ClassGaussian options', options, CLASS_GAUSSIAN_KEYS);
  const r: ResolvedClassGaussianOptions = {
    numClasses: checkInteger('numClasses', options.numClasses, { min: 1 }),
    covariance: checkOneOf('covariance', options.covariance ?? 'ledoitWolf', COVARIANCE_KINDS),
    shrinkage: checkRange('shrinkage', options.shrinkage ?? 0.1, { min: 0, max: 1 }),
    calibrationK: checkInteger('calibrationK', options.calibrationK ?? 2, { min: 1 }),
    calibrationAlpha: checkNonNegative('calibrationAlpha', options.calibrationAlpha ?? 0.21),
    calibrationAlphaOn: checkOneOf('calibrationAlphaOn', options.calibrationAlphaOn ?? 'all', ['all', 'diagonal'] as const),
    calibrateMean: options.calibrateMean ?? true,
    headMinCount: checkInteger('headMinCount', options.headMinCount ?? 20, { min: 2 }),
    psdRepair: checkOneOf('psdRepair', options.psdRepair ?? 'jitter', ['jitter', 'eigenFloor', 'eigenClip'] as const),
    eigenFloor: checkPositive('eigenFloor', options.eigenFloor ?? 1e-6),
    jitterStart: checkPositive('jitterStart', options.jitterStart ?? 1e-6),
    eigenScale: checkPositive('eigenScale', options.eigenScale ?? 1),
    center: checkOneOf('center', options.center ?? 'mean', ['mean', 'samples'] as const),
    product: checkOneOf('product', options.product ?? 'auto', ['auto', 'tensor', 'typed'] as const),
  };
  if (typeof r.calibrateMean !== 'boolean') throw invalid('INVALID_OPTION', 'calibrateMean to be a boolean', 'calibrateMean', r.calibrateMean);
  return r;
}

/**
 * Class-conditional Gaussians over latent features, with streaming, mergeable moments.
 *
 * Covariance estimators (S = M2/n, Ŝ = M2/(n−1)):
 * - `full`: Ŝ_c; `diagonal`: diag(Ŝ_c) (stores only the diagonal);
 * - `shrinkage`: (1−ρ)·S_c + ρ·(tr S_c/d)·I with fixed ρ; `ledoitWolf`: the same with ρ from
 *   Ledoit & Wolf 2004 exactly as scikit-learn's `LedoitWolf().shrinkage_`;
 * - `pooled`: Σ_c M2_c / (N − C′) shared by every class;
 * - `calibrated`: Distribution Calibration (Yang et al., ICLR 2021) for classes with n < headMinCount,
 *   from the k head classes with the nearest means: μ′ = (μ_c + Σ_h μ_h)/(k+1), Σ′ = mean_h Ŝ_h + α.
 * Each covariance is repaired to positive definite (jitter, eigenvalue floor, or GGEUR's eigenvalue
 * clip + scale + jitter) before Cholesky. With `center: 'samples'` draws are anchored on the real
 * samples, x = x_i + L_c·z (GGEUR, Dai et al. CVPR 2025), instead of x = μ_c + L_c·z.
 *
 * @example
 * ```ts
 * const g = new ClassGaussian({ numClasses: 10, covariance: 'ledoitWolf' });
 * g.observe({ features, labels });
 * const synth = g.sample({ perClass: topUpRequest(g.observedCounts()) }, rng.fork('synth'));
 * ```
 */
export class ClassGaussian implements Synthesizer {
  readonly kind = 'classGaussian';
  readonly numClasses: number;
  private readonly options: ResolvedClassGaussianOptions;
  private readonly guard = new DisposeGuard('ClassGaussian');
  private moments: ClassMoments | null = null;
  private readonly cache = new Map<number, FittedGaussian>();
  private pooledCache: Float64Array | null = null;
  /** `center: 'samples'`: per class, the observed feature rows (float32 chunks, in observation order). */
  private anchors: Float32Array[][] | null = null;

  constructor(options: ClassGaussianOptions) {
    this.options = resolveClassGaussianOptions(options);
    this.numClasses = this.options.numClasses;
  }

  get config(): JsonObject {
    return { ...this.options };
  }

  /** Feature dimension (undefined before the first observe). */
  get dim(): number | undefined {
    return this.moments?.dim;
  }

  /** Adds a batch to the per-class moments. Reads the tensors; does not take ownership. */
  observe(batch: FeatureBatch): void {
    this.guard.check();
    const { x, y, d } = readBatch(batch, this.numClasses, this.moments?.dim);
    if (this.moments === null) this.moments = new ClassMoments(this.numClasses, d, this.options.covariance !== 'diagonal');
    const groups = groupByClass(y, this.numClasses);
    for (let c = 0; c < this.numClasses; c++) {
      const rows = groups[c] as Int32Array;
      if (rows.length > 0) this.moments.addRows(c, x, rows);
    }
    if (this.options.center === 'samples') {
      this.anchors ??= Array.from({ length: this.numClasses }, () => []);
      for (let c = 0; c < this.numClasses; c++) {
        const rows = groups[c] as Int32Array;
        if (rows.length === 0) continue;
        const copy = new Float32Array(rows.length * d);
        for (let r = 0; r < rows.length; r++) copy.set(x.subarray((rows[r] as number) * d, (rows[r] as number) * d + d), r * d);
        (this.anchors[c] as Float32Array[]).push(copy);
      }
    }
    this.invalidate();
  }

  /**
   * Merges the moments of another ClassGaussian (same numClasses, dimension and storage) into this one:
   * fitting two halves and merging equals fitting all of the data.
   */
  merge(other: ClassGaussian): void {
    this.guard.check();
    other.guard.check();
    if (!(other instanceof ClassGaussian)) throw invalid('INVALID_OPTION', 'a ClassGaussian to merge', 'other', other);
    checkSameSizeLocal('numClasses', this.numClasses, other.numClasses);
    if (other.moments === null) return;
    const full = this.options.covariance !== 'diagonal';
    if (full !== (other.options.covariance !== 'diagonal')) {
      throw invalid('INVALID_OPTION', 'both synthesizers to store full (or both diagonal) moments', 'other.covariance', other.options.covariance);
    }
    if (this.options.center === 'samples' && other.anchors === null) {
      throw invalid('INVALID_OPTION', 'a synthesizer with center "samples" (it keeps the anchors this one needs)', 'other.center', other.options.center);
    }
    if (this.moments === null) this.moments = new ClassMoments(this.numClasses, other.moments.dim, full);
    checkSameSizeLocal('feature dimension', this.moments.dim, other.moments.dim);
    this.moments.merge(other.moments);
    if (this.options.center === 'samples' && other.anchors !== null) {
      this.anchors ??= Array.from({ length: this.numClasses }, () => []);
      for (let c = 0; c < this.numClasses; c++) (this.anchors[c] as Float32Array[]).push(...(other.anchors[c] as Float32Array[]));
    }
    this.invalidate();
  }

  observedCounts(): Float64Array {
    this.guard.check();
    return this.moments === null ? new Float64Array(this.numClasses) : this.moments.counts();
  }

  /**
   * The fitted distribution of class `c` (mean, covariance, factor), computed on demand and cached until
   * the next observe/merge.
   *
   * @throws LongTailError `NOT_FITTED` before any observe, `EMPTY_CLASS` when class c has too few samples.
   */
  distribution(c: number): FittedGaussian {
    this.guard.check();
    checkInteger('classIndex', c);
    if (c >= this.numClasses) throw invalid('LABEL_OUT_OF_RANGE', `classIndex in [0, ${this.numClasses})`, 'classIndex', c);
    const cached = this.cache.get(c);
    if (cached !== undefined) return cached;
    const fitted = this.fit(c);
    this.cache.set(c, fitted);
    return fitted;
  }

  /**
   * Draws `perClass[c]` samples of N(μ_c, Σ_c) per class: x = μ_c + L_c·z, z from `rng` (per class, a
   * ziggurat on a xoshiro128** stream seeded by four rng.next() draws; see fillStandardNormal). With
   * `center: 'samples'`, x = x_a + L_c·z with GGEUR's anchors a (see {@link GaussianCenter}; drawn from `rng`
   * before z). Returns new tensors owned by the caller: features [Σ perClass, d] float32, labels int32,
   * classes in ascending order.
   */
  sample(request: SynthesisRequest, rng: Rng): LabeledFeatures {
    this.guard.check();
    const perClass = checkPerClass(request?.perClass, this.numClasses);
    const moments = this.requireMoments();
    const d = moments.dim;
    let total = 0;
    const fitted: (FittedGaussian | null)[] = [];
    for (let c = 0; c < this.numClasses; c++) {
      const k = perClass[c] as number;
      fitted.push(k > 0 ? this.distribution(c) : null);
      total += k;
    }
    const labels = new Int32Array(total);
    const diagonal = this.options.covariance === 'diagonal';
    const auto = this.options.product === 'auto' && tf.getBackend() !== 'cpu';
    const triangular = auto && !diagonal && getTriGemmKernel() !== null;
    const useTensor = !triangular && (this.options.product === 'tensor' || auto);
    // Typed-array results are written here; the tensor product needs no such buffer (it is 4·total·d bytes).
    const out = diagonal || !useTensor ? new Float32Array(total * d) : null;
    const parts: { z: Float32Array; f: FittedGaussian; k: number; base: Float32Array | null }[] = [];
    const zero = new Float64Array(d);
    let offset = 0;
    for (let c = 0; c < this.numClasses; c++) {
      const k = perClass[c] as number;
      const f = fitted[c];
      if (k === 0 || f === null || f === undefined) continue;
      labels.fill(c, offset, offset + k);
      // Anchored draws: the k anchor rows (x_a), drawn before z; the Gaussian part is then centred at 0.
      const base = this.anchors === null ? null : this.anchorRows(c, k, d, rng);
      const mean = base === null ? f.mean : zero;
      const z = new Float32Array(k * d);
      fillStandardNormal(() => rng.next(), z);
      if (out === null) {
        parts.push({ z, f, k, base });
      } else {
        if (diagonal) {
          for (let s = 0; s < k; s++) {
            const o = (offset + s) * d;
            for (let i = 0; i < d; i++) out[o + i] = (mean[i] as number) + (f.factor[i] as number) * (z[s * d + i] as number);
          }
        } else if (!triangular || !affineLowerRowsF32(f.factor, mean, z, k, d, out, offset * d)) {
          affineLowerRows(f.factor, mean, z, k, d, out, offset * d);
        }
        if (base !== null) for (let q = 0; q < k * d; q++) out[offset * d + q] = (out[offset * d + q] as number) + (base[q] as number);
      }
      offset += k;
    }
    if (out !== null || parts.length === 0) {
      return { features: tf.tensor2d(out ?? new Float32Array(0), [total, d]), labels: tf.tensor1d(labels, 'int32') };
    }
    const features = tf.tidy(() => {
      // Z·Lᵀ + μ per class as one fused matMul with a bias (no separate add pass over the output).
      const blocks = parts.map((p) => {
        const lt = new Float32Array(d * d);
        for (let i = 0; i < d; i++) for (let j = 0; j <= i; j++) lt[j * d + i] = p.f.factor[i * d + j] as number;
        if (p.base !== null) return tf.add(tf.matMul(tf.tensor2d(p.z, [p.k, d]), tf.tensor2d(lt, [d, d])), tf.tensor2d(p.base, [p.k, d])) as tf.Tensor2D;
        return tf.fused.matMul({ a: tf.tensor2d(p.z, [p.k, d]), b: tf.tensor2d(lt, [d, d]), bias: tf.tensor1d(Float32Array.from(p.f.mean)) }) as tf.Tensor2D;
      });
      return blocks.length === 1 ? (blocks[0] as tf.Tensor2D) : tf.concat2d(blocks, 0);
    });
    return { features, labels: tf.tensor1d(labels, 'int32') };
  }

  /** Forgets every observed moment (options are kept). */
  reset(): void {
    this.guard.check();
    this.moments = null;
    this.anchors = null;
    this.invalidate();
  }

  /** Frees cached factors; the synthesizer holds no tensors. Idempotent; use afterwards throws `DISPOSED`. */
  dispose(): void {
    if (!this.guard.markDisposed()) return;
    this.moments = null;
    this.anchors = null;
    this.invalidate();
  }

  /** The k anchor rows x_a of class c (row-major k×d), a = anchorIndices(k, n_c, rng). */
  private anchorRows(c: number, k: number, d: number, rng: Rng): Float32Array {
    const chunks = (this.anchors as Float32Array[][])[c] as Float32Array[];
    if (chunks.length > 1) chunks.splice(0, chunks.length, concatRows(chunks));
    const rows = chunks[0] as Float32Array;
    const picks = anchorIndices(k, rows.length / d, rng);
    const base = new Float32Array(k * d);
    for (let s = 0; s < k; s++) base.set(rows.subarray((picks[s] as number) * d, (picks[s] as number) * d + d), s * d);
    return base;
  }

  private invalidate(): void {
    this.cache.clear();
    this.pooledCache = null;
  }

  private requireMoments(): ClassMoments {
    if (this.moments === null) {
      throw new LongTailError('NOT_FITTED', 'expected observe() before sampling. Received: no observed features');
    }
    return this.moments;
  }

  private fit(c: number): FittedGaussian {
    const moments = this.requireMoments();
    const d = moments.dim;
    const o = this.options;
    const state = moments.classes[c] as ClassMomentState;
    const n = state.count;
    const repair = { method: o.psdRepair, eigenFloor: o.eigenFloor, jitterStart: o.jitterStart, eigenScale: o.eigenScale };
    const finish = (mean: Float64Array, covariance: Float64Array, shrinkage: number, donors: readonly number[]): FittedGaussian => {
      const { factor, jitter } = choleskyWithRepair(covariance, d, repair);
      return { mean, covariance, factor, jitter, shrinkage, donors };
    };
    switch (o.covariance) {
      case 'diagonal': {
        if (n < 2) throw tooFew(c, n, 2, 'a diagonal covariance');
        const variance = unbiasedCovariance(state, d, false);
        return { mean: new Float64Array(state.mean), covariance: variance, factor: variance.map(Math.sqrt), jitter: 0, shrinkage: 0, donors: [] };
      }
      case 'full':
        if (n < 2) throw tooFew(c, n, 2, 'a full covariance');
        return finish(new Float64Array(state.mean), unbiasedCovariance(state, d, true), 0, []);
      case 'shrinkage':
        if (n < 2) throw tooFew(c, n, 2, 'a shrunk covariance');
        return finish(new Float64Array(state.mean), shrunkCovariance(state, d, o.shrinkage), o.shrinkage, []);
      case 'ledoitWolf': {
        if (n < 2) throw tooFew(c, n, 2, 'a Ledoit-Wolf covariance');
        const rho = ledoitWolfShrinkage(state, d);
        return finish(new Float64Array(state.mean), shrunkCovariance(state, d, rho), rho, []);
      }
      case 'pooled': {
        if (n < 1) throw tooFew(c, n, 1, 'a pooled covariance');
        if (this.pooledCache === null) this.pooledCache = pooledCovariance(moments.classes, d);
        return finish(new Float64Array(state.mean), new Float64Array(this.pooledCache), 0, []);
      }
      case 'calibrated': {
        if (n < 1) throw tooFew(c, n, 1, 'a calibrated covariance');
        if (n >= o.headMinCount) return finish(new Float64Array(state.mean), unbiasedCovariance(state, d, true), 0, []);
        const heads: number[] = [];
        moments.classes.forEach((s, h) => {
          if (s.count >= o.headMinCount) heads.push(h);
        });
        const cal = calibratedMoments(c, moments.classes, heads, d, {
          k: o.calibrationK,
          alpha: o.calibrationAlpha,
          alphaOn: o.calibrationAlphaOn,
          calibrateMean: o.calibrateMean,
        });
        return finish(cal.mean, cal.covariance, 0, cal.donors);
      }
    }
  }
}

/**
 * GGEUR's anchor rule (Dai et al., CVPR 2025, `cov_matrix_generate_features.py`, `process_class_client`)
 * for `needed` draws from a class of `count` real samples: when needed ≤ count, `needed` distinct
 * indices uniformly without replacement (a partial Fisher–Yates shuffle on `rng`), one draw each;
 * otherwise every sample in order, each ⌈needed/count⌉ times (0,0,…,1,1,…), truncated to `needed`.
 * Returns the anchor index of each draw.
 *
 * @throws LongTailError `INVALID_OPTION` for a negative or non-integer needed, or count < 1 when needed > 0.
 * @example anchorIndices(5, 2, rng) → Int32Array [0, 0, 0, 1, 1]
 */
export function anchorIndices(needed: number, count: number, rng: Rng): Int32Array {
  checkInteger('needed', needed);
  checkInteger('count', count, { min: needed > 0 ? 1 : 0 });
  const out = new Int32Array(needed);
  if (needed <= count) {
    const pool = Int32Array.from({ length: count }, (_, i) => i);
    for (let i = 0; i < needed; i++) {
      const j = i + rng.int(count - i);
      const t = pool[j] as number;
      pool[j] = pool[i] as number;
      pool[i] = t;
      out[i] = t;
    }
    return out;
  }
  const per = Math.ceil(needed / count);
  for (let s = 0; s < needed; s++) out[s] = Math.floor(s / per);
  return out;
}

function concatRows(chunks: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(chunks.reduce((a, b) => a + b.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

function checkSameSizeLocal(what: string, expected: number, received: number): void {
  if (expected !== received) {
    throw new LongTailError('SHAPE_MISMATCH', `expected ${what} = ${expected}. Received: other ${what}=${received}`, {
      expected,
      received,
    });
  }
}
