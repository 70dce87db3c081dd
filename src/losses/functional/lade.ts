import * as tf from '@tensorflow/tfjs';
import { invalid } from '../../core/errors.js';
import { checkOptions, type OptionKeys } from '../../core/options.js';
import { checkNonNegative, checkOneOf, checkRank } from '../../core/validate.js';
import { checkClassification, checkCountsFor, checkFloat32, checkTensor, type ValidateOption } from '../validation.js';
import { logPriorOffsets, priorOf } from './common.js';

/** The prior floor of the official LADE code (`torch.log(prior + 1e-9)`), kept for the regulariser. */
const LADE_PRIOR_EPSILON = 1e-9;
/** The official guard on the per-class batch count (`num_samples_per_cls + 1e-8`). */
const LADE_COUNT_EPSILON = 1e-8;

/** Options of {@link ladeLowerBounds}. */
export interface LadeLowerBoundOptions extends ValidateOption {
  /** Training count per class (length C): the prior p_s = n / Σn. Zero entries are allowed. */
  readonly classCounts: ArrayLike<number>;
  /**
   * λ of the ReMINE regulariser (Choi & Lee 2020) on the second term, the official `remine_lambda`.
   * 0 gives the plain Donsker–Varadhan (MINE) bound.
   * @defaultValue 0.1
   */
  readonly remineLambda?: number;
}

const LADE_BOUND_KEYS: OptionKeys<LadeLowerBoundOptions> = { classCounts: true, remineLambda: true, validate: true, labelValues: true };

/**
 * Per-class LADE lower bounds (Hong et al., "Disentangling Label Distribution for Long-tailed Visual
 * Recognition", CVPR 2021; official `hyperconnect/LADE` `loss/LADELoss.py`): for each class c, the
 * ReMINE-regularised Donsker–Varadhan estimate of log p_u(x|c)/p_u(x) on the batch,
 *
 *   b_c = (1/(n_c + 1e-8)) Σ_{i: y_i = c} f_c(x_i) − L_c − λ·L_c²,
 *   L_c = log( (1/N) Σ_i exp(f_c(x_i) − log(p_s(c) + 1e-9) + log(1/C + 1e-9)) ),
 *
 * with n_c the number of batch samples of class c and N the batch size. A class absent from the batch
 * has a first term of 0 and still its L_c, as in the official code. The LADER regulariser is
 * −Σ_c p_s(c)·b_c (see {@link ladeLoss}). It is a batch statistic, so there is no per-sample form.
 *
 * @param logits - float32 [N, C], N ≥ 1.
 * @param labels - int32 [N].
 * @returns float32 [C], owned by the caller.
 * @throws LongTailError `INVALID_OPTION` (negative λ, bad counts), `SHAPE_MISMATCH` (empty batch, counts
 *   length), `DTYPE_MISMATCH`, `LABEL_OUT_OF_RANGE`.
 * @example
 * ```ts
 * const b = ladeLowerBounds(logits, labels, { classCounts: [500, 50, 5], remineLambda: 0.1 }); // [3]
 * ```
 */
export function ladeLowerBounds(logits: tf.Tensor2D, labels: tf.Tensor1D, options: LadeLowerBoundOptions): tf.Tensor1D {
  checkOptions('ladeLowerBounds options', options, LADE_BOUND_KEYS);
  const lambda = checkNonNegative('remineLambda', options.remineLambda ?? 0.1);
  const { n, numClasses } = checkClassification(logits, labels, { validate: options.validate, labelValues: options.labelValues });
  if (n < 1) throw invalid('SHAPE_MISMATCH', 'a batch of at least one sample (the bound averages over the batch)', 'logits.shape[0]', n);
  const offsets = ladeSpreadOffsets(checkCountsFor('classCounts', options.classCounts, numClasses));
  return tf.tidy(() => {
    const mask = tf.oneHot(labels, numClasses).asType('float32') as tf.Tensor2D;
    const perClass = tf.sum(mask, 0);
    const first = tf.div(tf.sum(tf.mul(logits, mask), 0), tf.add(perClass, LADE_COUNT_EPSILON));
    const second = tf.sub(tf.logSumExp(tf.add(logits, tf.tensor1d(offsets)), 0), Math.log(n));
    return tf.sub(tf.sub(first, second), tf.mul(tf.square(second), lambda)) as tf.Tensor1D;
  });
}

