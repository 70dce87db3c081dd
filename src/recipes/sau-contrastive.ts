/**
 * SAU's synthetic-aware branch (Li, Song, Zheng, "SAU: A Dual-Branch Network to Enhance Long-Tailed
 * Recognition via Generative Models", ICONIP 2024; official code lgX1123/gm4lt, `loss/ContrastiveLoss.py`
 * `SCL`): label correction of synthetic samples
 * by their nearest real neighbour, and the supervised contrastive loss over real samples, class
 * prototypes and the synthetic samples, with three ways of treating the noisy ones.
 */
import * as tf from '@tensorflow/tfjs';
import { invalid, LongTailError } from '../core/errors.js';
import { checkOptions, type OptionKeys } from '../core/options.js';
import { checkLabels, checkOneOf, checkPositive, checkRank, checkSameSize } from '../core/validate.js';
import type { NoPositivePolicy } from '../losses/contrastive.js';
import { defineLoss } from '../losses/define.js';
import { supervisedContrastive } from '../losses/functional/supCon.js';
import { weightedMean } from '../losses/reducers/basic.js';
import type { Loss, LossObjectOptions, LossTerm } from '../losses/index.js';
import { checkFloat32, checkInt32, checkTensor } from '../losses/validation.js';

/**
 * What happens to a synthetic sample whose label the nearest-neighbour check rejects (SAU's
 * `--loss_strategy`):
 * - `'drop'` (SAU's default): it leaves the contrastive loss entirely.
 * - `'posNeg'` (`pos_neg`): it stays, with a label of its own, so its only positives are its other views
 *   and it is a negative for every other anchor.
 * - `'negOnly'` (`neg_only`): it stays as a negative in every other anchor's denominator, but is not an
 *   anchor itself (its loss is left out of the mean).
 */
export type NoisyStrategy = 'drop' | 'posNeg' | 'negOnly';

/** The noisy-sample strategies, in documentation order. */
export const NOISY_STRATEGIES: readonly NoisyStrategy[] = ['drop', 'posNeg', 'negOnly'];

/**
 * Nearest-neighbour measure of the label correction. `'cosine'` ranks by a·b / (‖a‖‖b‖), as the paper
 * and the official code do (gm4lt `SCL.relabel` normalises both sides and takes the argmax of the dot
 * products); `'euclidean'` by ‖a − b‖. They agree on unit vectors and differ only through the
 * prototypes, which are means of unit vectors (shorter than 1).
 */
export type NeighborMetric = 'cosine' | 'euclidean';

/** Input of {@link correctSyntheticLabels}: points per view as row-major typed arrays. */
export interface LabelCorrectionInput {
  /** Feature width d. */
  readonly dim: number;
  /** One K×d array per view: the reference points (real samples, then class prototypes). */
  readonly reference: readonly Float32Array[];
  /** K labels of the reference points. */
  readonly referenceLabels: Int32Array;
  /** One S×d array per view (same number of views): the synthetic samples to check. */
  readonly candidates: readonly Float32Array[];
  /** S labels of the synthetic samples. */
  readonly candidateLabels: Int32Array;
  /** @defaultValue 'cosine' */
  readonly metric?: NeighborMetric;
}

/** Norm floor of the cosine similarity (a zero prototype is similar to nothing, never NaN). */
const NORM_FLOOR = 1e-12;

const CORRECTION_KEYS: OptionKeys<LabelCorrectionInput> = { dim: true, reference: true, referenceLabels: true, candidates: true, candidateLabels: true, metric: true };

/**
 * SAU's label correction: synthetic sample s is clean iff, in every view v, its nearest reference point
 * (1-NN among the batch's real samples and the class prototypes, by `metric`) carries s's label:
 *
 *   clean(s) = ∧_v [ y(argmin_k dist_v(s, k)) = y_s ].
 *
 * Ties go to the first reference point in order. With no reference point at all there is nothing to
 * contradict a label, so every sample counts as clean (the official code always has prototypes).
 *
 * @returns Uint8Array [S]: 1 = clean, 0 = noisy. No tensors.
 * @throws LongTailError `SHAPE_MISMATCH` (array sizes or view counts disagree), `INVALID_OPTION`.
 * @example
 * ```ts
 * const clean = correctSyntheticLabels({ dim: 2, reference: [ref], referenceLabels, candidates: [syn], candidateLabels });
 * ```
 */
