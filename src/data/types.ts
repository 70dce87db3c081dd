import type * as tf from '@tensorflow/tfjs';

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
