/** Input checks and host label reads shared by the centre-based contrastive kernels (internal). */
import * as tf from '@tensorflow/tfjs';
import { checkLabels, checkRank, checkSameSize } from '../../core/validate.js';
import { checkFloat32, checkInt32, checkTensor } from '../validation.js';

/** Validated shape of a contrastive batch, with host labels. */
export interface ContrastBatch {
  readonly n: number;
  readonly views: number;
  readonly dim: number;
  /** The N sample labels on the host. */
  readonly labelValues: Int32Array;
}

/**
 * Features float32 [N, V, d] or [N, d], labels int32 [N]; label values are read from `labelValues` when
 * given (else one `dataSync`), and, unless `validate` is false, checked to lie in [0, numClasses).
 */
export function checkContrastBatch(
  features: tf.Tensor,
  labels: tf.Tensor | undefined,
  options: { readonly labelValues?: Int32Array | undefined; readonly validate?: boolean | undefined; readonly numClasses?: number | undefined },
): ContrastBatch {
  checkTensor('features', features);
  checkRank('features', features.shape, [2, 3]);
  checkFloat32('features', features);
  checkTensor('labels', labels);
  checkRank('labels', labels.shape, 1);
  checkInt32('labels', labels);
  const n = features.shape[0] as number;
  const views = features.shape.length === 3 ? (features.shape[1] as number) : 1;
  const dim = features.shape[features.shape.length - 1] as number;
  checkSameSize('labels.shape[0] equal to features.shape[0]', n, 'labels.shape[0]', labels.shape[0] as number);
  let values: Int32Array;
  if (options.labelValues !== undefined) {
    checkSameSize('labelValues.length equal to labels.shape[0]', n, 'labelValues.length', options.labelValues.length);
    values = options.labelValues;
  } else {
    values = labels.dataSync() as Int32Array;
  }
  // The masks are built on the host, so out-of-range labels would index past them: checked even with
  // validate: false when a class count bounds them.
  if (options.validate !== false || options.numClasses !== undefined) checkLabels('labels', values, options.numClasses);
  return { n, views, dim, labelValues: values };
}

/** [N, V, d] (or [N, d]) → view-major [N·V, d]: row v·N + i is view v of sample i. Inside a tidy. */
export function viewMajor(features: tf.Tensor2D | tf.Tensor3D, batch: ContrastBatch): tf.Tensor2D {
  const { n, views, dim } = batch;
  if (views === 1) return tf.reshape(features, [n, dim]);
  return tf.reshape(tf.transpose(features, [1, 0, 2]), [n * views, dim]);
}
