import * as tf from '@tensorflow/tfjs';
import { LongTailError } from '../../core/errors.js';
import { checkOptions, type OptionKeys } from '../../core/options.js';
import { fusedSupCon, fusedSupConAvailable } from '../../backends/supcon.js';
import { checkLabels, checkPositive, checkRank, checkSameSize } from '../../core/validate.js';
import { checkFloat32, checkInt32, checkTensor, type ValidateOption } from '../validation.js';

/** Contrast-only entries (e.g. class prototypes): they appear in every denominator but are never anchors. */
export interface ContrastSet {
  /** float32 [K, d]. */
  readonly features: tf.Tensor2D;
  /**
   * int32 [K]. An entry is a positive for the anchors with its label. Without labels the entries are
   * negatives only (SAU's `neg_only` synthetic samples).
   */
  readonly labels?: tf.Tensor1D;
}

/** Options of {@link supervisedContrastive}. */
export interface SupConOptions extends ValidateOption {
  /** int32 [N]. Omitted: SimCLR mode, where the positives of an anchor are the other views of its sample. */
  readonly labels?: tf.Tensor1D | undefined;
  /** Temperature T > 0. @defaultValue 0.07 */
  readonly temperature?: number;
  /**
   * Base temperature T_base > 0; the loss is scaled by T / T_base. SupContrast's pair is 0.07 / 0.07.
   * @defaultValue the temperature (scale 1, as pytorch-metric-learning's `SupConLoss`)
   */
  readonly baseTemperature?: number;
  /** Extra contrast-only entries. */
  readonly contrast?: ContrastSet;
  /** L2-normalize features (and contrast features) first. @defaultValue true */
  readonly normalize?: boolean;
}

/** Per-anchor SupCon output, both tensors owned by the caller. */
export interface SupConOutput {
  /** float32 [N·V]: per-anchor loss in view-major order (anchor v·N + i is view v of sample i); 0 without positives. */
  readonly values: tf.Tensor1D;
  /** float32 [N·V]: 1 for anchors with at least one positive, 0 otherwise (exclude them from the mean). */
  readonly weights: tf.Tensor1D;
}

const SUPCON_KEYS: OptionKeys<SupConOptions> = { labels: true, temperature: true, baseTemperature: true, contrast: true, normalize: true, validate: true, labelValues: true };
const CONTRAST_KEYS: OptionKeys<ContrastSet> = { features: true, labels: true };

/** Normalization floor on the squared norm (PyTorch F.normalize uses max(‖x‖, 1e-12)). */
const NORM_FLOOR_SQ = 1e-24;

/** L2-normalizes the last axis: x / sqrt(max(Σx², 1e-24)); a zero vector stays zero with zero gradient. */
export function l2Normalize<T extends tf.Tensor>(x: T): T {
  return tf.tidy(() => tf.mul(x, tf.rsqrt(tf.maximum(tf.sum(tf.square(x), -1, true), NORM_FLOOR_SQ))) as T);
}

interface Masks {
  /** M × (M+K): 1/n_a on the positives of anchor a (self excluded), 0 elsewhere. */
  readonly positive: Float32Array;
  /** M × (M+K): 1 on the diagonal (the anchor itself), 0 elsewhere. */
  readonly self: Uint8Array;
  /** M: −(T/T_base) where the anchor has a positive, 0 otherwise. */
  readonly coefficient: Float32Array;
  /** M: 1 where the anchor has a positive. */
  readonly hasPositive: Float32Array;
}

/** Builds the masks on the CPU from integer ids (anchor ids view-major; contrast id −1 = never positive). */
function buildMasks(ids: Int32Array, contrastIds: Int32Array, scale: number): Masks {
  const m = ids.length;
  const width = m + contrastIds.length;
  const positive = new Float32Array(m * width);
  const self = new Uint8Array(m * width);
  const coefficient = new Float32Array(m);
  const hasPositive = new Float32Array(m);
  for (let a = 0; a < m; a++) {
    const id = ids[a] as number;
    const row = a * width;
    let count = 0;
    for (let b = 0; b < m; b++) if (b !== a && ids[b] === id) count++;
    for (let k = 0; k < contrastIds.length; k++) if (contrastIds[k] === id) count++;
    self[row + a] = 1;
    if (count === 0) continue;
    const w = 1 / count;
    for (let b = 0; b < m; b++) if (b !== a && ids[b] === id) positive[row + b] = w;
    for (let k = 0; k < contrastIds.length; k++) if (contrastIds[k] === id) positive[row + m + k] = w;
    coefficient[a] = -scale;
    hasPositive[a] = 1;
  }
  return { positive, self, coefficient, hasPositive };
}

