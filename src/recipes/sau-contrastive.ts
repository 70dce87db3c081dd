/**
 * SAU's synthetic-aware branch (Li, Song, Zheng, "SAU: A Dual-Branch Network to Enhance Long-Tailed
 * Recognition via Generative Models", ICONIP 2024; official code lgX1123/gm4lt, `loss/ContrastiveLoss.py`
 * `SCL`): label correction of synthetic samples
 * by their nearest real neighbour, and the supervised contrastive loss over real samples, class
 * prototypes and the synthetic samples, with three ways of treating the noisy ones.
 */
import * as tf from '@tensorflow/tfjs';
import { invalid, LongTailError } from '../core/errors.js';
import { pairwiseDistances } from '../core/neighbors.js';
import { classPrototypes } from '../models/encode.js';
import { checkOptions, type OptionKeys } from '../core/options.js';
import { checkLabels, checkOneOf, checkPositive, checkRank, checkSameSize } from '../core/validate.js';
import type { NoPositivePolicy } from '../losses/contrastive.js';
import { defineLoss } from '../losses/define.js';
import { weightedMean } from '../losses/reducers/basic.js';
import type { Loss, LossObjectOptions } from '../losses/index.js';
import type { LossInputs, LossState, LossStateContext, LossStateSnapshot, ViewForward } from '../losses/types.js';
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
 * and the official code do (gm4lt `SCL.relabel` normalizes both sides and takes the argmax of the dot
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

/** Host-side facts of one batch (labels and flags are host data; nothing is read back from a tensor). */
interface SauBatch {
  readonly n: number;
  readonly views: number;
  readonly real: Int32Array;
  readonly syn: Int32Array;
  readonly labels: Int32Array;
  readonly protos: SauPrototypes | null;
  /** An id above every class: noisy synthetic rows get ids from here up. */
  readonly noiseBase: number;
}

/** Validates the inputs (shapes, dtypes, labels, flags, prototypes) before any tensor is made. */
function checkSauBatch(projections: tf.Tensor, labels: tf.Tensor1D | undefined, labelValues: Int32Array | undefined, syntheticIn: ArrayLike<number> | undefined, protos: SauPrototypes | null): SauBatch {
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
  let noiseBase = 0;
  for (const y of host) noiseBase = Math.max(noiseBase, y + 1);
  if (protos !== null) {
    checkTensor('prototypes.features', protos.features);
    checkRank('prototypes.features', protos.features.shape, 3);
    const [pk, pv, pd] = protos.features.shape;
    checkSameSize('prototypes views = projections views', views, 'prototypes.features.shape[1]', pv);
    checkSameSize('prototypes width = projections width', dim, 'prototypes.features.shape[2]', pd);
    checkSameSize('prototypes.labels.length = prototypes.features.shape[0]', pk, 'prototypes.labels.length', protos.labels.length);
    checkLabels('prototypes.labels', protos.labels);
    for (const y of protos.labels) noiseBase = Math.max(noiseBase, y + 1);
  }
  const real: number[] = [];
  const syn: number[] = [];
  for (let i = 0; i < n; i++) (synthetic[i] === 1 ? syn : real).push(i);
  return { n, views, real: Int32Array.from(real), syn: Int32Array.from(syn), labels: host, protos: protos !== null && protos.labels.length > 0 ? protos : null, noiseBase };
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
 * The label correction in tensors (the same rule as {@link correctSyntheticLabels}, which is its host
 * reference): per view, each synthetic row's nearest reference row (real rows, then prototypes; first on
 * ties) must carry its label. Returns bool [S]. Inside a tidy; no gradient flows through it.
 */
function cleanSynthetic(reference: tf.Tensor3D, referenceLabels: Int32Array, candidates: tf.Tensor3D, candidateLabels: Int32Array, metric: NeighborMetric): tf.Tensor1D {
  const views = reference.shape[1];
  const refY = tf.tensor1d(referenceLabels, 'int32');
  const candY = tf.tensor1d(candidateLabels, 'int32');
  let clean: tf.Tensor1D | null = null;
  for (let v = 0; v < views; v++) {
    const ref = tf.squeeze(tf.slice(reference, [0, v, 0], [-1, 1, -1]), [1]) as tf.Tensor2D;
    const cand = tf.squeeze(tf.slice(candidates, [0, v, 0], [-1, 1, -1]), [1]) as tf.Tensor2D;
    // Nearest reference: the smallest distance (cosine: 1 − cos, so the most similar), first on ties.
    const nearest = tf.argMin(pairwiseDistances(cand, ref, { metric: metric === 'cosine' ? 'cosine' : 'sqeuclidean' }), 1);
    const agree = tf.equal(tf.gather(refY, nearest), candY) as tf.Tensor1D;
    clean = clean === null ? agree : (tf.logicalAnd(clean, agree) as tf.Tensor1D);
  }
  return clean as tf.Tensor1D;
}

/**
 * `f(inputs)` as a constant: a tensor with no gradient-tape history, so no gradient flows back into
 * `inputs` through it and the comparison ops of a decision (argmax, equal), which have no gradient, never
 * sit on the tape's path. tfjs has no stopGradient; ops run inside a custom-gradient forward pass are not
 * recorded, so `f` runs there and its result is carried out and copied.
 */
function detached<T extends tf.Tensor = tf.Tensor1D>(inputs: tf.Tensor[], f: (inputs: tf.Tensor[]) => tf.Tensor): T {
  let held: tf.Tensor | null = null;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const xs = args.slice(0, inputs.length) as tf.Tensor[];
    held = tf.keep(f(xs));
    return { value: tf.zeros([1]), gradFunc: () => xs.map((x) => tf.zerosLike(x)) };
  });
  op(...inputs).dispose();
  const kept = held as unknown as tf.Tensor;
  const out = tf.clone(kept) as T;
  kept.dispose();
  return out;
}