/** −log(p_s(c) + 1e-9) + log(1/C + 1e-9) per class, in float64, stored as float32 (official constants). */
function ladeSpreadOffsets(counts: ArrayLike<number>): Float32Array {
  const prior = priorOf(counts);
  const balanced = Math.log(1 / prior.length + LADE_PRIOR_EPSILON);
  return Float32Array.from(prior, (p) => balanced - Math.log(p + LADE_PRIOR_EPSILON));
}

/** Where the logits given to {@link pcSoftmaxLogits} come from. */
export type PcSoftmaxSource = 'softmax' | 'lade';

/** Options of {@link pcSoftmaxLogits}. */
export interface PcSoftmaxOptions {
  /**
   * `'softmax'`: a model trained with plain cross-entropy, whose logits carry the training prior (needs
   * `trainCounts`). `'lade'`: a model trained with the LADE loss (or PriorCE / balanced softmax), whose
   * logits already exclude it (no `trainCounts`).
   */
  readonly source: PcSoftmaxSource;
  /** Training count per class (length C); only with `source: 'softmax'`. */
  readonly trainCounts?: ArrayLike<number>;
  /** Count (or any unnormalized mass) per class of the target distribution. @defaultValue uniform */
  readonly targetCounts?: ArrayLike<number>;
}

const PC_SOFTMAX_KEYS: OptionKeys<PcSoftmaxOptions> = { source: true, trainCounts: true, targetCounts: true };
const SOURCES: readonly PcSoftmaxSource[] = ['softmax', 'lade'];

/**
 * LADE's prior-adjusted inference (PC softmax, Hong et al. 2021 §3.2; official `run_networks.py` eval):
 * moves logits from the training label distribution p_s to a target p_t,
 *
 *   z' = z − log(p_s + 1e-12) + log(p_t + 1e-12)   (source 'softmax'),
 *   z' = z + log(p_t + 1e-12)                       (source 'lade': the model learnt z without p_s),
 *
 * with p_t uniform by default. With a uniform target, the 'softmax' form differs from
 * {@link postHocAdjust} at τ = 1 by the constant log(1/C) per row: same softmax, same argmax.
 *
 * @param logits - float32 [N, C].
 * @returns float32 [N, C], owned by the caller.
 * @throws LongTailError `INVALID_OPTION` (unknown source, `trainCounts` missing for 'softmax' or given
 *   for 'lade', bad counts), `SHAPE_MISMATCH`, `DTYPE_MISMATCH`.
 * @example
 * ```ts
 * const pred = tf.argMax(pcSoftmaxLogits(logits, { source: 'lade', targetCounts: testCounts }), 1);
 * ```
 */
export function pcSoftmaxLogits(logits: tf.Tensor2D, options: PcSoftmaxOptions): tf.Tensor2D {
  checkOptions('pcSoftmaxLogits options', options, PC_SOFTMAX_KEYS);
  const source = checkOneOf('source', options.source, SOURCES);
  if (source === 'softmax' && options.trainCounts === undefined) {
    throw invalid('INVALID_OPTION', "trainCounts with source 'softmax' (its logits carry the training prior)", 'trainCounts', undefined);
  }
  if (source === 'lade' && options.trainCounts !== undefined) {
    throw invalid('INVALID_OPTION', "no trainCounts with source 'lade' (its logits already exclude the training prior)", 'trainCounts', options.trainCounts);
  }
  checkTensor('logits', logits);
  checkRank('logits', logits.shape, 2);
  checkFloat32('logits', logits);
  const numClasses = logits.shape[1];
  const target = options.targetCounts === undefined ? new Float64Array(numClasses).fill(1) : checkCountsFor('targetCounts', options.targetCounts, numClasses);
  const shift = logPriorOffsets(target, 1, 'targetCounts');
  if (options.trainCounts !== undefined) {
    const train = logPriorOffsets(checkCountsFor('trainCounts', options.trainCounts, numClasses), 1, 'trainCounts');
    for (let j = 0; j < numClasses; j++) shift[j] = (shift[j] as number) - (train[j] as number);
  }
  return tf.tidy(() => tf.add(logits, tf.tensor1d(shift)));
}