/** 1 for the anchors with at least one positive (another anchor, or a contrast entry, with the same id). */
function positiveFlags(ids: Int32Array, contrastIds: Int32Array): Float32Array {
  const counts = new Map<number, number>();
  for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  const inContrast = new Set<number>(contrastIds);
  return Float32Array.from(ids, (id) => ((counts.get(id) as number) > 1 || inContrast.has(id) ? 1 : 0));
}

/**
 * Per-anchor loss from normalized anchors A [M, d] and extra contrast entries P [K, d] (K may be 0),
 * with an analytic gradient. With S = A·[A; P]ᵀ / T, self masked out of the softmax:
 *   ℓ_a = −(T/T_base)·h_a·(Σ_b P̃_ab S_ab − logsumexp_{b≠a} S_ab),
 * where P̃ holds 1/n_a on the positives. The self entry is excluded exactly (set to −∞ before the
 * log-sum-exp, so exp gives 0 at any temperature), as SupContrast's multiplicative `logits_mask`.
 * The log-sum-exp subtracts the row's max over the non-self entries; SupContrast subtracts the max over
 * all entries, self included. Either constant cancels in log_prob (the values agree wherever the
 * official float computation does not underflow), and, as the gradient is written by hand below, it is a
 * constant for backpropagation, like SupContrast's `logits_max.detach()` (tfjs has no stopGradient op).
 * One forward matmul, one or two backward matmuls, no transposed-matmul kernels (slow on stock tfjs-wasm).
 * A row with no other entry (one anchor, no contrast set) has no positive: its loss is 0, gradient 0.
 */
function anchorLoss(a: tf.Tensor2D, p: tf.Tensor2D | null, masks: Masks, temperature: number): tf.Tensor1D {
  const m = a.shape[0];
  const k = p === null ? 0 : p.shape[0];
  const width = m + k;
  const positive = tf.tensor2d(masks.positive, [m, width]);
  const self = tf.tensor2d(masks.self, [m, width], 'bool');
  const coefficient = tf.tensor2d(masks.coefficient, [m, 1]);
  const invT = 1 / temperature;

  if (width === 1) return tf.mul(tf.sum(a, 1), 0) as tf.Tensor1D;
  const forward = (anchors: tf.Tensor2D, extra: tf.Tensor2D | null, save: tf.GradSaveFunc) => {
    const all = extra === null ? anchors : tf.concat([anchors, extra], 0);
    const sim = tf.matMul(tf.mul(anchors, invT), tf.transpose(all)) as tf.Tensor2D;
    const masked = tf.where(self, tf.fill([m, width], -Infinity), sim);
    const rowMax = tf.max(masked, 1, true);
    const e = tf.exp(tf.sub(masked, rowMax));
    const z = tf.sum(e, 1, true);
    const lse = tf.add(rowMax, tf.log(z));
    const posDot = tf.sum(tf.mul(sim, positive), 1, true);
    const value = tf.reshape(tf.mul(tf.sub(posDot, lse), coefficient), [m]) as tf.Tensor1D;
    // Saved tensors outlive the caller's tidy (the engine keeps clones); closure tensors would not.
    save([anchors, all, e, z, positive, coefficient]);
    return value;
  };
  const backward = (dy: tf.Tensor, saved: tf.Tensor[]) => {
    const [anchors, all, e, z, pos, coef] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
    const g = tf.mul(tf.reshape(dy, [m, 1]), tf.mul(coef, invT));
    const dSim = tf.mul(tf.sub(pos, tf.div(e, z)), g) as tf.Tensor2D;
    if (k === 0) return [tf.matMul(tf.add(dSim, tf.transpose(dSim)), anchors)];
    const dA = tf.slice(dSim, [0, 0], [m, m]);
    const dP = tf.slice(dSim, [0, m], [m, k]);
    const left = tf.concat([tf.add(dA, tf.transpose(dA)), dP], 1);
    return [tf.matMul(left, all), tf.matMul(tf.transpose(dP), anchors)];
  };

  // customGrad passes the inputs first and the save function last.
  const f = tf.customGrad<tf.Tensor1D>((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const value = forward(args[0] as tf.Tensor2D, k === 0 ? null : (args[1] as tf.Tensor2D), save);
    return { value, gradFunc: (dy: tf.Tensor1D, saved: tf.Tensor[]) => backward(dy, saved) };
  });
  return p === null ? f(a) : f(a, p);
}