export function correctSyntheticLabels(input: LabelCorrectionInput): Uint8Array {
  checkOptions('correctSyntheticLabels input', input, CORRECTION_KEYS);
  const { dim, reference, candidates, referenceLabels, candidateLabels } = input;
  const metric = checkOneOf('metric', input.metric ?? 'cosine', ['cosine', 'euclidean']);
  if (!Number.isInteger(dim) || dim < 1) throw invalid('INVALID_OPTION', 'dim to be a positive integer', 'dim', dim);
  checkSameSize('candidates.length (views) = reference.length', reference.length, 'candidates.length', candidates.length);
  if (reference.length < 1) throw invalid('INVALID_OPTION', 'at least one view', 'reference.length', reference.length);
  const k = referenceLabels.length;
  const s = candidateLabels.length;
  reference.forEach((r, v) => checkSameSize(`reference[${v}].length = K·d`, k * dim, `reference[${v}].length`, r.length));
  candidates.forEach((c, v) => checkSameSize(`candidates[${v}].length = S·d`, s * dim, `candidates[${v}].length`, c.length));
  const clean = new Uint8Array(s).fill(1);
  if (k === 0) return clean;
  for (let v = 0; v < reference.length; v++) {
    const ref = reference[v] as Float32Array;
    const cand = candidates[v] as Float32Array;
    const refNorm = new Float64Array(k);
    for (let j = 0; j < k; j++) refNorm[j] = Math.sqrt(dot(ref, j * dim, ref, j * dim, dim));
    for (let i = 0; i < s; i++) {
      if (clean[i] === 0) continue;
      const nearest = metric === 'cosine' ? mostCosineSimilar(cand, i * dim, ref, refNorm, k, dim) : closest(cand, i * dim, ref, k, dim);
      if (referenceLabels[nearest] !== candidateLabels[i]) clean[i] = 0;
    }
  }
  return clean;
}

function dot(a: Float32Array, ao: number, b: Float32Array, bo: number, d: number): number {
  let sum = 0;
  for (let t = 0; t < d; t++) sum += (a[ao + t] as number) * (b[bo + t] as number);
  return sum;
}

function mostCosineSimilar(cand: Float32Array, offset: number, ref: Float32Array, refNorm: Float64Array, k: number, dim: number): number {
  const norm = Math.max(Math.sqrt(dot(cand, offset, cand, offset, dim)), NORM_FLOOR);
  let best = 0;
  let bestSim = -Infinity;
  for (let j = 0; j < k; j++) {
    const sim = dot(cand, offset, ref, j * dim, dim) / (norm * Math.max(refNorm[j] as number, NORM_FLOOR));
    if (sim > bestSim) {
      bestSim = sim;
      best = j;
    }
  }
  return best;
}

function closest(cand: Float32Array, offset: number, ref: Float32Array, k: number, dim: number): number {
  let best = 0;
  let bestDist = Infinity;
  for (let j = 0; j < k; j++) {
    let d2 = 0;
    for (let t = 0; t < dim; t++) {
      const diff = (cand[offset + t] as number) - (ref[j * dim + t] as number);
      d2 += diff * diff;
    }
    if (d2 < bestDist) {
      bestDist = d2;
      best = j;
    }
  }
  return best;
}

/** Class prototypes for {@link sauContrastive}: constants (no gradient flows into them). */
export interface SauPrototypes {
  /** float32 [K, V, d]: per class and view, the mean projection of the real samples. */
  readonly features: tf.Tensor3D;
  /** K class labels, one per prototype. */
  readonly labels: Int32Array;
}

