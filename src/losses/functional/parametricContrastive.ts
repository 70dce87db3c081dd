import * as tf from '@tensorflow/tfjs';
import { invalid } from '../../core/errors.js';
import { checkOptions, type OptionKeys } from '../../core/options.js';
import { checkNonNegative, checkPositive, checkRange, checkRank, checkSameSize } from '../../core/validate.js';
import { checkCountsFor, checkFloat32, checkTensor, type ValidateOption } from '../validation.js';
import { priorOf } from './common.js';
import { l2Normalize } from './supCon.js';
import { checkContrastBatch, viewMajor } from './contrastInputs.js';

/** PaCo's floor on the prior before the log (`torch.log(self.weight + 1e-9)` in the official code). */
export const PACO_PRIOR_EPSILON = 1e-9;
/** Added to PaCo's denominator before the log (`exp_logits.sum(1) + 1e-12` in the official code). */
const DENOMINATOR_EPSILON = 1e-12;

/** Options of {@link parametricContrastive}. */
export interface ParametricContrastiveOptions extends ValidateOption {
  /** int32 [N]. */
  readonly labels: tf.Tensor1D;
  /**
   * The classifier's logits [N, C] for the anchors: their similarities to the C parametric class centres
   * (PaCo's `sup_logits`). Gradients flow into them.
   */
  readonly logits: tf.Tensor2D;
  /** Temperature T > 0 of the sample–sample similarities (`--moco-t`). @defaultValue 0.2 */
  readonly temperature?: number;
  /** The loss is scaled by T / T_base. @defaultValue the temperature */
  readonly baseTemperature?: number;
  /** α ≥ 0, the weight of the sample–sample positives. @defaultValue 0.05 (the ImageNet-LT scripts) */
  readonly alpha?: number;
  /** β > 0, the weight of the centre positive. @defaultValue 1 */
  readonly beta?: number;
  /** γ ≥ 0, the weight of the samples in the denominator (the centres weigh 1). @defaultValue 1 */
  readonly gamma?: number;
  /** The centre logits are divided by it (PaCo's `supt`). @defaultValue 1 */
  readonly logitTemperature?: number;
  /**
   * When given, the centre logits are logit-adjusted: z + log(π + 1e-9), π = counts / Σ counts (PaCo/LT's
   * and GPaCo's `sup_logits + log(weight + 1e-9)`). Length C.
   */
  readonly classCounts?: ArrayLike<number> | undefined;
  /**
   * GPaCo's `smooth` ε ∈ [0, 1): the centre target is 1 − ε on the label and ε/(C − 1) on the other
   * classes. @defaultValue 0
   */
  readonly labelSmoothing?: number;
  /** L2-normalize the features first (the official model returns them normalized). @defaultValue true */
  readonly normalize?: boolean;
}

const PACO_KEYS: OptionKeys<ParametricContrastiveOptions> = {
  labels: true,
  labelValues: true,
  logits: true,
  temperature: true,
  baseTemperature: true,
  alpha: true,
  beta: true,
  gamma: true,
  logitTemperature: true,
  classCounts: true,
  labelSmoothing: true,
  normalize: true,
  validate: true,
};

/** A copy of x that backpropagates nothing (PyTorch's `.detach()`; tfjs has no stopGradient op). */
function detached<T extends tf.Tensor>(x: T): T {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: tf.clone(args[0] as tf.Tensor),
    gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
  }));
  return f(x) as T;
}

/**
 * Per-anchor parametric contrastive loss (Cui et al., "Parametric Contrastive Learning", ICCV 2021;
 * official dvlab-research/Parametric-Contrastive-Learning `PaCo/LT/losses.py` `PaCoLoss`, without the
 * MoCo queue), and GPaCo's (`GPaCo/LT/losses.py`, one view).
 *
 * Features [N, V, d] or [N, d] are stacked view-major into a contrast set of N·V entries; the anchors are
 * view 0 (PaCo's queries q; its keys k are the other views). For anchor a, the row of logits is
 * [c_a1, …, c_aC, s_a1, …, s_a(NV)] with c = (z + log(π + 1e-9)) / supt the centre logits (the adjustment
 * only when `classCounts` are given) and s = f_a·f_b / T. With the positives weights w (β·q_c on the centres,
 * q the one-hot label, smoothed by ε; α on every other entry of the same class) and the denominator weights
 * (1 on the centres, γ on every entry but the anchor itself):
 *   ℓ_a = −(T/T_base) · Σ_j w_aj (l_aj − m_a − log(Σ_k D_ak exp(l_ak − m_a) + 1e-12)) / Σ_j w_aj,
 * with m_a the row's maximum over all entries (self included), held constant for backpropagation, as the
 * official code (its 1e-12 makes the value depend on m_a, so it is reproduced exactly). The official loss
 * is `mean(values)`.
 *
 * Not reproduced: the MoCo queue and momentum key encoder (the keys here are the other views, and
 * gradients flow into them).
 *
 * @param features - float32 [N, V, d] or [N, d].
 * @returns float32 [N], one value per sample (its view-0 anchor), owned by the caller.
 * @throws LongTailError `INVALID_OPTION`, `UNKNOWN_OPTION`, `SHAPE_MISMATCH`, `DTYPE_MISMATCH`, `LABEL_OUT_OF_RANGE`.
 * @example
 * ```ts
 * // PaCoLoss(alpha=0.05, temperature=0.2, K=0, num_classes=C) after cal_weight_for_classes(counts):
 * const values = parametricContrastive(projections, { labels, logits, alpha: 0.05, temperature: 0.2, classCounts: counts });
 * const loss = tf.mean(values);
 * ```
 */
