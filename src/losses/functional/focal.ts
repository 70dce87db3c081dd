import * as tf from '@tensorflow/tfjs';
import { checkOptions, type OptionKeys } from '../../core/options.js';
import { checkNonNegative } from '../../core/validate.js';
import { checkClassification, checkCountsFor, type ValidateOption } from '../validation.js';
import { targetTimesLogProb } from './common.js';

/** Options of {@link focalCrossEntropy}. */
export interface FocalOptions extends ValidateOption {
  /** Focusing parameter γ ≥ 0; 0 gives plain cross-entropy. @defaultValue 2 */
  readonly gamma?: number;
  /**
   * Per-class weights w (length C, finite, ≥ 0) applied to the cross-entropy inside the focal factor, as
   * LDAM-DRW's `FocalLoss(weight=w)`: ℓ_i = (1 − e^{−w_{y_i}·CE_i})^γ · w_{y_i}·CE_i.
   * @defaultValue none (every w = 1)
   */
  readonly classWeights?: ArrayLike<number>;
}

const FOCAL_KEYS: OptionKeys<FocalOptions> = { gamma: true, classWeights: true, validate: true, labelValues: true };

/**
 * Floor for 1 − p_y before the power. Below it the factor (1 − p)^γ is treated as a constant: for
 * γ < 1 its derivative γ(1 − p)^{γ−1} is infinite at p = 1 and 0·∞ would give NaN, while the true
 * gradient of the product (1 − p)^γ·CE tends to 0 there.
 */
const ONE_MINUS_P_FLOOR = 1e-30;

/**
 * Per-sample focal loss (Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017), multi-class
 * form: ℓ_i = −(1 − p_{y_i})^γ · log p_{y_i}, with log p from log-softmax and 1 − p = −expm1(log p) so
 * that confident predictions keep their precision. Stable for every γ ≥ 0, including γ < 1 at p → 1.
 * A logit of −∞ on another class than y_i adds nothing (PyTorch's value and a zero gradient).
 *
 * With `classWeights`, the official LDAM-DRW form (kaidic/LDAM-DRW `losses.py`, `focal_loss` over
 * `F.cross_entropy(..., weight=w, reduction='none')`): c_i = w_{y_i}·CE_i, ℓ_i = (1 − e^{−c_i})^γ · c_i; the
 * official code then takes the plain mean over samples.
 *
 * @returns float32 [N], owned by the caller.
 * @throws LongTailError `INVALID_OPTION` for γ < 0, plus the label and shape errors of the other kernels.
 * @example
 * ```ts
 * const l = focalCrossEntropy(logits, labels, { gamma: 2 });
 * ```
 */
export function focalCrossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D, options: FocalOptions = {}): tf.Tensor1D {
  checkOptions('focalCrossEntropy options', options, FOCAL_KEYS);
  const gamma = checkNonNegative('gamma', options.gamma ?? 2);
  const { numClasses } = checkClassification(logits, labels, { validate: options.validate, labelValues: options.labelValues });
  const weights = options.classWeights === undefined ? undefined : checkCountsFor('classWeights', options.classWeights, numClasses);
  return tf.tidy(() => {
    const oneHot = tf.oneHot(labels, numClasses).asType('float32') as tf.Tensor2D;
    let logpY = tf.sum(targetTimesLogProb(oneHot, tf.logSoftmax(logits)), 1);
    // Weighted: log p ← w_y·log p, i.e. c = w_y·CE and 1 − p = 1 − e^{−c} below.
    if (weights !== undefined) logpY = tf.mul(logpY, tf.sum(tf.mul(oneHot, tf.tensor1d(Float32Array.from(weights))), 1));
    const ce = tf.neg(logpY);
    if (gamma === 0) return ce as tf.Tensor1D;
    const oneMinusP = tf.maximum(tf.neg(tf.expm1(logpY)), ONE_MINUS_P_FLOOR);
    return tf.mul(tf.pow(oneMinusP, gamma), ce) as tf.Tensor1D;
  });
}
