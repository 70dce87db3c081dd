/**
 * The evaluation report every example and benchmark prints: top-1, balanced accuracy, many / medium / few,
 * per-class accuracy and ECE, from a streaming accumulator ({@link ClassificationMetrics}) or in one call
 * ({@link evaluatePredictions}), and its console table ({@link formatReport}).
 */
import { invalid } from '../core/errors.js';
import { checkOptions, type OptionKeys } from '../core/options.js';
import { checkClassCounts, checkInteger, checkLabels, checkSameSize } from '../core/validate.js';
import { ClassStats, resolveShotThresholds, SHOT_GROUPS, shotGroupOf } from '../data/class-stats.js';
import type { ShotGroup, ShotThresholds } from '../data/class-stats.js';
import {
  accuracyFromConfusion,
  argmaxRows,
  CalibrationBins,
  groupAccuracyFromPerClass,
  nanMean,
  perClassFromConfusion,
} from './classification.js';
import type { ShotGroupResult } from './classification.js';

/** The result of an evaluation: plain JSON-friendly numbers (accuracies in [0, 1]; NaN where undefined). */
export interface EvaluationReport {
  readonly numSamples: number;
  readonly numClasses: number;
  /** Top-1 accuracy over all samples. */
  readonly top1: number;
  /** Mean per-class accuracy over the classes present in the evaluated labels. */
  readonly balancedAccuracy: number;
  /** Accuracy of every class (NaN for a class absent from the evaluated labels). */
  readonly perClass: readonly number[];
  /** Evaluated samples per class. */
  readonly testCounts: readonly number[];
  /** Training count per class, when given (defines the groups). */
  readonly trainCounts?: readonly number[];
  /** Many / medium / few-shot accuracy (mean per-class accuracy of each group), when trainCounts is given. */
  readonly groups?: Readonly<Record<ShotGroup, ShotGroupResult>>;
  /** The thresholds that made the groups (many n > manyAbove, few n < fewBelow), with `groups`. */
  readonly shotThresholds?: { readonly manyAbove: number; readonly fewBelow: number };
  /** Expected calibration error (15 bins by default), when probabilities were given. */
  readonly ece?: number;
}

/** Options of {@link ClassificationMetrics} and {@link evaluatePredictions}. */
export interface MetricsOptions extends ShotThresholds {
  readonly numClasses: number;
  /** Training counts n_j (or the training set's {@link ClassStats}), for the many / medium / few groups. */
  readonly trainCounts?: ArrayLike<number> | ClassStats;
  /** Calibration bins. Default 15. */
  readonly bins?: number;
}

/** One batch for {@link ClassificationMetrics.update}: labels with predicted classes or probabilities [N · C]. */
export type MetricsBatch =
  | { readonly labels: ArrayLike<number>; readonly predictions: ArrayLike<number>; readonly probabilities?: undefined }
  | { readonly labels: ArrayLike<number>; readonly probabilities: ArrayLike<number>; readonly predictions?: undefined };

const METRICS_KEYS: OptionKeys<MetricsOptions> = { numClasses: true, trainCounts: true, bins: true, manyAbove: true, fewBelow: true };
const EVALUATE_KEYS: OptionKeys<MetricsOptions & { labels: unknown; predictions: unknown; probabilities: unknown }> = {
  ...METRICS_KEYS,
  labels: true,
  predictions: true,
  probabilities: true,
};
const FORMAT_KEYS: OptionKeys<FormatReportOptions> = { classNames: true, perClass: true, title: true };

/**
 * Streaming classification metrics (torchmetrics-style update / compute / reset): holds a C × C confusion
 * matrix and calibration bins, so evaluation over many batches needs no stored predictions.
 *
 * @example
 * ```ts
 * const metrics = new ClassificationMetrics({ numClasses: 10, trainCounts: stats });
 * for (const batch of batches) metrics.update({ labels: batch.y, probabilities: await probs.data() });
 * const table = formatReport(metrics.compute());
 * ```
 */
export class ClassificationMetrics {
  readonly numClasses: number;
  private readonly matrix: Int32Array;
  private readonly calibration: CalibrationBins;
  private readonly trainCounts: Float64Array | undefined;
  private readonly thresholds: { manyAbove: number; fewBelow: number };
  private sawProbabilities = false;

  constructor(options: MetricsOptions) {
    checkOptions('ClassificationMetrics options', options, METRICS_KEYS);
    this.numClasses = checkInteger('numClasses', options.numClasses, { min: 1 });
    this.thresholds = resolveShotThresholds(
      options.trainCounts instanceof ClassStats ? { ...options.trainCounts.thresholds, ...definedThresholds(options) } : definedThresholds(options),
    );
    const counts = options.trainCounts instanceof ClassStats ? options.trainCounts.counts : options.trainCounts;
    if (counts !== undefined) {
      this.trainCounts = checkClassCounts('trainCounts', counts);
      checkSameSize('trainCounts.length = numClasses', this.numClasses, 'trainCounts.length', this.trainCounts.length);
    } else {
      this.trainCounts = undefined;
    }
    this.matrix = new Int32Array(this.numClasses * this.numClasses);
    this.calibration = new CalibrationBins(checkInteger('bins', options.bins ?? 15, { min: 1 }));
  }

