/**
 * Class statistics of a labelled training set: counts, prior, imbalance factor and the many / medium /
 * few-shot groups used by the long-tail evaluation protocol (Liu et al. 2019, "Large-Scale Long-Tailed
 * Recognition in an Open World"; Kang et al. 2020).
 */
import { LongTailError, invalid } from '../core/errors.js';
import { checkOptions, type OptionKeys } from '../core/options.js';
import { checkClassCounts, checkInteger, checkLabels } from '../core/validate.js';

/** The shot group of a class: many (n > manyAbove), few (n < fewBelow) or medium (otherwise). */
export type ShotGroup = 'many' | 'medium' | 'few';

/** The three shot groups in display order. */
export const SHOT_GROUPS: readonly ShotGroup[] = ['many', 'medium', 'few'];

/** Thresholds of the shot groups. Defaults are the protocol's: many n > 100, few n < 20. */
export interface ShotThresholds {
  /** A class is "many-shot" when its training count is strictly greater than this. Default 100. */
  readonly manyAbove?: number;
  /** A class is "few-shot" when its training count is strictly less than this. Default 20. */
  readonly fewBelow?: number;
}

/** Options of {@link ClassStats.fromLabels}. */
export interface ClassStatsOptions extends ShotThresholds {
  /** Number of classes C; default max(label) + 1. Labels must lie in [0, C). */
  readonly numClasses?: number;
}

const THRESHOLD_KEYS: OptionKeys<ShotThresholds> = { manyAbove: true, fewBelow: true };
const STATS_KEYS: OptionKeys<ClassStatsOptions> = { ...THRESHOLD_KEYS, numClasses: true };

/** The threshold fields of a larger options object (whose own keys its owner has checked). */
function thresholdsOf(o: ShotThresholds): ShotThresholds {
  return { ...(o.manyAbove === undefined ? {} : { manyAbove: o.manyAbove }), ...(o.fewBelow === undefined ? {} : { fewBelow: o.fewBelow }) };
}

/** Resolves and validates shot thresholds (shared with the metrics). */
export function resolveShotThresholds(options: ShotThresholds = {}): { manyAbove: number; fewBelow: number } {
  checkOptions('shot thresholds', options, THRESHOLD_KEYS);
  const manyAbove = options.manyAbove ?? 100;
  const fewBelow = options.fewBelow ?? 20;
  checkInteger('manyAbove', manyAbove);
  checkInteger('fewBelow', fewBelow);
  if (fewBelow > manyAbove + 1) {
    throw invalid('INVALID_OPTION', `fewBelow <= manyAbove + 1 (the groups may not overlap)`, 'fewBelow', fewBelow, {
      manyAbove,
    });
  }
  return { manyAbove, fewBelow };
}

/** The shot group of a class with training count `n`. */
export function shotGroupOf(n: number, thresholds: { manyAbove: number; fewBelow: number }): ShotGroup {
  if (n > thresholds.manyAbove) return 'many';
  if (n < thresholds.fewBelow) return 'few';
  return 'medium';
}

/**
 * Immutable class statistics of a training set.
 *
 * - `counts[j]` = n_j, `total` = Σ n_j
 * - `prior[j]` = π_j = n_j / Σ n
 * - `imbalanceFactor` = IF = max n_j / min n_j over classes with n_j > 0
 * - `groups[j]` ∈ many / medium / few by the thresholds (defaults n > 100, n < 20)
 *
 * @example
 * ```ts
 * const stats = ClassStats.fromLabels(train.y, { numClasses: 10 });
 * stats.imbalanceFactor; // 100
 * stats.checkCovers(test.y); // throws EMPTY_CLASS if a test class never occurs in training
 * ```
 */