/** Hyperparameters shared by {@link sauContrastive} and {@link sauContrastiveLoss}. */
export interface SauContrastiveSettings {
  /** @defaultValue 'drop' */
  readonly strategy?: NoisyStrategy;
  /** @defaultValue 'cosine' (the official code) */
  readonly metric?: NeighborMetric;
  /** T. @defaultValue 0.1 */
  readonly temperature?: number;
  /** T_base; the loss is scaled by T / T_base. @defaultValue the temperature (SAU: no scaling) */
  readonly baseTemperature?: number;
  /**
   * Anchors without a positive: counted with loss 0 (`'zero'`, gm4lt's `SCL`, as SupContrast) or left out
   * of the mean (`'exclude'`). With two views every anchor has one. @defaultValue 'zero'
   */
  readonly noPositive?: NoPositivePolicy;
}

/** Options of {@link sauContrastive}. */
export interface SauContrastiveOptions extends SauContrastiveSettings {
  /** int32 [N]: labels of the batch (real and synthetic). */
  readonly labels: tf.Tensor1D;
  /** The same labels as host integers (saves a read-back of `labels`). */
  readonly labelValues?: Int32Array;
  /** N flags, 0 or 1: 1 where the sample is synthetic. */
  readonly synthetic: ArrayLike<number>;
  /** Class prototypes, or null (e.g. before any were computed). */
  readonly prototypes?: SauPrototypes | null;
}

/** What {@link sauContrastive} returns. */
export interface SauContrastiveOutput {
  /** The reduced loss (a scalar the caller owns). */
  readonly loss: tf.Scalar;
  /** N flags: 1 for a synthetic sample the label correction rejected. */
  readonly noisy: Uint8Array;
  /** Rows of the contrast set that took part (real + prototypes + kept synthetic). */
  readonly rows: number;
  /** Anchors (rows × views) counted in the mean. */
  readonly anchors: number;
}

const SETTINGS_KEYS: OptionKeys<SauContrastiveSettings> = { strategy: true, metric: true, temperature: true, baseTemperature: true, noPositive: true };
const SAU_CONTRASTIVE_KEYS: OptionKeys<SauContrastiveOptions> = { ...SETTINGS_KEYS, labels: true, labelValues: true, synthetic: true, prototypes: true };

interface Settings {
  readonly strategy: NoisyStrategy;
  readonly metric: NeighborMetric;
  readonly temperature: number;
  readonly baseTemperature: number;
  readonly noPositive: NoPositivePolicy;
}

function checkSettings(o: SauContrastiveSettings): Settings {
  const temperature = checkPositive('temperature', o.temperature ?? 0.1);
  return {
    strategy: checkOneOf('strategy', o.strategy ?? 'drop', NOISY_STRATEGIES),
    metric: checkOneOf('metric', o.metric ?? 'cosine', ['cosine', 'euclidean']),
    temperature,
    baseTemperature: checkPositive('baseTemperature', o.baseTemperature ?? temperature),
    noPositive: checkOneOf('noPositive', o.noPositive ?? 'zero', ['zero', 'exclude']),
  };
}

/** Host-side plan of one batch: which rows form the contrast set, their ids and anchor weights. */
interface SauPlan {
  readonly noisy: Uint8Array;
  readonly real: number[];
  readonly kept: number[];
  readonly k: number;
  readonly views: number;
  readonly rows: number;
  readonly ids: Int32Array;
  readonly rowWeights: Float32Array;
}

