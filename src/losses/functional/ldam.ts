import * as tf from '@tensorflow/tfjs';
import { invalid } from '../../core/errors.js';
import { checkOptions, type OptionKeys } from '../../core/options.js';
import { checkPositive } from '../../core/validate.js';
import { checkClassification, checkCountsFor, type ValidateOption } from '../validation.js';
import { crossEntropyRows } from './common.js';

/** Options of {@link ldamMargins}. */
export interface LdamMarginOptions {
  /** Largest margin after scaling. @defaultValue 0.5 */
  readonly maxMargin?: number;
}

const MARGIN_KEYS: OptionKeys<LdamMarginOptions> = { maxMargin: true };

/**
 * LDAM margins m_j = C / n_j^{1/4}, with C chosen so the largest margin equals `maxMargin` (Cao et al.,
 * "Learning Imbalanced Datasets with Label-Distribution-Aware Margin Loss", NeurIPS 2019; official code
 * kaidic/LDAM-DRW). A zero-count class gets `maxMargin` (it is at least as rare as the rarest seen
 * class) instead of an infinite margin.
 *
 * @throws LongTailError `INVALID_OPTION` when every count is zero or maxMargin ≤ 0.
 */
export function ldamMargins(classCounts: ArrayLike<number>, options: LdamMarginOptions = {}): Float64Array {
  checkOptions('ldamMargins options', options, MARGIN_KEYS);
  const maxMargin = checkPositive('maxMargin', options.maxMargin ?? 0.5);
  const raw = new Float64Array(classCounts.length);
  let largest = 0;
  for (let j = 0; j < classCounts.length; j++) {
    const n = classCounts[j] as number;
    const m = n > 0 ? 1 / Math.sqrt(Math.sqrt(n)) : 0;
    raw[j] = m;
    if (m > largest) largest = m;
  }
  if (!(largest > 0)) throw invalid('INVALID_OPTION', 'classCounts with at least one count > 0', 'classCounts', classCounts);
  const out = new Float64Array(raw.length);
  for (let j = 0; j < raw.length; j++) out[j] = (classCounts[j] as number) > 0 ? ((raw[j] as number) * maxMargin) / largest : maxMargin;
  return out;
}

/** Options of {@link ldamCrossEntropy}. */
export interface LdamOptions extends ValidateOption, LdamMarginOptions {
  /** Training count per class (length C). */
  readonly classCounts: ArrayLike<number>;
  /** Logit scale s (the official code uses 30 with a cosine head). @defaultValue 30 */
  readonly scale?: number;
}

const LDAM_KEYS: OptionKeys<LdamOptions> = { classCounts: true, maxMargin: true, scale: true, validate: true, labelValues: true };

/**
 * Per-sample LDAM loss: ℓ_i = CE(s · (z_i − m_{y_i} · e_{y_i}), y_i): the true-class logit loses its
 * margin, then all logits are scaled by s. Pair it with the DRW schedule through
 * `classWeighted({ beta: 0.9999, startEpoch })` as the reducer.
 *
 * @returns float32 [N], owned by the caller.
 * @example
 * ```ts
 * const l = ldamCrossEntropy(cosineLogits, labels, { classCounts, maxMargin: 0.5, scale: 30 });
 * ```
 */
export function ldamCrossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D, options: LdamOptions): tf.Tensor1D {
  checkOptions('ldamCrossEntropy options', options, LDAM_KEYS);
  const scale = checkPositive('scale', options.scale ?? 30);
  const { numClasses } = checkClassification(logits, labels, { validate: options.validate, labelValues: options.labelValues });
  const margins = ldamMargins(checkCountsFor('classCounts', options.classCounts, numClasses), options.maxMargin === undefined ? {} : { maxMargin: options.maxMargin });
  return tf.tidy(() => {
    const oneHot = tf.oneHot(labels, numClasses).asType('float32');
    const shifted = tf.sub(logits, tf.mul(oneHot, tf.tensor1d(Float32Array.from(margins))));
    return crossEntropyRows(tf.mul(shifted, scale) as tf.Tensor2D, labels, {});
  });
}
