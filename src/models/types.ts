import type * as tf from '@tensorflow/tfjs';
import type { Disposable } from '../core/tensors.js';

/** Everything a forward pass may expose; losses declare which fields they need. */
export interface ForwardFields {
  /** Class scores [N, C]. */
  readonly logits: tf.Tensor2D;
  /** Features before the head [N, D]. */
  readonly embeddings: tf.Tensor2D;
  /** Contrastive projections, L2-normalised: [N, d] or multi-view [N, V, d]. */
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
  /** Width of the features `head` takes. */
  readonly featureDim: number;
  readonly provides: readonly Requirement[];
  readonly trainableVariables: readonly tf.Variable[];
  /** Every variable including non-trainable state (batch-norm statistics), for checkpoints. */
  readonly variables: readonly tf.Variable[];
  /** Synchronous; the trainer calls it inside `tf.tidy`. */
  forward(x: tf.Tensor, mode: ForwardMode): ForwardOutput;
  /** The classifier head alone, so synthesized latent features skip the backbone. */
  head(features: tf.Tensor2D): tf.Tensor2D;
}
