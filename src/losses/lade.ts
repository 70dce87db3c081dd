/** The LADE loss object (Hong et al., CVPR 2021): prior-adjusted CE plus the LADER regulariser. */
import * as tf from '@tensorflow/tfjs';
import { checkOptions } from '../core/options.js';
import { checkClassCounts, checkNonNegative } from '../core/validate.js';
import type { LossObjectOptions } from './classification.js';
import { defineLoss } from './define.js';
import { priorOf } from './functional/common.js';
import { ladeLowerBounds } from './functional/lade.js';
import { logitAdjustedCrossEntropy } from './functional/logitAdjusted.js';
import { LADE_LOSS_KEYS } from './option-keys.js';
import type { Loss } from './types.js';
import { requireLabels, resolveCounts } from './validation.js';

/** Options of {@link ladeLoss}. */
export interface LadeLossOptions extends LossObjectOptions {
  /** Training count per class; default `ctx.classCounts` at each call. */
  readonly classCounts?: ArrayLike<number>;
  /** α, the weight of the LADER regulariser (the official configs' `RouteWeightLoss` weight). @defaultValue 0.1 */
  readonly alpha?: number;
  /** λ of the ReMINE regulariser inside LADER (official `remine_lambda`). @defaultValue 0.1 */
  readonly remineLambda?: number;
}

/**
 * LADE loss object (Hong et al., "Disentangling Label Distribution for Long-tailed Visual Recognition",
 * CVPR 2021; official `hyperconnect/LADE`), with two terms on the same logits f:
 *
 * - `priorCE`: per sample CE(f + log p_s, y), the official `PriorCELoss` ("LADE-CE"), reduced by the
 *   loss's reducer (default mean). This is {@link balancedSoftmaxCrossEntropy}: p_s = n / Σn, floored
 *   at 1e-12 (official: 1e-9; it matters only for zero-count classes, by less than float32 resolution);
 * - `lade`: α · LADER = α · (−Σ_c p_s(c) · b_c), with b_c the per-class ReMINE-regularised
 *   Donsker–Varadhan bounds of {@link ladeLowerBounds} (official `LADELoss`). A batch statistic, so a
 *   `reduced` term: the reducer does not apply to it.
 *
 * With α = 0 the loss is the balanced softmax / logit-adjusted (τ = 1) cross-entropy. Predict with
 * {@link pcSoftmaxLogits} `{ source: 'lade' }` (argmax of f itself for a uniform target).
 *
 * @example
 * ```ts
 * const loss = ladeLoss({ classCounts, alpha: 0.1, remineLambda: 0.1 });
 * const { total, terms } = evaluateLoss(loss, { logits, labels }); // terms.priorCE, terms.lade
 * ```
 */
export function ladeLoss(options: LadeLossOptions = {}): Loss<'logits'> {
  checkOptions('ladeLoss options', options, LADE_LOSS_KEYS);
  const alpha = checkNonNegative('alpha', options.alpha ?? 0.1);
  const remineLambda = checkNonNegative('remineLambda', options.remineLambda ?? 0.1);
  const validate = options.validate ?? true;
  const counts = options.classCounts === undefined ? undefined : checkClassCounts('classCounts', options.classCounts);
  return defineLoss({
    kind: 'lade',
    config: { alpha, remineLambda, validate, ...(counts === undefined ? {} : { classCounts: Array.from(counts) }) },
    requires: ['logits'],
    ...(options.reducer === undefined ? {} : { reducer: options.reducer }),
    ...(counts === undefined ? {} : { classCounts: counts }),
    terms: ({ logits, labels, labelValues, ctx }) => {
      const y = requireLabels(labels, 'ladeLoss');
      const classCounts = resolveCounts(counts, ctx, 'lade');
      const host = labelValues === undefined ? {} : { labelValues };
      const priorCE = logitAdjustedCrossEntropy(logits, y, { classCounts, tau: 1, validate, ...host });
      const bounds = ladeLowerBounds(logits, y, { classCounts, remineLambda, validate: false, ...host });
      const weights = Float32Array.from(priorOf(classCounts));
      const lade = tf.mul(tf.neg(tf.sum(tf.mul(bounds, tf.tensor1d(weights)))), alpha) as tf.Scalar;
      return { priorCE: { kind: 'perSample', values: priorCE }, lade: { kind: 'reduced', value: lade } };
    },
  });
}
