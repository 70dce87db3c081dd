import * as tf from '@tensorflow/tfjs';
import { checkOptions, type OptionKeys } from '../../core/options.js';
import { checkRange } from '../../core/validate.js';
import { checkClassification, type ValidateOption } from '../validation.js';
import { crossEntropyRows } from './common.js';

/** Options of {@link crossEntropy}. */
export interface CrossEntropyOptions extends ValidateOption {
  /**
   * Soft targets [N, C] (MixUp/CutMix); rows should sum to 1. When given, `labels` only serve validation
   * and may be `undefined`.
   */
  readonly targets?: tf.Tensor2D;
  /**
   * Label smoothing ε ∈ [0, 1): the target becomes (1 − ε)·q + ε/C (PyTorch semantics, also applied to
   * soft targets).
   * @defaultValue 0
   */
  readonly labelSmoothing?: number;
}

const CROSS_ENTROPY_KEYS: OptionKeys<CrossEntropyOptions> = { targets: true, labelSmoothing: true, validate: true, labelValues: true };

/**
 * Per-sample softmax cross-entropy, computed with log-sum-exp (no reduction).
 *
 * ℓ_i = −Σ_j q_ij · log softmax(z_i)_j, with q = one-hot(y) or the soft `targets`, optionally smoothed.
 * A logit of −∞ masks its class: with q_ij = 0 it adds 0 (not 0·(−∞) = NaN) and gets a zero gradient,
 * as in PyTorch; with q_ij > 0 (its label, or any class under label smoothing) the loss is +∞, as in PyTorch.
 *
 * @param logits - float32 [N, C].
 * @param labels - int32 [N] in [0, C); may be `undefined` when `targets` are given.
 * @returns float32 [N], owned by the caller.
 * @throws LongTailError `MISSING_INPUT` (neither labels nor targets), `SHAPE_MISMATCH`, `DTYPE_MISMATCH` (float labels), `LABEL_OUT_OF_RANGE`, `INVALID_OPTION`.
 * @example
 * ```ts
 * const perSample = crossEntropy(logits, labels, { labelSmoothing: 0.1 }); // Tensor1D [N]
 * ```
 */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D | undefined, options: CrossEntropyOptions = {}): tf.Tensor1D {
  checkOptions('crossEntropy options', options, CROSS_ENTROPY_KEYS);
  const labelSmoothing = checkRange('labelSmoothing', options.labelSmoothing ?? 0, { min: 0, max: 1, maxExclusive: true });
  checkClassification(logits, labels, { targets: options.targets, validate: options.validate, labelValues: options.labelValues });
  return tf.tidy(() => crossEntropyRows(logits, labels, { targets: options.targets, labelSmoothing }));
}