/** Validates the inputs, runs the label correction and builds the contrast set's ids (no tensors). */
function planSau(projections: tf.Tensor, labels: tf.Tensor1D | undefined, labelValues: Int32Array | undefined, syntheticIn: ArrayLike<number> | undefined, protos: SauPrototypes | null, metric: NeighborMetric, strategy: NoisyStrategy): SauPlan {
  checkTensor('projections', projections);
  checkRank('projections', projections.shape, 3);
  checkFloat32('projections', projections);
  const [n, views, dim] = projections.shape as [number, number, number];
  if (labels === undefined) throw new LongTailError('MISSING_INPUT', 'expected labels (int32 [N]) for the SAU contrastive loss. Received: labels=undefined', { name: 'labels' });
  checkTensor('labels', labels);
  checkRank('labels', labels.shape, 1);
  checkInt32('labels', labels);
  checkSameSize('labels.shape[0] = projections.shape[0]', n, 'labels.shape[0]', labels.shape[0] as number);
  let host: Int32Array;
  if (labelValues !== undefined) {
    checkSameSize('labelValues.length = labels.shape[0]', n, 'labelValues.length', labelValues.length);
    host = labelValues;
  } else {
    host = labels.dataSync() as Int32Array;
  }
  checkLabels('labels', host);
  const synthetic = checkFlags('synthetic', syntheticIn, n);
  let k = 0;
  if (protos !== null) {
    checkTensor('prototypes.features', protos.features);
    checkRank('prototypes.features', protos.features.shape, 3);
    const [pk, pv, pd] = protos.features.shape;
    checkSameSize('prototypes views = projections views', views, 'prototypes.features.shape[1]', pv);
    checkSameSize('prototypes width = projections width', dim, 'prototypes.features.shape[2]', pd);
    checkSameSize('prototypes.labels.length = prototypes.features.shape[0]', pk, 'prototypes.labels.length', protos.labels.length);
    checkLabels('prototypes.labels', protos.labels);
    k = pk;
  }

  // Host side: split rows by kind and run the nearest-neighbour check per view.
  const values = projections.dataSync() as Float32Array;
  const protoValues = protos === null ? new Float32Array(0) : (protos.features.dataSync() as Float32Array);
  const real: number[] = [];
  const syn: number[] = [];
  for (let i = 0; i < n; i++) (synthetic[i] === 1 ? syn : real).push(i);
  const reference: Float32Array[] = [];
  const candidates: Float32Array[] = [];
  for (let v = 0; v < views; v++) {
    const ref = new Float32Array((real.length + k) * dim);
    real.forEach((i, r) => ref.set(values.subarray((i * views + v) * dim, (i * views + v + 1) * dim), r * dim));
    for (let j = 0; j < k; j++) ref.set(protoValues.subarray((j * views + v) * dim, (j * views + v + 1) * dim), (real.length + j) * dim);
    const cand = new Float32Array(syn.length * dim);
    syn.forEach((i, r) => cand.set(values.subarray((i * views + v) * dim, (i * views + v + 1) * dim), r * dim));
    reference.push(ref);
    candidates.push(cand);
  }
  const referenceLabels = new Int32Array(real.length + k);
  real.forEach((i, r) => (referenceLabels[r] = host[i] as number));
  if (protos !== null) referenceLabels.set(protos.labels, real.length);
  const candidateLabels = Int32Array.from(syn, (i) => host[i] as number);
  const clean = correctSyntheticLabels({ dim, reference, referenceLabels, candidates, candidateLabels, metric });

  // Contrast-set labels: classes as they are; noise ids above every class id.
  let noiseBase = 0;
  for (const y of referenceLabels) noiseBase = Math.max(noiseBase, y + 1);
  for (const y of candidateLabels) noiseBase = Math.max(noiseBase, y + 1);
  const noisy = new Uint8Array(n);
  const kept: number[] = [];
  const keptIds: number[] = [];
  const keptWeights: number[] = [];
  let noiseCount = 0;
  syn.forEach((i, r) => {
    if (clean[r] === 1) {
      kept.push(i);
      keptIds.push(host[i] as number);
      keptWeights.push(1);
      return;
    }
    noisy[i] = 1;
    if (strategy === 'drop') return;
    kept.push(i);
    keptIds.push(strategy === 'posNeg' ? noiseBase + noiseCount++ : noiseBase);
    keptWeights.push(strategy === 'negOnly' ? 0 : 1);
  });
  const rows = real.length + k + kept.length;
  const ids = Int32Array.from([...referenceLabels, ...keptIds]);
  const rowWeights = Float32Array.from([...new Array<number>(real.length + k).fill(1), ...keptWeights]);
  return { noisy, real, kept, k, views, rows, ids, rowWeights };
}