export function parametricContrastive(features: tf.Tensor2D | tf.Tensor3D, options: ParametricContrastiveOptions): tf.Tensor1D {
  checkOptions('parametricContrastive options', options, PACO_KEYS);
  const temperature = checkPositive('temperature', options.temperature ?? 0.2);
  const baseTemperature = checkPositive('baseTemperature', options.baseTemperature ?? temperature);
  const alpha = checkNonNegative('alpha', options.alpha ?? 0.05);
  const beta = checkPositive('beta', options.beta ?? 1);
  const gamma = checkNonNegative('gamma', options.gamma ?? 1);
  const supt = checkPositive('logitTemperature', options.logitTemperature ?? 1);
  const smoothing = checkRange('labelSmoothing', options.labelSmoothing ?? 0, { min: 0, max: 1, maxExclusive: true });
  const logits = options.logits;
  checkTensor('logits', logits);
  checkRank('logits', logits.shape, 2);
  checkFloat32('logits', logits);
  const numClasses = logits.shape[1];
  if (smoothing > 0 && numClasses < 2) throw invalid('INVALID_OPTION', 'labelSmoothing 0 with a single class (ε/(C − 1) is undefined)', 'labelSmoothing', smoothing);
  const counts = options.classCounts === undefined ? undefined : checkCountsFor('classCounts', options.classCounts, numClasses);
  const offsets = counts === undefined ? null : priorOffsets(counts);
  checkTensor('features', features);
  const batch = checkContrastBatch(features, options.labels, { labelValues: options.labelValues, validate: options.validate, numClasses });
  checkSameSize('logits.shape[0] equal to features.shape[0]', batch.n, 'logits.shape[0]', logits.shape[0]);
  const { positive, denominator } = pacoMasks(batch.labelValues, batch.views, numClasses, { alpha, beta, gamma, smoothing });
  const n = batch.n;
  const width = numClasses + n * batch.views;
  const normalize = options.normalize ?? true;
  return tf.tidy(() => {
    const f = normalize ? l2Normalize(features) : features;
    const contrast = viewMajor(f, batch);
    const anchors = batch.views === 1 ? contrast : (tf.slice(contrast, [0, 0], [n, batch.dim]) as tf.Tensor2D);
    const sim = tf.matMul(tf.mul(anchors, 1 / temperature), tf.transpose(contrast));
    const centre = tf.div(offsets === null ? logits : tf.add(logits, tf.tensor1d(offsets)), supt);
    const all = tf.concat([centre, sim], 1) as tf.Tensor2D;
    const rowMax = detached(tf.max(all, 1, true));
    const shifted = tf.sub(all, rowMax);
    const z = tf.sum(tf.mul(tf.exp(shifted), tf.tensor2d(denominator, [n, width])), 1, true);
    const logZ = tf.log(tf.add(z, DENOMINATOR_EPSILON));
    const meanLogProb = tf.sub(tf.sum(tf.mul(shifted, tf.tensor2d(positive, [n, width])), 1, true), logZ);
    return tf.reshape(tf.mul(meanLogProb, -temperature / baseTemperature), [n]) as tf.Tensor1D;
  });
}

/** log(π_c + 1e-9) per class, in float64 then float32. */
function priorOffsets(counts: Float64Array): Float32Array {
  const prior = priorOf(counts);
  return Float32Array.from(prior, (p) => Math.log(p + PACO_PRIOR_EPSILON));
}

/**
 * Host masks of width C + N·V for the N view-0 anchors: positive weights normalized to sum 1 per row
 * (β·q on the centres, α on same-class entries other than the anchor), denominator weights (1 on the
 * centres, γ on the entries other than the anchor).
 */
function pacoMasks(
  labels: Int32Array,
  views: number,
  numClasses: number,
  w: { readonly alpha: number; readonly beta: number; readonly gamma: number; readonly smoothing: number },
): { positive: Float32Array; denominator: Float32Array } {
  const n = labels.length;
  const width = numClasses + n * views;
  const positive = new Float32Array(n * width);
  const denominator = new Float32Array(n * width);
  const off = numClasses > 1 ? w.smoothing / (numClasses - 1) : 0;
  for (let a = 0; a < n; a++) {
    const y = labels[a] as number;
    const row = a * width;
    const raw = new Float64Array(width);
    for (let c = 0; c < numClasses; c++) {
      raw[c] = w.beta * (c === y ? 1 - w.smoothing : off);
      denominator[row + c] = 1;
    }
    for (let v = 0; v < views; v++) {
      for (let b = 0; b < n; b++) {
        const col = numClasses + v * n + b;
        if (v === 0 && b === a) continue;
        denominator[row + col] = w.gamma;
        if (labels[b] === y) raw[col] = w.alpha;
      }
    }
    let total = 0;
    for (let j = 0; j < width; j++) total += raw[j] as number;
    for (let j = 0; j < width; j++) positive[row + j] = (raw[j] as number) / total;
  }
  return { positive, denominator };
}
