import type * as tf from '@tensorflow/tfjs';
import type { Disposable } from '../core/tensors.js';
import type { Configurable } from '../core/registry.js';
import type { RngState } from '../core/rng.js';

/** Everything a forward pass may expose; losses declare which fields they need. */
export interface ForwardFields {
  /** Class scores [N, C]. */
  readonly logits: tf.Tensor2D;
  /** Features before the head [N, D]. */
  readonly embeddings: tf.Tensor2D;
  /** Contrastive projections, L2-normalized: [N, d] or multi-view [N, V, d]. */
  readonly projections: tf.Tensor2D | tf.Tensor3D;
}

/** A model output field a loss can require. */
export type Requirement = keyof ForwardFields;

/** What `forward` returns: logits always, the rest as the model provides. */
export type ForwardOutput = Pick<ForwardFields, 'logits'> & Partial<Omit<ForwardFields, 'logits'>>;

/** Whether layers such as dropout and batch norm run in training or inference mode. */
export type ForwardMode = 'train' | 'eval';

/** A trainable model: backbone + head, built from tfjs variables. */
export interface Model extends Disposable {
  readonly kind: string;
  /** Classes the head predicts at inference (auxiliary rows excluded). */
  readonly numClasses: number;
  /**
   * Classes the head scores in `'train'` mode: `numClasses` plus auxiliary classes (Granularity). Training
   * labels lie in `[0, numTrainClasses)`. Absent means `numClasses`.
   */
  readonly numTrainClasses?: number;
  /** Width of the features `head` takes. */
  readonly featureDim: number;
  readonly provides: readonly Requirement[];
  readonly trainableVariables: readonly tf.Variable[];
  /** Every variable including non-trainable state (batch-norm statistics), for checkpoints. */
  readonly variables: readonly tf.Variable[];
  /**
   * Variables a training forward pass may change besides the trainable ones (batch-norm statistics).
   * The trainer restores them when a step fails and drops single-sample batches when there are any.
   * Absent: every variable that is not trainable (a frozen backbone's weights are not state).
   */
  readonly stateVariables?: readonly tf.Variable[];
  /** JSON description of the architecture, for logging. */
  readonly config?: Configurable['config'];
  /** Synchronous; the trainer calls it inside `tf.tidy`. */
  forward(x: tf.Tensor, mode: ForwardMode): ForwardOutput;
  /**
   * Optional: only the outputs in `fields` (the trainer's view passes ask for what their loss reads, so a
   * classification view does not run, or move the batch-norm statistics of, a projection branch).
   * Without it the trainer uses `forward`.
   */
  forwardFields?(x: tf.Tensor, mode: ForwardMode, fields: readonly Requirement[]): Partial<ForwardFields>;
  /**
   * The classifier head alone, so synthesized latent features skip the backbone. `mode` defaults to
   * `'eval'` (inference rows only); pass `'train'` when training on the result, so auxiliary classes are
   * scored too. Heads have no dropout or batch norm, so the mode matters only for auxiliary heads.
   */
  head(features: tf.Tensor2D, mode?: ForwardMode): tf.Tensor2D;
  /**
   * Position of the model's own random stream (dropout masks), for checkpoints; absent or `null` when the
   * model draws no random numbers after construction.
   */
  getRngState?(): RngState | null;
  /** Restores the stream saved by {@link Model.getRngState}. */
  setRngState?(state: RngState): void;
}

/**
 * The feature extractor of a model: maps inputs [N, ...inputShape] to features [N, outputDim].
 * Owns its variables (freed by `dispose`).
 */
export interface Backbone extends Disposable, Configurable {
  /** Per-sample input shape (without the batch axis), or `null` when any input is accepted. */
  readonly inputShape: readonly number[] | null;
  /** Width of the features. */
  readonly outputDim: number;
  readonly trainableVariables: readonly tf.Variable[];
  /** Trainable variables followed by non-trainable state. */
  readonly variables: readonly tf.Variable[];
  /** What a training pass may change besides the trainable variables; absent: the non-trainable ones. */
  readonly stateVariables?: readonly tf.Variable[];
  /** Synchronous, tidy-safe; returns features the caller owns. */
  apply(x: tf.Tensor, mode: ForwardMode): tf.Tensor2D;
  /** Position of the backbone's own random stream (dropout), for checkpoints. */
  getRngState?(): RngState | null;
  /** Restores the stream saved by `getRngState`. */
  setRngState?(state: RngState): void;
}

/**
 * A classifier head: maps features [N, inputDim] to class scores [N, numOutputs]. Usable on its own
 * (e.g. on frozen or synthesized features) or inside a classifier.
 */
export interface Head extends Disposable, Configurable {
  readonly inputDim: number;
  /** Classes scored at inference (`'eval'`). */
  readonly numClasses: number;
  /** Classes scored in training (`'train'`); larger than `numClasses` only for auxiliary heads. */
  readonly numTrainClasses: number;
  readonly trainableVariables: readonly tf.Variable[];
  readonly variables: readonly tf.Variable[];
  /** What a training pass may change besides the trainable variables; absent: the non-trainable ones. */
  readonly stateVariables?: readonly tf.Variable[];
  /** Synchronous, tidy-safe; `mode` defaults to `'eval'`. Returns logits the caller owns. */
  apply(features: tf.Tensor2D, mode?: ForwardMode): tf.Tensor2D;
}
