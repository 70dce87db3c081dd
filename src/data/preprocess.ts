/**
 * Per-feature standardisation, x' = (x · scale − μ) / (σ + ε), with μ, σ the per-feature mean and
 * (population, ddof 0) standard deviation of a reference set, as scikit-learn's `StandardScaler` plus an
 * ε and an optional raw-value factor. With pixels (uint8 values) the factor is 1/255, as in the
 * Fashion-MNIST-LT reference runs: x' = (x / 255 − μ) / (σ + 1e-3).
 */
import { LongTailError, invalid } from '../core/errors.js';
import { checkOptions, type OptionKeys } from '../core/options.js';
import { checkFinite, checkInteger, checkNonNegative, checkPositive, checkSameSize } from '../core/validate.js';
import type { LabeledArrays, SampleValues } from './labeled-data.js';

/** Per-feature statistics for {@link standardize}. */
export interface FeatureStats {
  /** μ_d, length D (after `scale`). */
  readonly mean: Float32Array;
  /** σ_d (population, ddof 0), length D (after `scale`). */
  readonly std: Float32Array;
  /** Factor applied to raw values before the statistics and by {@link standardize} (1/255 for uint8 pixels, else 1). */
  readonly scale: number;
  /** Added to σ before dividing. */
  readonly epsilon: number;
}

/** Options of {@link featureStats} and {@link FeatureStatsAccumulator}. */
export interface FeatureStatsOptions {
  /**
   * Raw-value factor, finite and > 0. Default: 1/255 when the values are a `Uint8Array` (pixels, as
   * `loadFashionMnist` and `readIdxFile` return them), 1 for any other array (features are never rescaled
   * unless asked).
   */
  readonly scale?: number;
  /** Added to σ when standardising, default 1e-3. */
  readonly epsilon?: number;
}

const STATS_KEYS: OptionKeys<FeatureStatsOptions> = { scale: true, epsilon: true };

/** The scale used when none is given: 1/255 for uint8 values (pixels), 1 otherwise. */
function defaultScale(values: SampleValues): number {
  return values instanceof Uint8Array ? 1 / 255 : 1;
}

function checkScale(name: string, scale: number): number {
  return checkPositive(name, scale);
}

function nonFinite(what: string, index: number, d: number, value: number): LongTailError {
  const row = Math.floor(index / d);
  const col = index % d;
  return new LongTailError('NON_FINITE', `expected ${what} to be finite (as float32). Received: row ${row}, feature ${col} = ${value}`, {
    what,
    row,
    feature: col,
  });
}

/**
 * Accumulates per-feature mean and standard deviation over chunks (sums in float64), so the statistics of a
 * set too large for memory can be computed from a stream. Without an explicit `scale`, the first chunk
 * fixes it (1/255 for a `Uint8Array`, else 1) and later chunks must be of the same kind.
 */
export class FeatureStatsAccumulator {
  private readonly sum: Float64Array;
  private readonly sumSq: Float64Array;
  private count = 0;
  private scale: number | undefined;
  private readonly scaleGiven: boolean;
  private readonly epsilon: number;

  /**
   * @throws LongTailError `INVALID_OPTION` for numFeatures < 1, a scale that is not finite and > 0, or a
   *   negative epsilon; `UNKNOWN_OPTION` for a misspelled option.
   */
  constructor(
    readonly numFeatures: number,
    options: FeatureStatsOptions = {},
  ) {
    checkInteger('numFeatures', numFeatures, { min: 1 });
    const o = checkOptions('FeatureStatsAccumulator options', options, STATS_KEYS);
    this.scaleGiven = o.scale !== undefined;
    if (o.scale !== undefined) this.scale = checkScale('scale', o.scale);
    this.epsilon = o.epsilon ?? 1e-3;
    checkNonNegative('epsilon', this.epsilon);
    this.sum = new Float64Array(numFeatures);
    this.sumSq = new Float64Array(numFeatures);
  }

