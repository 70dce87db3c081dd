import * as tf from '@tensorflow/tfjs';
import { invalid, LongTailError } from '../../core/errors.js';
import { checkOptions, type OptionKeys } from '../../core/options.js';
import { kNearest } from '../../core/neighbors.js';
import { checkFinite, checkInteger, checkRange, checkRank } from '../../core/validate.js';
import { checkClassification, checkCountsFor, checkFloat32, checkTensor, type ValidateOption } from '../validation.js';
import { crossEntropyRows, logPriorOffsets } from './common.js';

/**
 * Additive logit for a silenced class. Large enough that exp(z − 3e4 − max) underflows to exactly 0 for
 * any realistic logit spread, small enough to be finite in float16 (max 65504), where −1e9 would
 * overflow to −∞ and turn 0·∞ into NaN in mixed precision.
 */
export const SILENCED_LOGIT = -3e4;

/** A C×C competition mask: `mask[y][j]` is true when a sample of class y competes with class j. */
export type SilencingMask = readonly (readonly boolean[])[];

/** Validates a mask (square, C×C, boolean or 0/1 entries, true diagonal) and returns a boolean copy. */
export function checkSilencingMask(mask: readonly (readonly (boolean | number)[])[], numClasses: number): boolean[][] {
  if (!Array.isArray(mask)) throw invalid('INVALID_OPTION', 'mask to be an array of C boolean rows', 'mask', mask);
  if (mask.length !== numClasses) {
    throw new LongTailError('SHAPE_MISMATCH', `expected mask.length = ${numClasses} (the number of classes). Received: mask.length=${mask.length}`, { name: 'mask' });
  }
  return mask.map((row, y) => {
    if (!Array.isArray(row) || row.length !== numClasses) {
      throw new LongTailError(
        'SHAPE_MISMATCH',
        `expected mask[${y}].length = ${numClasses}. Received: mask[${y}].length=${Array.isArray(row) ? row.length : String(row)}`,
        { name: `mask[${y}]` },
      );
    }
    const out = row.map((v, j) => {
      if (v === true || v === 1) return true;
      if (v === false || v === 0) return false;
      throw invalid('INVALID_OPTION', 'mask entries to be booleans or 0/1', `mask[${y}][${j}]`, v);
    });
    if (!out[y]) throw invalid('INVALID_OPTION', `mask[${y}][${y}] = true (a class competes with itself)`, `mask[${y}][${y}]`, row[y]);
    return out;
  });
}

/** Options of {@link neighborSilencingCrossEntropy}. */
export interface NeighborSilencingOptions extends ValidateOption {
  /** Training count per class over target and auxiliary classes together (length C). */
  readonly classCounts: ArrayLike<number>;
  /** C×C competition mask (see {@link silencingMask}). */
  readonly mask: readonly (readonly (boolean | number)[])[];
  /** Logit adjustment strength τ. @defaultValue 1 */
  readonly tau?: number;
  /** Soft targets [N, C]; entries on classes silenced for the sample's label are zeroed, not renormalized. */
  readonly targets?: tf.Tensor2D;
  /**
   * Label smoothing ε ∈ [0, 1), applied before the mask as Gran_LT does (timm `Mixup(label_smoothing=ε)`
   * targets, then `target * mask[y]`): q = M[y_i] ⊙ ((1 − ε)·q₀ + ε/C), not renormalized.
   * @defaultValue 0
   */
  readonly labelSmoothing?: number;
}

const SILENCING_KEYS: OptionKeys<NeighborSilencingOptions> = { classCounts: true, mask: true, tau: true, targets: true, labelSmoothing: true, validate: true, labelValues: true };

/**
 * Per-sample neighbor-silencing balanced cross-entropy (Zhao et al., "Granularity Matters / Learning
 * from Neighbors"; official code Shizhen-ZHAO/Gran_LT `Bal_CE_loss`):
 *   ℓ_i = −Σ_j q_ij · log softmax(z_i + τ·log(π + 1e-12) + (1 − M[y_i]) · (−3e4))_j,
 * with q = one-hot(y) or soft targets, smoothed by ε (q ← (1 − ε)·q + ε/C) and multiplied by M[y_i].
 * Silenced classes leave the softmax entirely
 * (their gradient is exactly 0). An all-true mask gives the balanced softmax / logit-adjusted loss.
 *
 * @returns float32 [N], owned by the caller.
 * @example
 * ```ts
 * const mask = silencingMask({ numClasses: 5, neighbors: [[3], [4], []] }); // 3 targets, 2 auxiliary
 * const l = neighborSilencingCrossEntropy(logits, labels, { classCounts, mask });
 * ```
 */
