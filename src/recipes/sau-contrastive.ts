/**
 * SAU's synthetic-aware branch (Li, Song, Zheng, "SAU: A Dual-Branch Network to Enhance Long-Tailed
 * Recognition via Generative Models", ICONIP 2024; official code lgX1123/gm4lt, `loss/ContrastiveLoss.py`
 * `SCL`): label correction of synthetic samples
 * by their nearest real neighbour, and the supervised contrastive loss over real samples, class
 * prototypes and the synthetic samples, with three ways of treating the noisy ones.
 */
import * as tf from '@tensorflow/tfjs';
import { invalid } from '../core/errors.js';
import { checkOptions, type OptionKeys } from '../core/options.js';
import { checkLabels, checkOneOf, checkPositive, checkRank, checkSameSize } from '../core/validate.js';
import { supervisedContrastive } from '../losses/functional/supCon.js';

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
 * Nearest-neighbour measure of the label correction. `'cosine'` (the paper's wording) ranks by
 * a·b / (‖a‖‖b‖); `'euclidean'` by ‖a − b‖ — what the official code does (scikit-learn's
 * `KNeighborsClassifier(n_neighbors=1)`). They agree on unit vectors and differ only through the
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

/** Class prototypes for {@link sauContrastiveLoss}: constants (no gradient flows into them). */
export interface SauPrototypes {
  /** float32 [K, V, d]: per class and view, the mean projection of the real samples. */
  readonly features: tf.Tensor3D;
  /** K class labels, one per prototype. */
  readonly labels: Int32Array;
}

/** Options of {@link sauContrastiveLoss}. */
export interface SauContrastiveOptions {
  /** N labels of the batch (real and synthetic). */
  readonly labels: Int32Array;
  /** N flags: 1 where the sample is synthetic. */
  readonly synthetic: Uint8Array;
  /** Class prototypes, or null (e.g. before any were computed). */
  readonly prototypes?: SauPrototypes | null;
  /** @defaultValue 'drop' */
  readonly strategy?: NoisyStrategy;
  /** @defaultValue 'cosine' */
  readonly metric?: NeighborMetric;
  /** T. @defaultValue 0.1 */
  readonly temperature?: number;
  /** T_base; the loss is scaled by T / T_base. @defaultValue the temperature (SAU: no scaling) */
  readonly baseTemperature?: number;
}

/** What {@link sauContrastiveLoss} returns. */
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

const CONTRASTIVE_KEYS: OptionKeys<SauContrastiveOptions> = {
  labels: true,
  synthetic: true,
  prototypes: true,
  strategy: true,
  metric: true,
  temperature: true,
  baseTemperature: true,
};
const PROTOTYPE_KEYS: OptionKeys<SauPrototypes> = { features: true, labels: true };

/**
 * SAU's synthetic-aware contrastive loss on one batch of L2-normalised projections P [N, V, d]:
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
 *    w_a = 0 for `'negOnly'` noisy anchors and 1 otherwise (anchors without positives count with ℓ = 0,
 *    as in the official code; with two views every anchor has one).
 *
 * Gradients flow into P; prototypes are constants. Runs in `tf.tidy`; the caller owns `loss`.
 *
 * Paper: Li, Song, Zheng, "SAU: A Dual-Branch Network to Enhance Long-Tailed Recognition via Generative
 * Models" (ICONIP 2024); official code lgX1123/gm4lt `SCL`.
 *
 * @throws LongTailError `SHAPE_MISMATCH`, `LABEL_OUT_OF_RANGE`, `INVALID_OPTION` before any tensor is made.
 * @example
 * ```ts
 * const { loss, noisy } = sauContrastiveLoss(projections, { labels, synthetic, prototypes, strategy: 'posNeg' });
 * ```
 */
export function sauContrastiveLoss(projections: tf.Tensor3D, options: SauContrastiveOptions): SauContrastiveOutput {
  checkOptions('sauContrastiveLoss options', options, CONTRASTIVE_KEYS);
  if (options.prototypes !== undefined && options.prototypes !== null) checkOptions('sauContrastiveLoss options.prototypes', options.prototypes, PROTOTYPE_KEYS);
  if (!(projections instanceof tf.Tensor)) throw invalid('INVALID_OPTION', 'projections to be a Tensor3D [N, V, d]', 'projections', projections);
  checkRank('projections', projections.shape, 3);
  const [n, views, dim] = projections.shape;
  const { labels, synthetic } = options;
  checkSameSize('labels.length = projections.shape[0]', n, 'labels.length', labels?.length ?? -1);
  checkSameSize('synthetic.length = projections.shape[0]', n, 'synthetic.length', synthetic?.length ?? -1);
  checkLabels('labels', labels);
  const strategy = checkOneOf('strategy', options.strategy ?? 'drop', NOISY_STRATEGIES);
  const metric = checkOneOf('metric', options.metric ?? 'cosine', ['cosine', 'euclidean']);
  const temperature = checkPositive('temperature', options.temperature ?? 0.1);
  const baseTemperature = checkPositive('baseTemperature', options.baseTemperature ?? temperature);
  const protos = options.prototypes ?? null;
  let k = 0;
  if (protos !== null) {
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
  real.forEach((i, r) => (referenceLabels[r] = labels[i] as number));
  if (protos !== null) referenceLabels.set(protos.labels, real.length);
  const candidateLabels = Int32Array.from(syn, (i) => labels[i] as number);
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
      keptIds.push(labels[i] as number);
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
  let weightSum = 0;
  for (const w of rowWeights) weightSum += w * views;

  const loss = tf.tidy(() => {
    if (rows === 0 || weightSum === 0) return tf.mul(tf.sum(projections), 0) as tf.Scalar;
    const parts: tf.Tensor3D[] = [];
    if (real.length > 0) parts.push(tf.gather(projections, tf.tensor1d(real, 'int32')));
    if (protos !== null && k > 0) parts.push(protos.features);
    if (kept.length > 0) parts.push(tf.gather(projections, tf.tensor1d(kept, 'int32')));
    const features = parts.length === 1 ? (parts[0] as tf.Tensor3D) : (tf.concat(parts, 0) as tf.Tensor3D);
    const out = supervisedContrastive(features, {
      labels: tf.tensor1d(ids, 'int32'),
      temperature,
      baseTemperature,
      normalize: false,
      validate: false,
    });
    // Anchors are view-major: anchor v·R + r is view v of row r.
    const w = tf.tile(tf.tensor1d(rowWeights), [views]);
    return tf.div(tf.sum(tf.mul(out.values, w)), weightSum) as tf.Scalar;
  });
  return { loss, noisy, rows, anchors: weightSum };
}