/** Validated SupCon inputs: anchor ids (view-major) and contrast ids. */
interface SupConPlan {
  readonly n: number;
  readonly views: number;
  readonly ids: Int32Array;
  readonly contrastIds: Int32Array;
}

function planSupCon(features: tf.Tensor, options: SupConOptions): SupConPlan {
  checkTensor('features', features);
  checkRank('features', features.shape, [2, 3]);
  checkFloat32('features', features);
  const n = features.shape[0] as number;
  const views = features.shape.length === 3 ? (features.shape[1] as number) : 1;
  const dim = features.shape[features.shape.length - 1] as number;
  const ids = new Int32Array(n * views);
  const labels = options.labels;
  let labelValues: Int32Array | null = null;
  if (labels !== undefined) {
    checkTensor('labels', labels);
    checkRank('labels', labels.shape, 1);
    checkInt32('labels', labels);
    checkSameSize('labels.shape[0] equal to features.shape[0]', n, 'labels.shape[0]', labels.shape[0] as number);
    // The masks are built on the CPU, so label values are needed even with validate: false; the host copy
    // saves a read-back.
    if (options.labelValues !== undefined) {
      checkSameSize('labelValues.length equal to labels.shape[0]', n, 'labelValues.length', options.labelValues.length);
      labelValues = options.labelValues;
    } else {
      labelValues = labels.dataSync() as Int32Array;
    }
    if (options.validate !== false) checkLabels('labels', labelValues);
  }
  for (let v = 0; v < views; v++) for (let i = 0; i < n; i++) ids[v * n + i] = labelValues === null ? i : (labelValues[i] as number);
  let contrastIds = new Int32Array(0);
  const contrast = options.contrast;
  if (contrast !== undefined) {
    checkTensor('contrast.features', contrast.features);
    checkRank('contrast.features', contrast.features.shape, 2);
    checkFloat32('contrast.features', contrast.features);
    checkSameSize('contrast.features.shape[1] equal to the feature size', dim, 'contrast.features.shape[1]', contrast.features.shape[1]);
    const k = contrast.features.shape[0];
    contrastIds = new Int32Array(k).fill(-1);
    if (contrast.labels !== undefined) {
      if (labels === undefined) {
        throw new LongTailError(
          'INVALID_OPTION',
          'expected labels when contrast.labels are given (SimCLR mode has no classes). Received: labels=undefined',
          { name: 'labels' },
        );
      }
      checkTensor('contrast.labels', contrast.labels);
      checkRank('contrast.labels', contrast.labels.shape, 1);
      checkInt32('contrast.labels', contrast.labels);
      checkSameSize('contrast.labels.shape[0] equal to contrast.features.shape[0]', k, 'contrast.labels.shape[0]', contrast.labels.shape[0] as number);
      const values = contrast.labels.dataSync() as Int32Array;
      if (options.validate !== false) checkLabels('contrast.labels', values);
      contrastIds = Int32Array.from(values);
    }
  }
  return { n, views, ids, contrastIds };
}