/**
 * Per-anchor SupCon values and weights over the contrast set [real; prototypes; synthetic] (view-major
 * anchors), with the contrast set's structure as masks, so nothing is read back inside a gradient tape:
 * dropped rows are left out of every denominator and positive set, `'posNeg'` noisy rows get ids of
 * their own, `'negOnly'` noisy rows get anchor weight 0. Also returns the noisy flags [N] (float 0/1).
 * Inside a tidy.
 */
function sauAnchorTerms(projections: tf.Tensor3D, b: SauBatch, s: Settings): { values: tf.Tensor1D; weights: tf.Tensor1D; noisy: tf.Tensor1D } {
  const { real, syn, protos, views } = b;
  const k = protos?.labels.length ?? 0;
  const refCount = real.length + k;
  const parts: tf.Tensor3D[] = [];
  if (real.length > 0) parts.push(tf.gather(projections, tf.tensor1d(real, 'int32')));
  if (protos !== null) parts.push(protos.features);
  const reference = parts.length === 0 ? null : parts.length === 1 ? (parts[0] as tf.Tensor3D) : (tf.concat(parts, 0) as tf.Tensor3D);
  const candidates = syn.length > 0 ? (tf.gather(projections, tf.tensor1d(syn, 'int32')) as tf.Tensor3D) : null;
  const referenceIds = new Int32Array(refCount);
  real.forEach((i, r) => (referenceIds[r] = b.labels[i] as number));
  if (protos !== null) referenceIds.set(protos.labels, real.length);
  const synLabels = Int32Array.from(syn, (i) => b.labels[i] as number);

  // Synthetic rows: clean iff the nearest reference agrees in every view (all clean without references).
  // A 0/1 constant: the correction is a decision, not a function to differentiate.
  const cleanF =
    candidates === null
      ? null
      : reference === null
        ? (tf.ones([syn.length]) as tf.Tensor1D)
        : detached([reference, candidates], ([r, c]) => tf.cast(cleanSynthetic(r as tf.Tensor3D, referenceIds, c as tf.Tensor3D, synLabels, s.metric), 'float32') as tf.Tensor1D);
  const one = (n: number): tf.Tensor1D => tf.ones([n]) as tf.Tensor1D;
  const cat = (a: tf.Tensor1D, c: tf.Tensor1D | null): tf.Tensor1D => (c === null ? a : (tf.concat([a, c], 0) as tf.Tensor1D));
  // Per row: clean (reference rows always), kept in the set, counted as an anchor.
  const cleanRow = cat(one(refCount), cleanF);
  const keep = cat(one(refCount), cleanF === null ? null : s.strategy === 'drop' ? cleanF : one(syn.length));
  const anchor = cat(one(refCount), cleanF === null ? null : s.strategy === 'posNeg' ? one(syn.length) : cleanF);

  const rows = [reference, candidates].filter((t): t is tf.Tensor3D => t !== null);
  const set = rows.length === 1 ? (rows[0] as tf.Tensor3D) : (tf.concat(rows, 0) as tf.Tensor3D);
  const m = set.shape[0];
  const a = views * m;
  // Host constants over the view-major anchors: same class label, same row (the row's other views).
  const rowLabels = Int32Array.from([...referenceIds, ...synLabels]);
  const sameLabel = new Float32Array(a * a);
  const sameRow = new Float32Array(a * a);
  for (let i = 0; i < a; i++) {
    for (let j = 0; j < a; j++) {
      sameLabel[i * a + j] = rowLabels[i % m] === rowLabels[j % m] ? 1 : 0;
      sameRow[i * a + j] = i % m === j % m ? 1 : 0;
    }
  }
  const feats = tf.reshape(tf.transpose(set, [1, 0, 2]), [a, set.shape[2]]) as tf.Tensor2D;
  const keepA = tf.tile(keep, [views]) as tf.Tensor1D;
  const cleanA = tf.reshape(tf.tile(cleanRow, [views]), [a, 1]);
  const sim = tf.mul(tf.matMul(feats, feats, false, true), 1 / s.temperature) as tf.Tensor2D;
  // SupContrast: logits minus the row max over all entries, detached (a constant of log_prob), self masked out.
  const logits = tf.sub(sim, detached([sim], ([x]) => tf.max(x as tf.Tensor2D, 1, true)));
  const allowed = tf.mul(tf.sub(1, tf.eye(a)), tf.reshape(keepA, [1, a]));
  const expSum = tf.sum(tf.mul(tf.exp(logits), allowed), 1, true);
  const logProb = tf.sub(logits, tf.log(tf.maximum(expSum, 1e-30)));
  // Positives: clean rows of the same class; a noisy row ('posNeg') has only its own other views.
  const classPairs = tf.mul(tf.tensor2d(sameLabel, [a, a]), tf.matMul(cleanA, cleanA, false, true));
  const ownViews = tf.mul(tf.tensor2d(sameRow, [a, a]), tf.sub(1, cleanA));
  const positive = tf.mul(tf.add(classPairs, ownViews), allowed);
  const count = tf.sum(positive, 1);
  const meanPos = tf.div(tf.sum(tf.mul(positive, logProb), 1), tf.maximum(count, 1));
  const values = tf.mul(meanPos, -s.temperature / s.baseTemperature) as tf.Tensor1D;
  let weights = tf.mul(tf.tile(anchor, [views]), keepA) as tf.Tensor1D;
  if (s.noPositive === 'exclude') weights = tf.mul(weights, tf.cast(tf.greater(count, 0), 'float32')) as tf.Tensor1D;
  const noisyRows = cleanF === null ? (tf.zeros([b.n]) as tf.Tensor1D) : (tf.scatterND(tf.tensor2d(syn, [syn.length, 1], 'int32'), tf.sub(1, cleanF), [b.n]) as tf.Tensor1D);
  return { values, weights, noisy: noisyRows };
}