export class ClassStats {
  /** Number of classes C. */
  readonly numClasses: number;
  /** n_j, length C. */
  readonly counts: Int32Array;
  /** Σ n_j. */
  readonly total: number;
  /** π_j = n_j / Σ n, length C. */
  readonly prior: Float64Array;
  /** max n_j / min n_j over the classes present (n_j > 0). */
  readonly imbalanceFactor: number;
  /** The thresholds the groups were made with. */
  readonly thresholds: { readonly manyAbove: number; readonly fewBelow: number };
  /** Shot group of every class, length C. */
  readonly groups: readonly ShotGroup[];

  private constructor(counts: Int32Array, thresholds: { manyAbove: number; fewBelow: number }) {
    this.numClasses = counts.length;
    this.counts = counts;
    let total = 0;
    let max = 0;
    let min = Infinity;
    for (const n of counts) {
      total += n;
      if (n > 0) {
        max = Math.max(max, n);
        min = Math.min(min, n);
      }
    }
    this.total = total;
    this.prior = Float64Array.from(counts, (n) => (total > 0 ? n / total : 0));
    this.imbalanceFactor = total > 0 ? max / min : NaN;
    this.thresholds = thresholds;
    this.groups = Array.from(counts, (n) => shotGroupOf(n, thresholds));
  }

  /**
   * Counts the classes of integer labels.
   *
   * @throws LongTailError `LABEL_OUT_OF_RANGE` for negative, non-integer or ≥ C labels;
   *   `INVALID_OPTION` for bad thresholds; `EMPTY_CLASS` for an empty label array.
   */
  static fromLabels(labels: ArrayLike<number>, options: ClassStatsOptions = {}): ClassStats {
    checkOptions('ClassStats.fromLabels options', options, STATS_KEYS);
    const thresholds = resolveShotThresholds(thresholdsOf(options));
    const y = checkLabels('labels', labels, options.numClasses);
    if (y.length === 0) throw invalid('EMPTY_CLASS', 'at least one label', 'labels.length', 0);
    let numClasses = options.numClasses ?? 0;
    if (options.numClasses === undefined) for (const v of y) numClasses = Math.max(numClasses, v + 1);
    const counts = new Int32Array(numClasses);
    for (const v of y) counts[v] = (counts[v] as number) + 1;
    return new ClassStats(counts, thresholds);
  }

  /** Statistics from per-class counts n_j (non-negative integers, at least one positive). */
  static fromCounts(counts: ArrayLike<number>, options: ShotThresholds = {}): ClassStats {
    checkOptions('ClassStats.fromCounts options', options, THRESHOLD_KEYS);
    const thresholds = resolveShotThresholds(options);
    const checked = checkClassCounts('counts', counts);
    checked.forEach((n, j) => {
      if (!Number.isInteger(n)) throw invalid('INVALID_OPTION', 'integer class counts', `counts[${j}]`, n);
    });
    if (checked.every((n) => n === 0)) {
      throw invalid('EMPTY_CLASS', 'at least one class with a positive count', 'counts', counts);
    }
    return new ClassStats(Int32Array.from(checked), thresholds);
  }

  /** Class indices of one shot group, ascending. */
  classesIn(group: ShotGroup): Int32Array {
    const out: number[] = [];
    this.groups.forEach((g, j) => {
      if (g === group) out.push(j);
    });
    return Int32Array.from(out);
  }

  /**
   * Checks that every label of another set (e.g. the test set) is a class seen in training: labels must lie
   * in [0, C) and have n_j > 0.
   *
   * @throws LongTailError `LABEL_OUT_OF_RANGE` (label ≥ C or invalid) or `EMPTY_CLASS` (a class with no
   *   training samples).
   */
  checkCovers(labels: ArrayLike<number>, name = 'labels'): void {
    const y = checkLabels(name, labels, this.numClasses);
    for (let i = 0; i < y.length; i++) {
      const c = y[i] as number;
      if (this.counts[c] === 0) {
        throw new LongTailError(
          'EMPTY_CLASS',
          `expected every class in ${name} to occur in training. Received: ${name}[${i}]=${c} with training count 0`,
          { name, index: i, value: c },
        );
      }
    }
  }
}
