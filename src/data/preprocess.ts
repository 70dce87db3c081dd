/**
 * Per-feature standardisation of pixel data as in the Fashion-MNIST-LT reference runs: x' = (x / 255 − μ) /
 * (σ + 1e-3), with μ, σ the per-pixel mean and (population) standard deviation of a reference set.
 */
import { invalid } from '../core/errors.js';
import { checkInteger, checkNonNegative, checkSameSize } from '../core/validate.js';
import type { LabeledArrays, SampleValues } from './labeled-data.js';

/** Per-feature statistics for {@link standardize}. */
export interface FeatureStats {
  /** μ_d, length D (after `scale`). */
  readonly mean: Float32Array;
  /** σ_d (population, ddof 0), length D (after `scale`). */
  readonly std: Float32Array;
  /** Factor applied to raw values before the statistics (1/255 for pixels). */
  readonly scale: number;
  /** Added to σ before dividing. */
  readonly epsilon: number;
}

/** Options of {@link featureStats}. */
export interface FeatureStatsOptions {
  /** Raw-value factor, default 1/255 (pixels). */
  readonly scale?: number;
  /** Added to σ when standardising, default 1e-3. */
  readonly epsilon?: number;
}

/**
 * Accumulates per-feature mean and standard deviation over chunks (sums in float64), so the statistics of a
 * set too large for memory can be computed from a stream.
 */
export class FeatureStatsAccumulator {
  private readonly sum: Float64Array;
  private readonly sumSq: Float64Array;
  private count = 0;
  private readonly scale: number;
  private readonly epsilon: number;

  constructor(readonly numFeatures: number, options: FeatureStatsOptions = {}) {
    checkInteger('numFeatures', numFeatures, { min: 1 });
    this.scale = options.scale ?? 1 / 255;
    this.epsilon = options.epsilon ?? 1e-3;
    checkNonNegative('epsilon', this.epsilon);
    this.sum = new Float64Array(numFeatures);
    this.sumSq = new Float64Array(numFeatures);
  }

  /** Adds samples given as flat values (length a multiple of numFeatures). */
  update(values: SampleValues): this {
    const d = this.numFeatures;
    if (values.length % d !== 0) throw invalid('SHAPE_MISMATCH', `values.length to be a multiple of ${d}`, 'values.length', values.length);
    for (let i = 0; i < values.length; i++) {
      const v = (values[i] as number) * this.scale;
      const f = i % d;
      this.sum[f] = (this.sum[f] as number) + v;
      this.sumSq[f] = (this.sumSq[f] as number) + v * v;
    }
    this.count += values.length / d;
    return this;
  }

  /** μ and σ of everything seen. @throws `NOT_FITTED` before any sample. */
  compute(): FeatureStats {
    if (this.count === 0) throw invalid('NOT_FITTED', 'at least one sample before compute()', 'count', 0);
    const n = this.count;
    const mean = Float32Array.from(this.sum, (s) => s / n);
    const std = Float32Array.from(this.sumSq, (s2, f) => {
      const m = (this.sum[f] as number) / n;
      return Math.sqrt(Math.max(0, s2 / n - m * m));
    });
    return { mean, std, scale: this.scale, epsilon: this.epsilon };
  }
}

/** μ and σ per feature of a whole set (e.g. the full training set); see {@link FeatureStatsAccumulator}. */
export function featureStats(data: LabeledArrays, options: FeatureStatsOptions = {}): FeatureStats {
  const d = data.sampleShape.reduce((a, b) => a * b, 1);
  return new FeatureStatsAccumulator(d, options).update(data.x).compute();
}

/**
 * x' = (x · scale − μ) / (σ + ε) per feature, as a new Float32Array (no tensors; apply per chunk for streams).
 */
export function standardize(values: SampleValues, stats: FeatureStats): Float32Array {
  const d = stats.mean.length;
  checkSameSize('std.length = mean.length', d, 'std.length', stats.std.length);
  if (values.length % d !== 0) throw invalid('SHAPE_MISMATCH', `values.length to be a multiple of ${d}`, 'values.length', values.length);
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const f = i % d;
    out[i] = ((values[i] as number) * stats.scale - (stats.mean[f] as number)) / ((stats.std[f] as number) + stats.epsilon);
  }
  return out;
}

/** The same set with standardised float32 values (labels and flags shared). */
export function standardizeArrays(data: LabeledArrays, stats: FeatureStats): LabeledArrays {
  return { ...data, x: standardize(data.x, stats) };
}