  /**
   * Adds samples given as flat values (length a multiple of numFeatures).
   *
   * @throws LongTailError `SHAPE_MISMATCH` for a ragged chunk; `NON_FINITE` for NaN or ±∞ values (nothing
   *   is added); `INVALID_DATA` when the default scale was taken from a uint8 chunk and this one is not
   *   (or the reverse).
   */
  update(values: SampleValues): this {
    const d = this.numFeatures;
    if (values.length % d !== 0) throw invalid('SHAPE_MISMATCH', `values.length to be a multiple of ${d}`, 'values.length', values.length);
    const implied = defaultScale(values);
    if (this.scale === undefined) this.scale = implied;
    else if (!this.scaleGiven && this.scale !== implied) {
      throw new LongTailError(
        'INVALID_DATA',
        `expected every chunk to be ${this.scale === 1 ? 'non-uint8' : 'uint8'} like the first (the default scale ${this.scale === 1 ? '1' : '1/255'} came from it; pass scale to mix them). Received: a ${values.constructor.name}`,
        { scale: this.scale },
      );
    }
    if (!(values instanceof Uint8Array)) {
      for (let i = 0; i < values.length; i++) {
        if (!Number.isFinite(values[i] as number)) throw nonFinite('values', i, d, values[i] as number);
      }
    }
    const scale = this.scale;
    for (let i = 0; i < values.length; i++) {
      const v = (values[i] as number) * scale;
      const f = i % d;
      this.sum[f] = (this.sum[f] as number) + v;
      this.sumSq[f] = (this.sumSq[f] as number) + v * v;
    }
    this.count += values.length / d;
    return this;
  }

  /**
   * μ and σ of everything seen, as float32.
   *
   * @throws LongTailError `NOT_FITTED` before any sample; `NON_FINITE` when μ or σ overflow float32
   *   (values · scale beyond ±3.4e38).
   */
  compute(): FeatureStats {
    if (this.count === 0 || this.scale === undefined) throw invalid('NOT_FITTED', 'at least one sample before compute()', 'count', 0);
    const n = this.count;
    const mean = Float32Array.from(this.sum, (s) => s / n);
    const std = Float32Array.from(this.sumSq, (s2, f) => {
      const m = (this.sum[f] as number) / n;
      return Math.sqrt(Math.max(0, s2 / n - m * m));
    });
    for (let f = 0; f < mean.length; f++) {
      if (!Number.isFinite(mean[f] as number) || !Number.isFinite(std[f] as number)) {
        throw new LongTailError('NON_FINITE', `expected the mean and std of feature ${f} to be finite as float32. Received: mean=${mean[f]} std=${std[f]}`, {
          feature: f,
        });
      }
    }
    return { mean, std, scale: this.scale, epsilon: this.epsilon };
  }
}

/**
 * μ and σ per feature of a whole set (e.g. the full training set); see {@link FeatureStatsAccumulator}.
 * scikit-learn: `StandardScaler().fit(X)` (`mean_`, `scale_`) with `scale: 1`.
 *
 * @example
 * ```ts
 * featureStats(pixels);                    // Uint8Array x: scale 1/255 (derived, recorded in stats.scale)
 * featureStats(embeddings);                // Float32Array x: scale 1, never rescaled
 * featureStats(pixels, { scale: 1 });      // raw 0..255 statistics
 * ```
 * @throws LongTailError as the accumulator (`INVALID_OPTION`, `UNKNOWN_OPTION`, `SHAPE_MISMATCH`, `NON_FINITE`).
 */
export function featureStats(data: LabeledArrays, options: FeatureStatsOptions = {}): FeatureStats {
  const o = checkOptions('featureStats options', options, STATS_KEYS);
  const d = data.sampleShape.reduce((a, b) => a * b, 1);
  return new FeatureStatsAccumulator(d, o).update(data.x).compute();
}

function checkStats(stats: FeatureStats): number {
  const d = stats.mean.length;
  checkSameSize('std.length = mean.length', d, 'std.length', stats.std.length);
  checkScale('stats.scale', stats.scale);
  checkNonNegative('stats.epsilon', stats.epsilon);
  return d;
}

