/**
 * Classification metrics on typed arrays (no tensors): top-1, confusion matrix, per-class and balanced
 * accuracy, many / medium / few-shot accuracy, and expected calibration error. Every metric derives from
 * the confusion matrix or the calibration bins, which is what {@link ClassificationMetrics} accumulates.
 */
import { invalid, LongTailError } from '../core/errors.js';
import { checkOptions, type OptionKeys } from '../core/options.js';
import { checkAllFinite, checkInteger, checkLabels, checkSameSize } from '../core/validate.js';
import { resolveShotThresholds, shotGroupOf, SHOT_GROUPS } from '../data/class-stats.js';
import type { ShotGroup, ShotThresholds } from '../data/class-stats.js';

/** Predicted classes and true labels of N samples. */
export interface PredictionInputs {
  readonly predictions: ArrayLike<number>;
  readonly labels: ArrayLike<number>;
  /** Number of classes C; predictions and labels must lie in [0, C). */
  readonly numClasses: number;
}

const PREDICTION_KEYS: OptionKeys<PredictionInputs> = { predictions: true, labels: true, numClasses: true };

/** Row-major C × C counts: entry [t · C + p] counts samples of true class t predicted as p (sklearn's layout). */
export function confusionMatrix(inputs: PredictionInputs): Int32Array {
  checkOptions('confusionMatrix inputs', inputs, PREDICTION_KEYS);
  return confusion(inputs);
}

function confusion(inputs: PredictionInputs): Int32Array {
  const { labels, predictions } = checkPredictions(inputs);
  const c = inputs.numClasses;
  const m = new Int32Array(c * c);
  for (let i = 0; i < labels.length; i++) {
    const k = (labels[i] as number) * c + (predictions[i] as number);
    m[k] = (m[k] as number) + 1;
  }
  return m;
}

function checkPredictions(inputs: PredictionInputs): { labels: Int32Array; predictions: Int32Array } {
  checkInteger('numClasses', inputs.numClasses, { min: 1 });
  const labels = checkLabels('labels', inputs.labels, inputs.numClasses);
  const predictions = checkLabels('predictions', inputs.predictions, inputs.numClasses);
  checkSameSize('predictions.length = labels.length', labels.length, 'predictions.length', predictions.length);
  return { labels, predictions };
}

/** Top-1 accuracy Σ_t M[t, t] / N of a confusion matrix (NaN when N = 0). */
export function accuracyFromConfusion(matrix: Int32Array, numClasses: number): number {
  let hit = 0;
  let total = 0;
  for (let t = 0; t < numClasses; t++) {
    for (let p = 0; p < numClasses; p++) total += matrix[t * numClasses + p] as number;
    hit += matrix[t * numClasses + t] as number;
  }
  return total === 0 ? NaN : hit / total;
}

/** Per-class recall M[j, j] / Σ_p M[j, p]; NaN for a class with no samples. */
export function perClassFromConfusion(matrix: Int32Array, numClasses: number): Float64Array {
  const out = new Float64Array(numClasses);
  for (let t = 0; t < numClasses; t++) {
    let row = 0;
    for (let p = 0; p < numClasses; p++) row += matrix[t * numClasses + p] as number;
    out[t] = row === 0 ? NaN : (matrix[t * numClasses + t] as number) / row;
  }
  return out;
}

/** Mean of the finite entries (NaN when there are none). */
export function nanMean(values: ArrayLike<number>): number {
  let s = 0;
  let k = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (!Number.isNaN(v)) {
      s += v;
      k++;
    }
  }
  return k === 0 ? NaN : s / k;
}

/** Top-1 accuracy: (1/N) Σ_i [ŷ_i = y_i]. NaN for N = 0. */
export function accuracy(inputs: PredictionInputs): number {
  checkOptions('accuracy inputs', inputs, PREDICTION_KEYS);
  return accuracyFromConfusion(confusion(inputs), inputs.numClasses);
}

/** Per-class accuracy (recall) acc_j = #{i : y_i = j, ŷ_i = j} / #{i : y_i = j}; NaN for a class absent from `labels`. */
export function perClassAccuracy(inputs: PredictionInputs): Float64Array {
  checkOptions('perClassAccuracy inputs', inputs, PREDICTION_KEYS);
  return perClassFromConfusion(confusion(inputs), inputs.numClasses);
}

/**
 * Balanced accuracy: the mean of acc_j over the classes present in `labels` (sklearn's
 * `balanced_accuracy_score`; Brodersen et al. 2010). Equals top-1 on a balanced test set.
 */
