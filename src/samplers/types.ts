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

/**
 * A pure index sampler over integer labels: no tensors, deterministic given the Rng.
 * `batches` yields index batches (into `labels`) for one epoch.
 */
export interface Sampler extends Configurable {
  /** Index batches (into `labels`) for one epoch; a pure function of `labels` and `ctx` (including its Rng). */
  batches(labels: Int32Array, ctx: SamplerContext): Iterable<Int32Array>;
}