/** N flags that are each 0 or 1 (`synthetic === 1` is the test downstream; anything else is an error). */
function checkFlags(name: string, flags: ArrayLike<number> | undefined, n: number): ArrayLike<number> {
  if (flags === undefined) return new Uint8Array(n);
  if (flags === null || typeof flags !== 'object' || typeof flags.length !== 'number') throw invalid('INVALID_OPTION', `${name} to be an array of 0/1 flags`, name, flags);
  checkSameSize(`${name}.length = projections.shape[0]`, n, `${name}.length`, flags.length);
  for (let i = 0; i < flags.length; i++) {
    const f = flags[i];
    if (f !== 0 && f !== 1) throw invalid('INVALID_OPTION', `${name} flags to be 0 or 1`, `${name}[${i}]`, f);
  }
  return flags;
}

/**
 * Per-anchor values and weights of the contrast set (view-major, R·V anchors); null when no anchor counts.
 * Must run inside a tidy.
 */
function sauAnchors(projections: tf.Tensor3D, plan: SauPlan, protos: SauPrototypes | null, s: Settings): { values: tf.Tensor1D; weights: tf.Tensor1D } | null {
  let weightSum = 0;
  for (const w of plan.rowWeights) weightSum += w;
  if (plan.rows === 0 || weightSum === 0) return null;
  const parts: tf.Tensor3D[] = [];
  if (plan.real.length > 0) parts.push(tf.gather(projections, tf.tensor1d(plan.real, 'int32')));
  if (protos !== null && plan.k > 0) parts.push(protos.features);
  if (plan.kept.length > 0) parts.push(tf.gather(projections, tf.tensor1d(plan.kept, 'int32')));
  const features = parts.length === 1 ? (parts[0] as tf.Tensor3D) : (tf.concat(parts, 0) as tf.Tensor3D);
  const out = supervisedContrastive(features, {
    labels: tf.tensor1d(plan.ids, 'int32'),
    labelValues: plan.ids,
    temperature: s.temperature,
    baseTemperature: s.baseTemperature,
    normalize: false,
    validate: false,
  });
  // Anchors are view-major: anchor v·R + r is view v of row r.
  const rowWeights = tf.tile(tf.tensor1d(plan.rowWeights), [plan.views]) as tf.Tensor1D;
  const weights = s.noPositive === 'exclude' ? (tf.mul(rowWeights, out.weights) as tf.Tensor1D) : rowWeights;
  return { values: out.values, weights };
}

/**
 * SAU's synthetic-aware contrastive loss on one batch of L2-normalised projections P [N, V, d]
 * (the functional form of {@link sauContrastiveLoss}, with the label-correction outcome):
 *
 * 1. Label correction ({@link correctSyntheticLabels}): each synthetic sample is checked against the
 *    batch's real samples and the class prototypes, in every view.
 * 2. The contrast set is [real samples; prototypes; synthetic samples], labelled with their classes;
 *    noisy synthetic samples are dropped (`'drop'`), get a label of their own (`'posNeg'`), or get a
 *    shared "noise" label and no anchor weight (`'negOnly'`).
 * 3. SupCon (Khosla et al. 2020) over the set's R·V anchors, on the projections as given (no
 *    re-normalisation: prototypes stay means of unit vectors, as in the official code) — for anchor a
 *   ℓ_a = −(T/T_base) · (1/|P(a)|) Σ_{p∈P(a)} log( exp(s_ap/T) / Σ_{b≠a} exp(s_ab/T) ),
 *    every row (prototypes included) an anchor, then the mean over anchors: Σ_a w_a ℓ_a / Σ_a w_a with
 *    w_a = 0 for `'negOnly'` noisy anchors and 1 otherwise. Anchors without positives count with ℓ = 0
 *    (`noPositive: 'zero'`, the official code) or get w_a = 0 (`'exclude'`); with two views every anchor has one.
 *
 * Gradients flow into P; prototypes are constants. Runs in `tf.tidy`; the caller owns `loss`.
 *
 * Paper: Li, Song, Zheng, "SAU: A Dual-Branch Network to Enhance Long-Tailed Recognition via Generative
 * Models" (ICONIP 2024); official code lgX1123/gm4lt `SCL`.
 *
 * @throws LongTailError `SHAPE_MISMATCH`, `DTYPE_MISMATCH`, `LABEL_OUT_OF_RANGE`, `INVALID_OPTION` (flags
 *   other than 0/1, unknown options) before any tensor is made.
 * @example
 * ```ts
 * const { loss, noisy } = sauContrastive(projections, { labels, synthetic, prototypes, strategy: 'posNeg' });
 * ```
 */