export function balancedAccuracy(inputs: PredictionInputs): number {
  checkOptions('balancedAccuracy inputs', inputs, PREDICTION_KEYS);
  return nanMean(perClassFromConfusion(confusion(inputs), inputs.numClasses));
}

/** Accuracy of one shot group: the mean per-class accuracy over its classes, and how many classes it has. */
export interface ShotGroupResult {
  readonly accuracy: number;
  /** Classes of the group (by training count) that occur in the evaluated labels. */
  readonly numClasses: number;
}

/** Options of {@link shotGroupAccuracy}. */
export interface ShotGroupOptions extends ShotThresholds {
  /** Training count n_j of every class, length C (defines the groups). */
  readonly trainCounts: ArrayLike<number>;
}

const SHOT_GROUP_KEYS: OptionKeys<ShotGroupOptions> = { trainCounts: true, manyAbove: true, fewBelow: true };
const SHOT_INPUT_KEYS: OptionKeys<PredictionInputs & ShotGroupOptions> = { ...PREDICTION_KEYS, ...SHOT_GROUP_KEYS };

/**
 * Many / medium / few-shot accuracy (Liu et al. 2019; Kang et al. 2020): classes are grouped by training
 * count (n > manyAbove, n < fewBelow, otherwise medium; defaults 100 and 20) and each group reports the
 * mean per-class accuracy of its classes present in the evaluated labels (NaN for an empty group).
 */
export function groupAccuracyFromPerClass(
  perClass: ArrayLike<number>,
  options: ShotGroupOptions,
): Readonly<Record<ShotGroup, ShotGroupResult>> {
  checkOptions('groupAccuracyFromPerClass options', options, SHOT_GROUP_KEYS);
  return groupAccuracy(perClass, options);
}

function groupAccuracy(perClass: ArrayLike<number>, options: ShotGroupOptions): Readonly<Record<ShotGroup, ShotGroupResult>> {
  const thresholds = resolveShotThresholds({
    ...(options.manyAbove === undefined ? {} : { manyAbove: options.manyAbove }),
    ...(options.fewBelow === undefined ? {} : { fewBelow: options.fewBelow }),
  });
  const c = perClass.length;
  checkSameSize('trainCounts.length = numClasses', c, 'trainCounts.length', options.trainCounts.length);
  const acc: Record<ShotGroup, number[]> = { many: [], medium: [], few: [] };
  for (let j = 0; j < c; j++) {
    const v = perClass[j] as number;
    if (!Number.isNaN(v)) acc[shotGroupOf(options.trainCounts[j] as number, thresholds)].push(v);
  }
  const result = {} as Record<ShotGroup, ShotGroupResult>;
  for (const g of SHOT_GROUPS) result[g] = { accuracy: nanMean(acc[g]), numClasses: acc[g].length };
  return result;
}

/** {@link groupAccuracyFromPerClass} of predictions. */
export function shotGroupAccuracy(inputs: PredictionInputs & ShotGroupOptions): Readonly<Record<ShotGroup, ShotGroupResult>> {
  checkOptions('shotGroupAccuracy inputs', inputs, SHOT_INPUT_KEYS);
  return groupAccuracy(perClassFromConfusion(confusion(inputs), inputs.numClasses), inputs);
}

/** Class probabilities of N samples, row-major [N, C], with their true labels. */
export interface ProbabilityInputs {
  readonly probabilities: ArrayLike<number>;
  readonly labels: ArrayLike<number>;
  readonly numClasses: number;
  /** Number of equal-width confidence bins. Default 15. */
  readonly bins?: number;
}

/**
 * Checks probabilities [N · C] against labels and returns the argmax prediction and max confidence of
 * every row (first maximum on ties, like numpy's argmax).
 *
 * @throws LongTailError `SHAPE_MISMATCH`, `NON_FINITE`, `INVALID_OPTION` (a value outside [0, 1]).
 */
export function argmaxRows(probabilities: ArrayLike<number>, numClasses: number): { predictions: Int32Array; confidences: Float64Array } {
  checkRowLength('probabilities', probabilities, numClasses);
  checkAllFinite('probabilities', probabilities);
  return firstMaxRows(probabilities, numClasses, (v, index) => {
    if (v < 0 || v > 1) throw invalid('INVALID_OPTION', 'probabilities in [0, 1]', `probabilities[${index}]`, v);
  });
}

/**
 * The predicted class of every row of logits [N · C]: the first maximum (±∞ allowed: a masked class is −∞).
 *
 * @throws LongTailError `NON_FINITE` for a NaN logit (an arg-max over NaN would silently say class 0).
 */
