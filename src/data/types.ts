import type * as tf from '@tensorflow/tfjs';
import type { Rng } from '../core/rng.js';

/**
 * A labelled dataset held as one tensor plus typed arrays. The caller owns `x`.
 * `x` is [N, D] features or [N, H, W, C] images; `y` int labels [N].
 */
export interface LabeledData {
  readonly x: tf.Tensor;
  readonly y: Int32Array;
  /** 1 where a sample is synthetic (generated), per sample. */
  readonly synthetic?: Uint8Array;
  /** 1 where a sample belongs to an auxiliary (not target) class, per sample. */
  readonly auxiliary?: Uint8Array;
}

/** The batch a view transform receives: the input part of a training batch (real, then input-space synthetic rows). */
export interface ViewBatch {
  readonly x: tf.Tensor;
  readonly labels: Int32Array;
  /** The step's random stream; views draw from it in the order the trainer's `views` lists them. */
  readonly rng: Rng;
}

/**
 * A seeded transform of a batch's inputs into one named view of the trainer (crop + flip, MixUp, CutMix,
 * ...). Runs inside the step's tidy; may return soft `targets` [B, C] that the view's loss reads.
 */
export type ViewTransform = (batch: ViewBatch) => { readonly x: tf.Tensor; readonly targets?: tf.Tensor2D };
