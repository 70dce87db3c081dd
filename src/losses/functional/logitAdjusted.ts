import * as tf from '@tensorflow/tfjs';
import { checkOptions, type OptionKeys } from '../../core/options.js';
import { checkFinite, checkRange } from '../../core/validate.js';
import { checkClassification, checkCountsFor, checkFloat32, checkTensor, type ValidateOption } from '../validation.js';
import { checkRank } from '../../core/validate.js';
import { crossEntropyRows, logPriorOffsets } from './common.js';

/** Options of {@link logitAdjustedCrossEntropy}. */
export interface LogitAdjustedOptions extends ValidateOption {
  /** Training count per class (length C); π_j = n_j / Σn. Zero entries are allowed. */
  readonly classCounts: ArrayLike<number>;
  /**
   * Adjustment strength τ (any finite number; 0 gives plain cross-entropy).
   * @defaultValue 1
   */
  readonly tau?: number;
  /** Soft targets [N, C]. */
  readonly targets?: tf.Tensor2D;
  /** Label smoothing ε ∈ [0, 1). @defaultValue 0 */
  readonly labelSmoothing?: number;
}

const LOGIT_ADJUSTED_KEYS: OptionKeys<LogitAdjustedOptions> = { classCounts: true, tau: true, targets: true, labelSmoothing: true, validate: true, labelValues: true };

/**
 * Per-sample logit-adjusted cross-entropy (Menon et al., "Long-tail learning via logit adjustment",
 * ICLR 2021): ℓ_i = CE(z_i + τ·log(π + 1e-12), y_i). A uniform prior or τ = 0 gives plain CE. A −∞
 * logit masks its class as in {@link crossEntropy}; `labels` may be `undefined` when `targets` are given.
 *
 * @returns float32 [N], owned by the caller.
 * @throws LongTailError `INVALID_OPTION` (τ not finite, negative counts, zero total), `SHAPE_MISMATCH`,
 *   `DTYPE_MISMATCH`, `LABEL_OUT_OF_RANGE`.
 * @example
 * ```ts
 * const l = logitAdjustedCrossEntropy(logits, labels, { classCounts: [500, 50, 5], tau: 1 });
 * ```
 */
export function logitAdjustedCrossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D | undefined, options: LogitAdjustedOptions): tf.Tensor1D {
  checkOptions('logitAdjustedCrossEntropy options', options, LOGIT_ADJUSTED_KEYS);
  const tau = checkFinite('tau', options.tau ?? 1);
  const labelSmoothing = checkRange('labelSmoothing', options.labelSmoothing ?? 0, { min: 0, max: 1, maxExclusive: true });
  const { numClasses } = checkClassification(logits, labels, { targets: options.targets, validate: options.validate, labelValues: options.labelValues });
  const offsets = logPriorOffsets(checkCountsFor('classCounts', options.classCounts, numClasses), tau);
  return tf.tidy(() => {
    const z = tf.add(logits, tf.tensor1d(offsets)) as tf.Tensor2D;
    return crossEntropyRows(z, labels, { targets: options.targets, labelSmoothing });
  });
}

/** Options of {@link balancedSoftmaxCrossEntropy}. */
export interface BalancedSoftmaxOptions extends ValidateOption {
  /** Training count per class (length C). */
  readonly classCounts: ArrayLike<number>;
  /** Soft targets [N, C]. */
  readonly targets?: tf.Tensor2D;
  /** Label smoothing ε ∈ [0, 1). @defaultValue 0 */
  readonly labelSmoothing?: number;
}

const BALANCED_SOFTMAX_KEYS: OptionKeys<BalancedSoftmaxOptions> = { classCounts: true, targets: true, labelSmoothing: true, validate: true, labelValues: true };

/**
 * Per-sample balanced softmax cross-entropy (Ren et al., "Balanced Meta-Softmax for Long-Tailed Visual
 * Recognition", NeurIPS 2020): ℓ_i = CE(z_i + log n, y_i). Softmax ignores constant shifts, so this is
 * computed as CE(z + log(π + 1e-12)) — exactly the logit-adjusted loss at τ = 1, and finite for
 * zero-count classes (whose log n would be −∞).
 *
 * @returns float32 [N], owned by the caller.
 * @example
 * ```ts
 * const l = balancedSoftmaxCrossEntropy(logits, labels, { classCounts: [500, 50, 5] });
 * ```
 */
export function balancedSoftmaxCrossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D | undefined, options: BalancedSoftmaxOptions): tf.Tensor1D {
  checkOptions('balancedSoftmaxCrossEntropy options', options, BALANCED_SOFTMAX_KEYS);
  return logitAdjustedCrossEntropy(logits, labels, { ...options, tau: 1 });
}

/** Options of {@link postHocAdjust}. */
export interface PostHocAdjustOptions {
  /** Training count per class (length C). */
  readonly classCounts: ArrayLike<number>;
  /** @defaultValue 1 */
  readonly tau?: number;
}

const POST_HOC_KEYS: OptionKeys<PostHocAdjustOptions> = { classCounts: true, tau: true };

/**
 * Post-hoc logit adjustment for inference (Menon et al. 2021): z − τ·log(π + 1e-12). Predict with
 * argmax of the result; a uniform prior leaves the ranking unchanged.
 *
 * @param logits - float32 [N, C] from a model trained with plain cross-entropy.
 * @returns float32 [N, C], owned by the caller.
 * @example
 * ```ts
 * const pred = tf.argMax(postHocAdjust(logits, { classCounts, tau: 1 }), 1);
 * ```
 */
export function postHocAdjust(logits: tf.Tensor2D, options: PostHocAdjustOptions): tf.Tensor2D {
  checkOptions('postHocAdjust options', options, POST_HOC_KEYS);
  const tau = checkFinite('tau', options.tau ?? 1);
  checkTensor('logits', logits);
  checkRank('logits', logits.shape, 2);
  checkFloat32('logits', logits);
  const offsets = logPriorOffsets(checkCountsFor('classCounts', options.classCounts, logits.shape[1]), tau);
  return tf.tidy(() => tf.sub(logits, tf.tensor1d(offsets)));
}
