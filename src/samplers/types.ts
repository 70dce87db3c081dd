import type { Configurable } from '../core/registry.js';
import type { Rng } from '../core/rng.js';

/** What a sampler needs to produce one epoch of batches. */
export interface SamplerContext {
  /** 0-based epoch. */
  readonly epoch: number;
  readonly totalEpochs: number;
  readonly batchSize: number;
  readonly rng: Rng;
}

/** Options of {@link Sampler.targetDistribution}: the epoch a schedule-driven sampler is at. */
export interface SamplerTargetOptions {
  /** 0-based epoch (required by the progressive sampler, ignored by the others). */
  readonly epoch?: number;
  /** Number of epochs T (required by the progressive sampler, ignored by the others). */
  readonly totalEpochs?: number;
}

/** The class distribution a sampler is designed to emit. */
export interface SamplerTarget {
  /** p_j: the probability that an emitted sample is of class j (length C, sums to 1). */
  readonly probabilities: Float64Array;
  /**
   * Samples emitted per independent class choice: 1 for samplers that pick the class of every sample on its
   * own, m for m-per-class (a chosen class brings m samples). Goodness-of-fit tests count choices, i.e.
   * emitted / samplesPerDraw, so the clustering does not inflate Pearson's statistic.
   */
  readonly samplesPerDraw: number;
}

/**
 * A pure index sampler over integer labels: no tensors, deterministic given the Rng.
 * `batches` yields index batches (into `labels`) for one epoch.
 */
export interface Sampler extends Configurable {
  /** Index batches (into `labels`) for one epoch; a pure function of `labels` and `ctx` (including its Rng). */
  batches(labels: Int32Array, ctx: SamplerContext): Iterable<Int32Array>;
  /**
   * The class distribution `batches` is designed to emit, given the class counts n_j of its labels (class
   * j = index j) and, for schedules, the epoch. Every built-in sampler has it (the class-aware ones draw
   * their classes from exactly these probabilities); `samplerReport` checks what `batches` emits against
   * it. Optional so that a user's sampler without it still type-checks (the report then needs a `target`).
   */
  targetDistribution?(counts: ArrayLike<number>, options?: SamplerTargetOptions): SamplerTarget;
}
