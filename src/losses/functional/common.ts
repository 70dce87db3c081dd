/** Building blocks shared by the classification kernels (internal). */
import * as tf from '@tensorflow/tfjs';
import { invalid } from '../../core/errors.js';
import { fusedSoftmaxCrossEntropy, fusedSoftmaxCrossEntropyAvailable } from '../../backends/softmax-ce.js';

/** Added to π before the log so zero-count classes stay finite (methods.md: log(π + 1e-12)). */
export const PRIOR_EPSILON = 1e-12;

/** π_j = n_j / Σn in float64; a zero total is rejected (π would be 0/0). */
export function priorOf(counts: ArrayLike<number>, name = 'classCounts'): Float64Array {
  let total = 0;
  for (let j = 0; j < counts.length; j++) total += counts[j] as number;
  if (!(total > 0)) throw invalid('INVALID_OPTION', `${name} with a positive total`, `sum(${name})`, total);
  const prior = new Float64Array(counts.length);
  for (let j = 0; j < counts.length; j++) prior[j] = (counts[j] as number) / total;
  return prior;
}

/** τ·log(π_j + 1e-12) per class, computed in float64 then stored as float32. */
export function logPriorOffsets(counts: ArrayLike<number>, tau: number, name = 'classCounts'): Float32Array {
  const prior = priorOf(counts, name);
  const out = new Float32Array(prior.length);
  for (let j = 0; j < prior.length; j++) out[j] = tau === 0 ? 0 : tau * Math.log((prior[j] as number) + PRIOR_EPSILON);
  return out;
}

/**
 * q ⊙ log p with 0·(−∞) taken as 0: where q_ij = 0 the product is 0 whatever log p_ij is, so a logit of −∞
 * (a masked class) contributes nothing to the value, and its gradient is exactly 0 (PyTorch's
 * `cross_entropy`/`nll_loss` select log p_y instead of multiplying, with the same result). Where q > 0 and
 * log p = −∞ the product stays −∞, as in PyTorch. Must be called inside a tidy.
 */
export function targetTimesLogProb(q: tf.Tensor2D, logp: tf.Tensor2D): tf.Tensor2D {
  const product = tf.mul(q, logp);
  return tf.where(tf.greater(q, 0), product, tf.zerosLike(product)) as tf.Tensor2D;
}

/**
 * Per-row cross-entropy −Σ_j q_ij · log softmax(z)_ij of already-adjusted logits, where q is one-hot of
 * `labels`, or the soft `targets`, mixed with the uniform distribution by `labelSmoothing` ε:
 * q ← (1 − ε)·q + ε/C (PyTorch `label_smoothing`). Terms with q_ij = 0 are 0 even when z_ij = −∞
 * ({@link targetTimesLogProb}). Needs `labels` or `targets`. Must be called inside a tidy.
 */
export function crossEntropyRows(
  z: tf.Tensor2D,
  labels: tf.Tensor1D | undefined,
  options: { readonly targets?: tf.Tensor2D | undefined; readonly labelSmoothing?: number | undefined },
): tf.Tensor1D {
  const numClasses = z.shape[1];
  // Hard labels on cpu/wasm: one fused kernel and one tape op (same values within float32 rounding).
  if (options.targets === undefined && labels !== undefined && labels.dtype === 'int32' && fusedSoftmaxCrossEntropyAvailable()) {
    return fusedSoftmaxCrossEntropy(z, labels, { labelSmoothing: options.labelSmoothing ?? 0 });
  }
  const logp = tf.logSoftmax(z);
  let q: tf.Tensor2D = options.targets ?? (tf.oneHot(labels as tf.Tensor1D, numClasses).asType('float32') as tf.Tensor2D);
  const eps = options.labelSmoothing ?? 0;
  if (eps > 0) q = tf.add(tf.mul(q, 1 - eps), eps / numClasses);
  // The one-hot product avoids gather, whose gradient (UnsortedSegmentSum) stock tfjs-wasm lacks.
  return tf.neg(tf.sum(targetTimesLogProb(q, logp), 1)) as tf.Tensor1D;
}