/**
 * SAU's synthetic-aware contrastive loss on one batch of L2-normalized projections P [N, V, d]
 * (the functional form of {@link sauContrastiveLoss}, with the label-correction outcome):
 *
 * 1. Label correction ({@link correctSyntheticLabels}): each synthetic sample is checked against the
 *    batch's real samples and the class prototypes, in every view.
 * 2. The contrast set is [real samples; prototypes; synthetic samples], labelled with their classes;
 *    noisy synthetic samples are dropped (`'drop'`), get a label of their own (`'posNeg'`), or stay as
 *    negatives only, with no anchor weight (`'negOnly'`).
 * 3. SupCon (Khosla et al. 2020) over the set's R·V anchors, on the projections as given (no
 *    re-normalization: prototypes stay means of unit vectors, as in the official code) — for anchor a
 *   ℓ_a = −(T/T_base) · (1/|P(a)|) Σ_{p∈P(a)} log( exp(s_ap/T) / Σ_{b≠a} exp(s_ab/T) ),
 *    every row (prototypes included) an anchor, then the mean over anchors: Σ_a w_a ℓ_a / Σ_a w_a with
 *    w_a = 0 for `'negOnly'` noisy anchors and 1 otherwise. Anchors without positives count with ℓ = 0
 *    (`noPositive: 'zero'`, the official code) or get w_a = 0 (`'exclude'`); with two views every anchor has one.
 *
 * The set's structure is applied as masks over every row (a dropped row is out of every denominator and
 * positive set), so the loss never reads projections back; this function reads the noisy flags once,
 * after the loss is computed. Gradients flow into P; prototypes are constants. Runs in `tf.tidy`; the
 * caller owns `loss`.
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
  const b = checkSauBatch(projections, options.labels, options.labelValues, options.synthetic ?? undefined, options.prototypes ?? null);
  let noisy = new Uint8Array(b.n);
  let rows = 0;
  let anchors = 0;
  const loss = tf.tidy(() => {
    const t = sauAnchorTerms(projections, b, s);
    const loss = weightedMean(t.values, t.weights);
    const read = tf.concat([t.noisy, tf.reshape(tf.sum(t.weights), [1])]).dataSync();
    noisy = Uint8Array.from(read.subarray(0, b.n), (v) => (v > 0.5 ? 1 : 0));
    anchors = read[b.n] as number;
    return loss;
  });
  let dropped = 0;
  if (s.strategy === 'drop') for (const v of noisy) dropped += v;
  rows = b.real.length + (b.protos?.labels.length ?? 0) + b.syn.length - dropped;
  return { loss, noisy, rows, anchors };
}

/** Options of {@link sauContrastiveLoss}. */
export interface SauContrastiveLossOptions extends SauContrastiveSettings, Pick<LossObjectOptions, 'reducer'> {
  /**
   * Fixed class prototypes, `'perEpoch'` (the loss owns them as state: before every epoch the trainer
   * has them recomputed as each class's mean eval-mode projection of its real samples in each of `views`,
   * as SAU's `get_prototypes`; saved in checkpoints), or null. `'perEpoch'` needs `views`.
   * @defaultValue null (no prototypes)
   */
  readonly prototypes?: SauPrototypes | null | 'perEpoch';
  /**
   * Trainer views (`TrainerBaseConfig.views`) whose projections are the loss's V views, stacked to
   * [N, V, d] (SAU: two contrastive crops). Without it the loss reads `inputs.projections` [N, V, d].
   */
  readonly views?: readonly string[];
}