export function neighborSilencingCrossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D, options: NeighborSilencingOptions): tf.Tensor1D {
  checkOptions('neighborSilencingCrossEntropy options', options, SILENCING_KEYS);
  const tau = checkFinite('tau', options.tau ?? 1);
  const labelSmoothing = checkRange('labelSmoothing', options.labelSmoothing ?? 0, { min: 0, max: 1, maxExclusive: true });
  const { numClasses } = checkClassification(logits, labels, { targets: options.targets, validate: options.validate, labelValues: options.labelValues });
  const counts = checkCountsFor('classCounts', options.classCounts, numClasses);
  const mask = checkSilencingMask(options.mask, numClasses);
  const offsets = logPriorOffsets(counts, tau);
  const additive = new Float32Array(numClasses * numClasses);
  const keep = new Float32Array(numClasses * numClasses);
  for (let y = 0; y < numClasses; y++) {
    for (let j = 0; j < numClasses; j++) {
      const competes = (mask[y] as boolean[])[j] as boolean;
      additive[y * numClasses + j] = competes ? 0 : SILENCED_LOGIT;
      keep[y * numClasses + j] = competes ? 1 : 0;
    }
  }
  return tf.tidy(() => {
    // Gathering rows of a constant needs no gradient, so stock wasm's missing UnsortedSegmentSum is not hit.
    const rowAdd = tf.gather(tf.tensor2d(additive, [numClasses, numClasses]), labels);
    const z = tf.add(tf.add(logits, tf.tensor1d(offsets)), rowAdd) as tf.Tensor2D;
    if (options.targets === undefined && labelSmoothing === 0) return crossEntropyRows(z, labels, {});
    let q: tf.Tensor2D = options.targets ?? (tf.oneHot(labels, numClasses).asType('float32') as tf.Tensor2D);
    if (labelSmoothing > 0) q = tf.add(tf.mul(q, 1 - labelSmoothing), labelSmoothing / numClasses);
    const targets = tf.mul(q, tf.gather(tf.tensor2d(keep, [numClasses, numClasses]), labels)) as tf.Tensor2D;
    return crossEntropyRows(z, labels, { targets });
  });
}

/** Options of {@link silencingMask}. */
export interface SilencingMaskOptions {
  /** Total classes C (targets first, then auxiliary classes). */
  readonly numClasses: number;
  /**
   * `neighbors[t]` lists the auxiliary classes (indices in [T, C), T = neighbors.length) that are
   * neighbours of target class t.
   */
  readonly neighbors: readonly (readonly number[])[];
  /** Auxiliary samples also ignore every other auxiliary class. @defaultValue false */
  readonly auxiliaryIgnoresAuxiliary?: boolean;
}

const MASK_KEYS: OptionKeys<SilencingMaskOptions> = { numClasses: true, neighbors: true, auxiliaryIgnoresAuxiliary: true };

/**
 * The default neighbor-silencing mask (methods.md): everything competes, except that a target class
 * ignores its own auxiliary neighbours, an auxiliary class ignores its parent target class(es), and
 * optionally an auxiliary class ignores all other auxiliary classes. Classes are ordered targets first.
 *
 * @returns a C×C boolean matrix, plain JSON.
 * @throws LongTailError `INVALID_OPTION` for a neighbour that is not an auxiliary class index.
 */
export function silencingMask(options: SilencingMaskOptions): boolean[][] {
  checkOptions('silencingMask options', options, MASK_KEYS);
  const numClasses = checkInteger('numClasses', options.numClasses, { min: 1 });
  const numTargets = options.neighbors.length;
  if (numTargets > numClasses) throw invalid('INVALID_OPTION', `neighbors.length <= numClasses (${numClasses})`, 'neighbors.length', numTargets);
  const mask = Array.from({ length: numClasses }, () => new Array<boolean>(numClasses).fill(true));
  options.neighbors.forEach((list, t) => {
    for (const a of list) {
      if (!Number.isInteger(a) || a < numTargets || a >= numClasses) {
        throw invalid('INVALID_OPTION', `neighbors[${t}] entries to be auxiliary class indices in [${numTargets}, ${numClasses})`, `neighbors[${t}]`, list);
      }
      (mask[t] as boolean[])[a] = false;
      (mask[a] as boolean[])[t] = false;
    }
  });
  if (options.auxiliaryIgnoresAuxiliary === true) {
    for (let a = numTargets; a < numClasses; a++) for (let b = numTargets; b < numClasses; b++) if (a !== b) (mask[a] as boolean[])[b] = false;
  }
  return mask;
}