/**
 * x' = (x · scale − μ) / (σ + ε) per feature, as a new Float32Array (no tensors; apply per chunk for
 * streams). The scale is the one recorded in `stats`. scikit-learn: `scaler.transform(X)`.
 *
 * @throws LongTailError `SHAPE_MISMATCH` for a ragged input; `INVALID_OPTION` for stats with a scale that
 *   is not finite and > 0 or a negative ε; `NON_FINITE` for a non-finite input or a result that is not
 *   finite as float32 (e.g. σ + ε = 0).
 */
export function standardize(values: SampleValues, stats: FeatureStats): Float32Array {
  const d = checkStats(stats);
  if (values.length % d !== 0) throw invalid('SHAPE_MISMATCH', `values.length to be a multiple of ${d}`, 'values.length', values.length);
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const f = i % d;
    const v = values[i] as number;
    if (!Number.isFinite(v)) throw nonFinite('values', i, d, v);
    out[i] = (v * stats.scale - (stats.mean[f] as number)) / ((stats.std[f] as number) + stats.epsilon);
    if (!Number.isFinite(out[i] as number)) throw nonFinite('standardized values', i, d, out[i] as number);
  }
  return out;
}

/** The same set with standardised float32 values (labels and flags shared); see {@link standardize}. */
export function standardizeArrays(data: LabeledArrays, stats: FeatureStats): LabeledArrays {
  return { ...data, x: standardize(data.x, stats) };
}

/** Options of {@link tukeyPowerTransform}. */
export interface TukeyPowerOptions {
  /** The power λ, finite: x^λ for λ ≠ 0, log x for λ = 0 (λ = 1 is the identity). DC uses 0.5. */
  readonly lambda: number;
}

const TUKEY_KEYS: OptionKeys<TukeyPowerOptions> = { lambda: true };

/**
 * Tukey's ladder of powers, x′ = x^λ (λ ≠ 0) or log x (λ = 0), element-wise, as a new Float32Array (no
 * tensors). Distribution Calibration (Yang et al., "Free Lunch for Few-shot Learning: Distribution
 * Calibration", ICLR 2021; official code `np.power(x, 0.5)`) applies it with λ = 0.5 to the training
 * and the test features alike, making skewed non-negative (ReLU) features more Gaussian before class
 * Gaussians are fitted. Computed in float64, stored as float32.
 *
 * @throws LongTailError `UNKNOWN_OPTION`; `INVALID_OPTION` for a non-finite λ; `NON_FINITE` for NaN or ±∞
 *   input; `INVALID_DATA` for a negative value (x^λ is not real; features must be non-negative, e.g.
 *   after ReLU) or, with λ ≤ 0, a zero (log 0 and 0^λ are not finite).
 * @example
 * ```ts
 * const x = tukeyPowerTransform(features, { lambda: 0.5 }); // √x, as DC
 * ```
 */
export function tukeyPowerTransform(values: ArrayLike<number>, options: TukeyPowerOptions): Float32Array {
  const o = checkOptions('tukeyPowerTransform options', options, TUKEY_KEYS);
  if (o === undefined || o.lambda === undefined) throw new LongTailError('MISSING_INPUT', 'expected options.lambda (the Tukey power). Received: lambda=undefined');
  const lambda = checkFinite('lambda', o.lambda);
  const strict = lambda <= 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (!Number.isFinite(v)) throw new LongTailError('NON_FINITE', `expected finite values. Received: values[${i}]=${v}`, { index: i });
    if (v < 0 || (strict && v === 0)) {
      throw new LongTailError(
        'INVALID_DATA',
        `expected ${strict ? 'positive' : 'non-negative'} values for the Tukey power transform with lambda=${lambda} (features after a ReLU are non-negative). Received: values[${i}]=${v}`,
        { index: i, value: v, lambda },
      );
    }
  }
  const out = new Float32Array(values.length);
  if (lambda === 0) for (let i = 0; i < values.length; i++) out[i] = Math.log(values[i] as number);
  else for (let i = 0; i < values.length; i++) out[i] = (values[i] as number) ** lambda;
  return out;
}