const SAU_LOSS_KEYS: OptionKeys<SauContrastiveLossOptions> = { ...SETTINGS_KEYS, reducer: true, prototypes: true, views: true };

/**
 * SAU's synthetic-aware contrastive loss as a {@link Loss} (see {@link sauContrastive} for the formula):
 * over the projections of the trainer views `views` (or `inputs.projections` [N, V, d]), with labels as
 * an int32 tensor plus host `labelValues` and the synthetic flags of the rows. Its `sauContrastive`
 * term holds one value per anchor of the contrast set with the anchor weights, so the default mean
 * reducer gives the official value (a class-weighted reducer does not apply: anchors are not batch
 * samples). Two `count` terms, `synthetic` and `noisy`, count the batch's synthetic samples and those
 * the label correction rejected (the trainer sums them per epoch as `count/synthetic`, `count/noisy`).
 *
 * @example
 * ```ts
 * const loss = sauContrastiveLoss({ views: ['contrast1', 'contrast2'], prototypes: 'perEpoch', strategy: 'posNeg' });
 * ```
 */
export function sauContrastiveLoss(options: SauContrastiveLossOptions = {}): Loss<'projections'> {
  checkOptions('sauContrastiveLoss options', options, SAU_LOSS_KEYS);
  const s = checkSettings(options);
  const source = options.prototypes ?? null;
  if (source !== null && source !== 'perEpoch' && (typeof source !== 'object' || !Array.isArray(source.features?.shape))) {
    throw invalid('INVALID_OPTION', "prototypes to be { features, labels }, 'perEpoch' or null", 'prototypes', source);
  }
  const views = options.views === undefined ? null : checkViewNames(options.views);
  if (source === 'perEpoch' && views === null) throw invalid('INVALID_OPTION', "views with prototypes: 'perEpoch' (prototypes are computed per view)", 'views', undefined);
  const state = source === 'perEpoch' ? new SauPrototypeState(views as readonly string[]) : null;
  return defineLoss<'projections'>({
    kind: 'sauContrastive',
    config: { ...s, prototypes: source === null ? null : source === 'perEpoch' ? 'perEpoch' : 'fixed', ...(views === null ? {} : { views: [...views] }) },
    requires: views === null ? ['projections'] : [],
    ...(views === null ? {} : { views: Object.fromEntries(views.map((v) => [v, ['projections' as const]])) }),
    ...(state === null ? {} : { states: [state] }),
    ...(options.reducer === undefined ? {} : { reducer: options.reducer }),
    terms: (inputs) => {
      const picked = views === null ? viewsFromInputs(inputs) : viewsFromTrainer(inputs, views);
      const protos = state !== null ? state.current() : (source as SauPrototypes | null);
      const b = checkSauBatch(picked.projections, picked.labels, picked.labelValues, picked.synthetic, protos);
      const t = sauAnchorTerms(picked.projections, b, s);
      return {
        sauContrastive: { kind: 'perSample', values: t.values, weights: t.weights },
        synthetic: { kind: 'count', value: tf.scalar(b.syn.length) },
        noisy: { kind: 'count', value: tf.sum(t.noisy) },
      };
    },
  });
}