  /** Adds a batch. All validation runs before any state changes, so a bad batch leaves the state intact. */
  update(batch: MetricsBatch): this {
    const c = this.numClasses;
    const labels = checkLabels('labels', batch.labels, c);
    if (batch.probabilities !== undefined) {
      const { predictions, confidences } = argmaxRows(batch.probabilities, c);
      checkSameSize('labels.length = probabilities rows', predictions.length, 'labels.length', labels.length);
      this.calibration.add(confidences, predictions, labels);
      this.sawProbabilities = true;
      this.addPredictions(labels, predictions);
    } else if (batch.predictions !== undefined) {
      const predictions = checkLabels('predictions', batch.predictions, c);
      checkSameSize('predictions.length = labels.length', labels.length, 'predictions.length', predictions.length);
      this.addPredictions(labels, predictions);
    } else {
      throw invalid('MISSING_INPUT', 'predictions or probabilities', 'batch', Object.keys(batch));
    }
    return this;
  }

  private addPredictions(labels: Int32Array, predictions: Int32Array): void {
    const c = this.numClasses;
    for (let i = 0; i < labels.length; i++) {
      const k = (labels[i] as number) * c + (predictions[i] as number);
      this.matrix[k] = (this.matrix[k] as number) + 1;
    }
  }

  /** A copy of the accumulated confusion matrix, row-major [true · C + predicted]. */
  confusionMatrix(): Int32Array {
    return this.matrix.slice();
  }

  /** The report of everything seen since construction or the last reset. */
  compute(): EvaluationReport {
    const c = this.numClasses;
    const perClass = perClassFromConfusion(this.matrix, c);
    const testCounts = Array.from({ length: c }, (_, t) => {
      let row = 0;
      for (let p = 0; p < c; p++) row += this.matrix[t * c + p] as number;
      return row;
    });
    const report: EvaluationReport = {
      numSamples: testCounts.reduce((a, b) => a + b, 0),
      numClasses: c,
      top1: accuracyFromConfusion(this.matrix, c),
      balancedAccuracy: nanMean(perClass),
      perClass: Array.from(perClass),
      testCounts,
      ...(this.trainCounts === undefined
        ? {}
        : {
            trainCounts: Array.from(this.trainCounts),
            groups: groupAccuracyFromPerClass(perClass, { trainCounts: this.trainCounts, ...this.thresholds }),
            shotThresholds: { ...this.thresholds },
          }),
      ...(this.sawProbabilities ? { ece: this.calibration.ece() } : {}),
    };
    return report;
  }

  /** Clears the state. */
  reset(): void {
    this.matrix.fill(0);
    this.calibration.reset();
    this.sawProbabilities = false;
  }
}

function definedThresholds(o: ShotThresholds): ShotThresholds {
  return {
    ...(o.manyAbove === undefined ? {} : { manyAbove: o.manyAbove }),
    ...(o.fewBelow === undefined ? {} : { fewBelow: o.fewBelow }),
  };
}

/** {@link ClassificationMetrics} over one set of predictions or probabilities. */
export function evaluatePredictions(options: MetricsOptions & MetricsBatch): EvaluationReport {
  checkOptions('evaluatePredictions options', options, EVALUATE_KEYS);
  const { labels, predictions, probabilities, ...metrics } = options;
  const batch = (probabilities === undefined ? { labels, predictions } : { labels, probabilities }) as MetricsBatch;
  return new ClassificationMetrics(metrics).update(batch).compute();
}

/** Options of {@link formatReport}. */
export interface FormatReportOptions {
  /** Names of the classes for the per-class table; default the class index. */
  readonly classNames?: readonly string[];
  /** Include the per-class table. Default true. */
  readonly perClass?: boolean;
  /** A title line above the summary. */
  readonly title?: string;
}

function pct(v: number): string {
  return Number.isNaN(v) ? '—' : `${(100 * v).toFixed(2)}%`;
}

/**
 * A plain-text table of a report for the console: a summary line (top-1, balanced, ECE), the shot groups,
 * then one row per class (training count, group, test count, accuracy) ordered by class index.
 */
export function formatReport(report: EvaluationReport, options: FormatReportOptions = {}): string {
  checkOptions('formatReport options', options, FORMAT_KEYS);
  const lines: string[] = [];
  if (options.title !== undefined) lines.push(options.title);
  const ece = report.ece === undefined ? '' : `   ECE ${report.ece.toFixed(4)}`;
  lines.push(
    `top-1 ${pct(report.top1)}   balanced ${pct(report.balancedAccuracy)}${ece}   (${report.numSamples} samples, ${report.numClasses} classes)`,
  );
  if (report.groups !== undefined) {
    const g = report.groups;
    lines.push(SHOT_GROUPS.map((k) => `${k} ${pct(g[k].accuracy)} (${g[k].numClasses} classes)`).join('   '));
  }
  if (options.perClass ?? true) {
    const names = Array.from({ length: report.numClasses }, (_, j) => options.classNames?.[j] ?? String(j));
    const nameWidth = Math.max(5, ...names.map((n) => n.length));
    const thresholds = report.shotThresholds;
    const header = ['class'.padEnd(nameWidth), 'train'.padStart(7), 'group'.padEnd(6), 'test'.padStart(6), 'accuracy'.padStart(9)];
    lines.push(header.join('  '));
    for (let j = 0; j < report.numClasses; j++) {
      const n = report.trainCounts?.[j];
      const group = n === undefined || thresholds === undefined ? '' : shotGroupOf(n, thresholds);
      lines.push(
        [
          (names[j] as string).padEnd(nameWidth),
          (n === undefined ? '' : String(n)).padStart(7),
          group.padEnd(6),
          String(report.testCounts[j]).padStart(6),
          pct(report.perClass[j] as number).padStart(9),
        ].join('  '),
      );
    }
  }
  return lines.join('\n');
}
