import * as tf from '@tensorflow/tfjs';
import { checkOptions, type OptionKeys } from '../../core/options.js';
import { checkPositive, checkRank, checkSameSize } from '../../core/validate.js';
import { checkFloat32, checkTensor, type ValidateOption } from '../validation.js';
import { l2Normalize } from './supCon.js';
import { checkContrastBatch, viewMajor } from './contrastInputs.js';

/** Options of {@link balancedContrastive}. */
export interface BalancedContrastiveOptions extends ValidateOption {
  /** int32 [N]. */
  readonly labels: tf.Tensor1D;
  /**
   * Class centres float32 [C, d] (the class-complement): row c is class c's prototype, a positive of the
   * anchors of class c and in every anchor's denominator. Gradients flow into them. Labels must be < C.
   * Omitted: no class-complement (the paper's "class-averaging only" ablation).
   */
  readonly centres?: tf.Tensor2D | undefined;
  /** Temperature T > 0. @defaultValue 0.1 (BalSCL's default) */
  readonly temperature?: number;
  /**
   * Divide each class's share of the denominator by its number of entries (the class-averaging).
   * `false` with no centres is SupCon. @defaultValue true
   */
  readonly classAveraging?: boolean;
  /** L2-normalize features and centres first (the official model returns both normalized). @defaultValue true */
  readonly normalize?: boolean;
}

const BCL_KEYS: OptionKeys<BalancedContrastiveOptions> = {
  labels: true,
  labelValues: true,
  centres: true,
  temperature: true,
  classAveraging: true,
  normalize: true,
  validate: true,
};

/** Per-anchor output, both tensors owned by the caller. */
export interface BalancedContrastiveOutput {
  /** float32 [N·V], view-major (anchor v·N + i is view v of sample i); 0 for an anchor without a positive. */
  readonly values: tf.Tensor1D;
  /** float32 [N·V]: 1 where the anchor has a positive (always, with centres), else 0. */
  readonly weights: tf.Tensor1D;
}

interface BclMasks {
  /** M × W: 1/|P(a)| on the positives of anchor a. */
  readonly positive: Float32Array;
  /** M × W: the denominator weight of entry b for anchor a (0 on the anchor itself). */
  readonly denominator: Float32Array;
  /** M × W: 1 on the anchor itself. */
  readonly self: Uint8Array;
  /** M: 1 where the anchor has a positive. */
  readonly hasPositive: Float32Array;
}

/**
 * Host masks from the entry ids: the M anchors (view-major) then the K centres (id = class).
 * Class-averaged denominator weight, as BalSCL's `per_ins_weight`: 1 / (count(y_b) − [y_b = y_a]) for
 * b ≠ a, where count(c) is the number of entries of class c (anchors and centre) — the anchor's own class
 * is counted without the anchor.
 */
function bclMasks(ids: Int32Array, m: number, classAveraging: boolean): BclMasks {
  const width = ids.length;
  let maxId = 0;
  for (let b = 0; b < width; b++) maxId = Math.max(maxId, ids[b] as number);
  const count = new Float64Array(maxId + 1);
  for (let b = 0; b < width; b++) count[ids[b] as number] = (count[ids[b] as number] as number) + 1;
  const positive = new Float32Array(m * width);
  const denominator = new Float32Array(m * width);
  const self = new Uint8Array(m * width);
  const hasPositive = new Float32Array(m);
  for (let a = 0; a < m; a++) {
    const id = ids[a] as number;
    const row = a * width;
    self[row + a] = 1;
    const others = (count[id] as number) - 1;
    for (let b = 0; b < width; b++) {
      if (b === a) continue;
      const same = ids[b] === id;
      denominator[row + b] = classAveraging ? 1 / (same ? others : (count[ids[b] as number] as number)) : 1;
      if (same) positive[row + b] = 1 / others;
    }
    if (others > 0) hasPositive[a] = 1;
  }
  return { positive, denominator, self, hasPositive };
}