interface PickedViews {
  readonly projections: tf.Tensor3D;
  readonly labels: tf.Tensor1D | undefined;
  readonly labelValues: Int32Array | undefined;
  readonly synthetic: ArrayLike<number> | undefined;
}

function viewsFromInputs(inputs: LossInputs<'projections'>): PickedViews {
  checkTensor('projections', inputs.projections);
  return { projections: inputs.projections as tf.Tensor3D, labels: inputs.labels, labelValues: inputs.labelValues, synthetic: inputs.synthetic };
}

/** The projections of the named views stacked to [N, V, d], with the rows' labels and flags. */
function viewsFromTrainer(inputs: LossInputs<never>, names: readonly string[]): PickedViews {
  const got = names.map((name) => {
    const view = inputs.views?.[name];
    if (view?.projections === undefined) {
      throw new LongTailError('MISSING_INPUT', `expected inputs.views.${name}.projections (a trainer view of that name). Received: views=[${Object.keys(inputs.views ?? {}).join(', ')}]`, { name: `views.${name}` });
    }
    checkRank(`views.${name}.projections`, view.projections.shape, 2);
    return view;
  });
  const first = got[0] as ViewForward;
  return { projections: tf.stack(got.map((v) => v.projections as tf.Tensor2D), 1) as tf.Tensor3D, labels: first.labels, labelValues: first.labelValues, synthetic: first.synthetic };
}

function checkViewNames(views: readonly string[]): readonly string[] {
  if (!Array.isArray(views) || views.length === 0 || views.some((v) => typeof v !== 'string') || new Set(views).size !== views.length) {
    throw invalid('INVALID_OPTION', 'views to be a non-empty list of distinct view names', 'views', views);
  }
  return [...views];
}

/**
 * SAU's prototype bank as loss state: before each epoch, per class and view, the mean eval-mode
 * projection of the class's real samples in that view (the official `get_prototypes`), summed in float64
 * in row order and not re-normalized. Classes without real samples get no prototype.
 */
class SauPrototypeState implements LossState {
  readonly key = 'sau:prototypes';
  private features: tf.Tensor3D | null = null;
  private labels: Int32Array | null = null;

  constructor(private readonly views: readonly string[]) {}

  current(): SauPrototypes | null {
    return this.features === null || this.labels === null ? null : { features: this.features, labels: this.labels };
  }

  refresh(context: LossStateContext): void {
    const rows: number[] = [];
    for (let i = 0; i < context.labels.length; i++) if (context.synthetic[i] !== 1) rows.push(i);
    if (rows.length === 0) {
      this.set(null, null);
      return;
    }
    const perView = context.encode({ output: 'projections', views: this.views, rows: Int32Array.from(rows) });
    const labels = Int32Array.from(rows, (i) => context.labels[i] as number);
    // [R, V, d] → per-class means [C, V, d] (float64 sums in row order), then the classes present.
    const stacked = tf.stack(perView, 1);
    perView.forEach((t) => t.dispose());
    const { means, present } = classPrototypes(stacked, labels, { numClasses: context.numClasses });
    stacked.dispose();
    const bank = tf.tidy(() => tf.gather(means, tf.tensor1d(present, 'int32')) as tf.Tensor3D);
    means.dispose();
    this.set(bank, present);
  }

  snapshot(): LossStateSnapshot | null {
    if (this.features === null || this.labels === null) return null;
    return {
      json: { views: [...this.views] },
      arrays: {
        features: { shape: [...this.features.shape], values: Float32Array.from(this.features.dataSync()) },
        labels: { shape: [this.labels.length], values: Int32Array.from(this.labels) },
      },
    };
  }

  restore(snapshot: LossStateSnapshot | null): void {
    if (snapshot === null) {
      this.set(null, null);
      return;
    }
    const f = snapshot.arrays['features'];
    const l = snapshot.arrays['labels'];
    const ok = f !== undefined && l !== undefined && f.shape.length === 3 && f.shape[1] === this.views.length && l.values instanceof Int32Array && l.values.length === f.shape[0];
    if (!ok) throw invalid('INVALID_CHECKPOINT', `SAU prototypes { features [K, ${this.views.length}, d], labels [K] }`, 'lossStates.sau:prototypes', Object.keys(snapshot.arrays));
    this.set(tf.tensor3d(Float32Array.from(f.values), [...f.shape] as [number, number, number]), Int32Array.from(l.values));
  }

  private set(features: tf.Tensor3D | null, labels: Int32Array | null): void {
    this.features?.dispose();
    this.features = features;
    this.labels = labels;
  }

  dispose(): void {
    this.set(null, null);
  }
}
