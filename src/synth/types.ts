import type * as tf from '@tensorflow/tfjs';
import type { Configurable } from '../core/registry.js';
import type { Rng } from '../core/rng.js';
import type { Disposable } from '../core/tensors.js';

/** Latent features with their integer labels. */
export interface LabeledFeatures {
  /** [N, d] float32. */
  readonly features: tf.Tensor2D;
  /** [N] int32. */
  readonly labels: tf.Tensor1D;
}

/**
 * What `observe` reads: features [N, d] and their labels, as an int32 tensor or host integers (e.g.
 * `LabeledData.y`). A {@link LabeledFeatures} is one.
 */
export interface FeatureBatch {
  /** [N, d] float32. */
  readonly features: tf.Tensor2D;
  /** [N] int32 tensor, or N integer labels on the host. */
  readonly labels: tf.Tensor1D | Int32Array | readonly number[];
}

/** How many synthetic samples to draw per class, plus what some synthesizers need. */
export interface SynthesisRequest {
  /** Length C: samples to draw for each class (0 for none). */
  readonly perClass: ArrayLike<number>;
  /** The classifier head, for synthesizers that steer samples with it (OT distribution matching). */
  readonly head?: (features: tf.Tensor2D) => tf.Tensor2D;
  /** The training epoch the samples are for, when a trainer asks (for reports such as synLt's rounds). */
  readonly epoch?: number;
}

/**
 * A latent synthesizer: accumulates statistics from real features, draws synthetic ones.
 * Stateful and Disposable (like a tfjs Optimizer).
 */
export interface Synthesizer extends Configurable, Disposable {
  readonly numClasses: number;
  /**
   * What `sample` needs besides the request: `'head'` when it scores draws with the model's classifier
   * (OT distribution matching). The trainer checks it when it is built (a head-scoring synthesizer
   * cannot synthesize in input space).
   */
  readonly needs?: readonly 'head'[];
  /**
   * The per-class report of the last `sample` call, when the synthesizer keeps one (OT distribution
   * matching: requested, proposed, accepted, mean head probability); the trainer records it in the
   * history's synthesis round.
   */
  readonly lastReport?: readonly Readonly<Record<string, number>>[];
  /** Accumulates statistics from detached features. Does not take ownership of `batch`. */
  observe(batch: FeatureBatch): void;
  /** New tensors owned by the caller. */
  sample(request: SynthesisRequest, rng: Rng): LabeledFeatures;
  /** Real samples observed per class so far. */
  observedCounts(): Float64Array;
  /**
   * Forgets everything observed (options are kept), so the next `observe` starts fresh statistics. The
   * trainer calls it before re-observing when `synthesis.refreshEvery > 0` (the features move as the model
   * trains, so old statistics must not accumulate).
   */
  reset?(): void;
}