export function sauContrastive(projections: tf.Tensor3D, options: SauContrastiveOptions): SauContrastiveOutput {
  checkOptions('sauContrastive options', options, SAU_CONTRASTIVE_KEYS);
  const s = checkSettings(options);
  const protos = options.prototypes ?? null;
  const plan = planSau(projections, options.labels, options.labelValues, options.synthetic ?? undefined, protos, s.metric, s.strategy);
  let anchors = 0;
  const loss = tf.tidy(() => {
    const a = sauAnchors(projections, plan, protos, s);
    if (a === null) return tf.mul(tf.sum(projections), 0) as tf.Scalar;
    anchors = tf.sum(a.weights).dataSync()[0] as number;
    return weightedMean(a.values, a.weights);
  });
  return { loss, noisy: plan.noisy, rows: plan.rows, anchors };
}

/** Options of {@link sauContrastiveLoss}. */
export interface SauContrastiveLossOptions extends SauContrastiveSettings, Pick<LossObjectOptions, 'reducer'> {
  /**
   * Class prototypes, or a function returning the current ones (called at every evaluation; SAU recomputes
   * them each epoch). @defaultValue null (no prototypes)
   */
  readonly prototypes?: SauPrototypes | null | (() => SauPrototypes | null);
  /** Called with the N noisy flags of each evaluated batch (SAU counts them per epoch). */
  readonly onNoisy?: (noisy: Uint8Array) => void;
}

const SAU_LOSS_KEYS: OptionKeys<SauContrastiveLossOptions> = { ...SETTINGS_KEYS, reducer: true, prototypes: true, onNoisy: true };

/**
 * SAU's synthetic-aware contrastive loss as a {@link Loss} over `inputs.projections` [N, V, d] (see
 * {@link sauContrastive} for the formula): labels come as an int32 tensor (with host `labelValues`), the
 * synthetic flags as `inputs.synthetic` (0/1 per sample; absent means every sample is real). Its term holds
 * one value per anchor of the contrast set with the anchor weights, so the default mean reducer gives the
 * official value; a class-weighted reducer does not apply (anchors are not batch samples).
 *
 * @example
 * ```ts
 * const loss = sauContrastiveLoss({ temperature: 0.1, strategy: 'posNeg', prototypes: () => current });
 * loss.compute({ projections, labels, synthetic });
 * ```
 */
export function sauContrastiveLoss(options: SauContrastiveLossOptions = {}): Loss<'projections'> {
  checkOptions('sauContrastiveLoss options', options, SAU_LOSS_KEYS);
  const s = checkSettings(options);
  const source = options.prototypes ?? null;
  if (source !== null && typeof source !== 'function' && (typeof source !== 'object' || !Array.isArray(source.features?.shape))) {
    throw invalid('INVALID_OPTION', 'prototypes to be { features, labels }, a function returning them, or null', 'prototypes', source);
  }
  const onNoisy = options.onNoisy;
  if (onNoisy !== undefined && typeof onNoisy !== 'function') throw invalid('INVALID_OPTION', 'onNoisy to be a function', 'onNoisy', onNoisy);
  return defineLoss({
    kind: 'sauContrastive',
    config: { ...s, prototypes: typeof source === 'function' ? 'function' : source === null ? null : 'fixed' },
    requires: ['projections'],
    ...(options.reducer === undefined ? {} : { reducer: options.reducer }),
    terms: ({ projections, labels, labelValues, synthetic }) => {
      checkTensor('projections', projections);
      const protos = typeof source === 'function' ? source() : source;
      const plan = planSau(projections, labels, labelValues, synthetic, protos, s.metric, s.strategy);
      onNoisy?.(plan.noisy);
      const a = sauAnchors(projections as tf.Tensor3D, plan, protos, s);
      const term: LossTerm =
        a === null ? { kind: 'reduced', value: tf.mul(tf.sum(projections), 0) as tf.Scalar } : { kind: 'perSample', values: a.values, weights: a.weights };
      return { sauContrastive: term };
    },
  });
}