/**
 * Per-anchor supervised contrastive loss (Khosla et al., "Supervised Contrastive Learning", NeurIPS
 * 2020; official code HobbitLong/SupContrast `SupConLoss`), and SimCLR's NT-Xent without labels.
 *
 * Features [N, V, d] (or [N, d] for one view) are L2-normalized and stacked view-major into M = N·V
 * anchors. For anchor a with positives P(a) (other anchors — and labelled contrast entries — with the
 * same label; the other views of the same sample in SimCLR mode):
 *   ℓ_a = −(T / T_base) · (1/|P(a)|) Σ_{p∈P(a)} log( exp(s_ap / T) / Σ_{b≠a} exp(s_ab / T) ),
 * the denominator running over all other anchors and the contrast set (the anchor itself is excluded
 * exactly, at any temperature). Anchors without a positive get ℓ_a = 0 and weight 0. SupContrast (since
 * its fix 72fd989) averages over all anchors, those counting 0: `mean(values)`; Σ w ℓ / Σ w instead
 * excludes them (0 — never NaN — when no anchor has a positive).
 *
 * On cpu and wasm the loss is one fused op (src/backends/supcon.ts: the products S = Â·[Â; P̂]ᵀ/T and
 * ∂L/∂[Â; P̂] = H·[Â; P̂] in tfjs, every other step a host pass, positives from the label ids); elsewhere
 * the tfjs-op composition. Both agree within 1e-6 of the values' and gradients' scale (1e-6·0.05/T below
 * T = 0.05, float32's limit there).
 *
 * @param features - float32 [N, V, d] or [N, d].
 * @returns `{ values, weights }`, float32 [N·V] each, owned by the caller.
 * @throws LongTailError `INVALID_OPTION` (temperature ≤ 0), `SHAPE_MISMATCH`, `DTYPE_MISMATCH`, `LABEL_OUT_OF_RANGE`.
 * @example
 * ```ts
 * const { values, weights } = supervisedContrastive(projections, { labels, temperature: 0.1 });
 * const loss = tf.div(tf.sum(tf.mul(values, weights)), tf.maximum(tf.sum(weights), 1));
 * ```
 */
export function supervisedContrastive(features: tf.Tensor2D | tf.Tensor3D, options: SupConOptions = {}): SupConOutput {
  checkOptions('supervisedContrastive options', options, SUPCON_KEYS);
  if (options.contrast !== undefined) checkOptions('supervisedContrastive options.contrast', options.contrast, CONTRAST_KEYS);
  const temperature = checkPositive('temperature', options.temperature ?? 0.07);
  const baseTemperature = checkPositive('baseTemperature', options.baseTemperature ?? temperature);
  const plan = planSupCon(features, options);
  const scale = temperature / baseTemperature;
  const width = plan.ids.length + plan.contrastIds.length;
  // The fused op (one host pass between two matMuls) where tensors live in host memory; the op
  // composition elsewhere (webgl, tfjs-node) and for the degenerate single-entry case.
  const fused = width >= 2 && fusedSupConAvailable();
  const masks = fused ? null : buildMasks(plan.ids, plan.contrastIds, scale);
  const hasPositive = masks === null ? positiveFlags(plan.ids, plan.contrastIds) : masks.hasPositive;
  const normalize = options.normalize ?? true;
  if (masks === null) {
    const fusedOptions = { ids: plan.ids, contrastIds: plan.contrastIds, temperature, scale, normalize };
    return tf.tidy(() => ({ values: fusedSupCon(features, options.contrast?.features ?? null, fusedOptions), weights: tf.tensor1d(hasPositive) }));
  }
  return tf.tidy(() => {
    const dim = features.shape[features.shape.length - 1] as number;
    const f = normalize ? l2Normalize(features) : features;
    // View-major: [N, V, d] → [V, N, d] → [N·V, d].
    const anchors = (plan.views === 1 ? tf.reshape(f, [plan.n, dim]) : tf.reshape(tf.transpose(f, [1, 0, 2]), [plan.n * plan.views, dim])) as tf.Tensor2D;
    const extraRaw = options.contrast?.features;
    const extra = extraRaw === undefined ? null : normalize ? l2Normalize(extraRaw) : extraRaw;
    return { values: anchorLoss(anchors, extra, masks, temperature), weights: tf.tensor1d(hasPositive) };
  });
}

/** Anchor labels in view-major order: `labels` tiled V times (int32 [N·V]), owned by the caller. */
export function viewMajorLabels(labels: tf.Tensor1D, views: number): tf.Tensor1D {
  return tf.tidy(() => (views === 1 ? tf.clone(labels) : tf.tile(labels, [views])) as tf.Tensor1D);
}