/** Options of {@link selectNeighborsByPrototype}. */
export interface NeighborSelectionOptions {
  /** Number of target classes T; rows [0, T) of the prototypes are targets, the rest auxiliary. */
  readonly numTargets: number;
  /** Training counts of the target classes (length T, or C — only the first T are used). */
  readonly classCounts: ArrayLike<number>;
  /** Neighbours of the most frequent target class. @defaultValue 1 */
  readonly k?: number;
  /** Neighbours of the rarest target class. @defaultValue 2·k */
  readonly kMax?: number;
}

const SELECTION_KEYS: OptionKeys<NeighborSelectionOptions> = { numTargets: true, classCounts: true, k: true, kMax: true };

/**
 * Picks auxiliary neighbours of each target class by cosine similarity of class prototypes (e.g. the
 * mean feature of each class). Rule for "more neighbours for rarer classes": with r_t =
 * (log n_max − log n_t) / (log n_max − log n_min) over the target classes (counts floored at 1; r = 0
 * when all are equal), class t gets round(k + (kMax − k)·r_t) neighbours, capped at the number of
 * auxiliary classes. Ties in similarity go to the lower class index.
 *
 * @param prototypes - float32 [C, d] tensor or C rows of numbers; read synchronously, no tensor is made.
 * @returns `neighbors[t]`: auxiliary class indices, most similar first (input of {@link silencingMask}).
 */
export function selectNeighborsByPrototype(
  prototypes: tf.Tensor2D | readonly (readonly number[])[],
  options: NeighborSelectionOptions,
): number[][] {
  checkOptions('selectNeighborsByPrototype options', options, SELECTION_KEYS);
  let rows: number;
  let dim: number;
  let data: ArrayLike<number>;
  if (Array.isArray(prototypes)) {
    rows = prototypes.length;
    dim = rows > 0 ? (prototypes[0] as readonly number[]).length : 0;
    const flat = new Float64Array(rows * dim);
    (prototypes as readonly (readonly number[])[]).forEach((r, i) => {
      if (r.length !== dim) throw new LongTailError('SHAPE_MISMATCH', `expected prototypes[${i}].length = ${dim}. Received: prototypes[${i}].length=${r.length}`, { name: 'prototypes' });
      for (let j = 0; j < dim; j++) flat[i * dim + j] = checkFinite(`prototypes[${i}][${j}]`, r[j] as number);
    });
    data = flat;
  } else {
    const t = prototypes as tf.Tensor2D;
    checkTensor('prototypes', t);
    checkRank('prototypes', t.shape, 2);
    checkFloat32('prototypes', t);
    [rows, dim] = t.shape;
    data = t.dataSync();
  }
  const numTargets = checkInteger('numTargets', options.numTargets, { min: 1 });
  if (numTargets > rows) throw invalid('INVALID_OPTION', `numTargets <= the number of prototypes (${rows})`, 'numTargets', numTargets);
  const k = checkInteger('k', options.k ?? 1, { min: 0 });
  const kMax = checkInteger('kMax', options.kMax ?? 2 * k, { min: k });
  if (options.classCounts.length < numTargets) {
    throw new LongTailError('SHAPE_MISMATCH', `expected classCounts.length >= ${numTargets}. Received: classCounts.length=${options.classCounts.length}`, { name: 'classCounts' });
  }
  const numAux = rows - numTargets;
  const logCounts = Array.from({ length: numTargets }, (_, t) => {
    const n = options.classCounts[t] as number;
    if (!Number.isFinite(n) || n < 0) throw invalid('INVALID_OPTION', 'every classCounts entry to be a finite number >= 0', `classCounts[${t}]`, n);
    return Math.log(Math.max(n, 1));
  });
  const hi = Math.max(...logCounts);
  const lo = Math.min(...logCounts);
  // Every auxiliary class ranked for every target by cosine distance 1 − cos (most similar first, ties to
  // the lower class index); a zero prototype has cosine 0 to everything.
  // (Zero-width prototypes are all equally dissimilar: index order.)
  const ranked =
    numAux === 0
      ? null
      : dim === 0
        ? Int32Array.from({ length: numTargets * numAux }, (_, i) => i % numAux)
        : kNearest(
          { values: Float64Array.from({ length: numAux * dim }, (_, i) => data[numTargets * dim + i] as number), rows: numAux, cols: dim },
          { k: numAux, metric: 'cosine', query: { values: Float64Array.from({ length: numTargets * dim }, (_, i) => data[i] as number), rows: numTargets, cols: dim } },
        ).indices;
  return logCounts.map((lc, t) => {
    const r = hi > lo ? (hi - lc) / (hi - lo) : 0;
    const want = Math.min(numAux, Math.round(k + (kMax - k) * r));
    if (ranked === null) return [];
    return Array.from(ranked.subarray(t * numAux, t * numAux + want), (a) => a + numTargets);
  });
}