/**
 * Per-anchor balanced supervised contrastive loss (Zhu et al., "Balanced Contrastive Learning for
 * Long-Tailed Visual Recognition", CVPR 2022; official FlamieZhu/Balanced-Contrastive-Learning
 * `loss/contrastive.py` `BalSCL`).
 *
 * Features [N, V, d] (or [N, d]) are stacked view-major into M = N·V anchors; the contrast set is the
 * anchors followed by the C class centres (class-complement). With s_ab = z_a·z_b / T and B_c the entries
 * of class c other than the anchor a (anchors and centre):
 *   ℓ_a = −(1/|B_{y_a}|) Σ_{p∈B_{y_a}} log( exp(s_ap) / Σ_c (1/|B_c|) Σ_{k∈B_c} exp(s_ak) ),
 * the class-averaged denominator giving every class present in the batch (or through its centre) the
 * same weight. `classAveraging: false` replaces 1/|B_c| by 1 (SupCon with the centres as contrast-only
 * positives); with neither, this is SupCon at T_base = T. Anchors of a class with no other entry (no
 * centres, one view, a singleton class) get ℓ_a = 0 and weight 0.
 * BalSCL averages over all 2N anchors: `mean(values)`. Its loss has no base-temperature factor.
 *
 * @param features - float32 [N, V, d] or [N, d].
 * @returns `{ values, weights }`, float32 [N·V] each, owned by the caller.
 * @throws LongTailError `INVALID_OPTION`, `UNKNOWN_OPTION`, `SHAPE_MISMATCH`, `DTYPE_MISMATCH`,
 *   `LABEL_OUT_OF_RANGE` (a label ≥ C with centres).
 * @example
 * ```ts
 * const centres = learnableCentres({ numClasses: 10, dim: 128, rng: seededRng(0) });
 * const { values } = balancedContrastive(projections, { labels, centres, temperature: 0.07 });
 * const loss = tf.mean(values); // BalSCL(cls_num_list, 0.07)(centres, projections, labels)
 * ```
 */
export function balancedContrastive(features: tf.Tensor2D | tf.Tensor3D, options: BalancedContrastiveOptions): BalancedContrastiveOutput {
  checkOptions('balancedContrastive options', options, BCL_KEYS);
  const temperature = checkPositive('temperature', options.temperature ?? 0.1);
  const centres = options.centres;
  if (centres !== undefined) {
    checkTensor('centres', centres);
    checkRank('centres', centres.shape, 2);
    checkFloat32('centres', centres);
  }
  checkTensor('features', features);
  const batch = checkContrastBatch(features, options.labels, {
    labelValues: options.labelValues,
    validate: options.validate,
    numClasses: centres?.shape[0],
  });
  if (centres !== undefined) checkSameSize('centres.shape[1] equal to the feature size', batch.dim, 'centres.shape[1]', centres.shape[1]);
  const m = batch.n * batch.views;
  const k = centres === undefined ? 0 : centres.shape[0];
  const ids = new Int32Array(m + k);
  for (let v = 0; v < batch.views; v++) ids.set(batch.labelValues, v * batch.n);
  for (let c = 0; c < k; c++) ids[m + c] = c;
  const masks = bclMasks(ids, m, options.classAveraging ?? true);
  const normalize = options.normalize ?? true;
  return tf.tidy(() => {
    const f = normalize ? l2Normalize(features) : features;
    const anchors = viewMajor(f, batch);
    const extra = centres === undefined ? null : normalize ? l2Normalize(centres) : centres;
    const values = weightedContrast(anchors, extra, masks, temperature);
    return { values, weights: tf.tensor1d(masks.hasPositive) };
  });
}

/**
 * ℓ_a = h_a·(log Σ_b D_ab exp(s_ab) − Σ_b P̃_ab s_ab) with s = A·[A; P]ᵀ / T, computed stably: the row's
 * maximum over the non-self entries is subtracted before exp (its gradient cancels exactly, as
 * Σ_b P̃_ab = 1 where h_a = 1). BalSCL subtracts the maximum over all entries (self included); the values
 * agree wherever its float computation does not underflow. A row with no entry besides itself is 0.
 */
function weightedContrast(a: tf.Tensor2D, p: tf.Tensor2D | null, masks: BclMasks, temperature: number): tf.Tensor1D {
  const m = a.shape[0];
  const width = m + (p === null ? 0 : p.shape[0]);
  if (width === 1) return tf.mul(tf.sum(a, 1), 0) as tf.Tensor1D;
  const all = p === null ? a : tf.concat([a, p], 0);
  const sim = tf.matMul(tf.mul(a, 1 / temperature), tf.transpose(all)) as tf.Tensor2D;
  const self = tf.tensor2d(masks.self, [m, width], 'bool');
  const masked = tf.where(self, tf.fill([m, width], -Infinity), sim);
  const rowMax = tf.max(masked, 1, true);
  const e = tf.mul(tf.exp(tf.sub(masked, rowMax)), tf.tensor2d(masks.denominator, [m, width]));
  const lse = tf.add(tf.log(tf.sum(e, 1, true)), rowMax);
  const posDot = tf.sum(tf.mul(sim, tf.tensor2d(masks.positive, [m, width])), 1, true);
  return tf.reshape(tf.mul(tf.sub(lse, posDot), tf.tensor2d(masks.hasPositive, [m, 1])), [m]) as tf.Tensor1D;
}