export function argmaxLogits(logits: ArrayLike<number>, numClasses: number): Int32Array {
  checkRowLength('logits', logits, numClasses);
  return firstMaxRows(logits, numClasses, (v, index) => {
    if (Number.isNaN(v)) {
      const row = Math.floor(index / numClasses);
      throw new LongTailError('NON_FINITE', `expected logits without NaN. Received: logits[${row}, ${index - row * numClasses}]=NaN (the model's output for input row ${row}; check that row's inputs and the weights)`, { name: 'logits', index });
    }
  }).predictions;
}

function checkRowLength(name: string, values: ArrayLike<number>, numClasses: number): void {
  checkInteger('numClasses', numClasses, { min: 1 });
  if (values.length % numClasses !== 0) throw invalid('SHAPE_MISMATCH', `${name}.length to be a multiple of numClasses=${numClasses}`, `${name}.length`, values.length);
}

/** First maximum of every row and its value, after `check(value, flatIndex)` of each entry. */
function firstMaxRows(values: ArrayLike<number>, numClasses: number, check: (v: number, index: number) => void): { predictions: Int32Array; confidences: Float64Array } {
  const n = values.length / numClasses;
  const predictions = new Int32Array(n);
  const confidences = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bestV = -Infinity;
    for (let j = 0; j < numClasses; j++) {
      const v = values[i * numClasses + j] as number;
      check(v, i * numClasses + j);
      if (v > bestV) {
        bestV = v;
        best = j;
      }
    }
    predictions[i] = best;
    confidences[i] = bestV;
  }
  return { predictions, confidences };
}

/** Bin of a confidence c ∈ [0, 1] among B equal-width bins (k/B, (k+1)/B]; c = 0 goes to bin 0. */
export function confidenceBin(c: number, bins: number): number {
  let b = Math.min(bins - 1, Math.max(0, Math.ceil(c * bins) - 1));
  // c · B can round across a boundary; settle it against the exact edges k / B.
  while (b > 0 && c <= b / bins) b--;
  while (b < bins - 1 && c > (b + 1) / bins) b++;
  return b;
}

const PROBABILITY_KEYS: OptionKeys<ProbabilityInputs> = { probabilities: true, labels: true, numClasses: true, bins: true };

/**
 * Expected calibration error (Naeini et al. 2015; Guo et al. 2017, "On Calibration of Modern Neural
 * Networks"): with confidence c_i = max_j p_ij, prediction ŷ_i = argmax_j p_ij and B equal-width bins
 * (default 15) over (0, 1], ECE = Σ_b (|B_b| / N) · |acc(B_b) − conf(B_b)|.
 */
export function expectedCalibrationError(inputs: ProbabilityInputs): number {
  checkOptions('expectedCalibrationError inputs', inputs, PROBABILITY_KEYS);
  const bins = checkInteger('bins', inputs.bins ?? 15, { min: 1 });
  const { predictions, confidences } = argmaxRows(inputs.probabilities, inputs.numClasses);
  const labels = checkLabels('labels', inputs.labels, inputs.numClasses);
  checkSameSize('labels.length = probabilities rows', predictions.length, 'labels.length', labels.length);
  const state = new CalibrationBins(bins);
  state.add(confidences, predictions, labels);
  return state.ece();
}

/** Accumulated calibration bins: count, Σ confidence and Σ correct per bin. */
export class CalibrationBins {
  readonly count: Float64Array;
  readonly confidence: Float64Array;
  readonly correct: Float64Array;

  constructor(readonly bins: number) {
    this.count = new Float64Array(bins);
    this.confidence = new Float64Array(bins);
    this.correct = new Float64Array(bins);
  }

  /** Adds samples: top-1 confidence, predicted class and true label per sample. */
  add(confidences: Float64Array, predictions: Int32Array, labels: Int32Array): void {
    for (let i = 0; i < labels.length; i++) {
      const c = confidences[i] as number;
      const b = confidenceBin(c, this.bins);
      this.count[b] = (this.count[b] as number) + 1;
      this.confidence[b] = (this.confidence[b] as number) + c;
      if (predictions[i] === labels[i]) this.correct[b] = (this.correct[b] as number) + 1;
    }
  }

  /** Σ_b |Σ correct − Σ confidence| / N (the same as Σ_b (|B_b|/N)·|acc − conf|); NaN for N = 0. */
  ece(): number {
    let n = 0;
    let s = 0;
    for (let b = 0; b < this.bins; b++) {
      n += this.count[b] as number;
      s += Math.abs((this.correct[b] as number) - (this.confidence[b] as number));
    }
    return n === 0 ? NaN : s / n;
  }

  /** Empties every bin. */
  reset(): void {
    this.count.fill(0);
    this.confidence.fill(0);
    this.correct.fill(0);
  }
}
