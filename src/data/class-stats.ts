/**
 * Class statistics of a labelled training set: counts, prior, imbalance factor and the many / medium /
 * few-shot groups used by the long-tail evaluation protocol (Liu et al. 2019, "Large-Scale Long-Tailed
 * Recognition in an Open World"; Kang et al. 2020).
 */
import { LongTailError, invalid } from '../core/errors.js';
import { checkOptions, type OptionKeys } from '../core/options.js';
import { checkClassCounts, checkInteger, checkLabels, checkRange } from '../core/validate.js';

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
 * Gini coefficient of the class counts (the standard mean-absolute-difference form, over the C classes of
 * the label space, absent classes included as n_j = 0):
 *
 *   G = Σ_i Σ_j |n_i − n_j| / (2 · C · Σ_k n_k)
 *
 * 0 when every class has the same count; at most (C − 1) / C (one class holds every sample). For the
 * exponential CIFAR-100-LT profile with IF = 100 (n_i = ⌊500 · 100^(−i/99)⌋, 10 847 samples) G = 0.592.
 * It depends only on the multiset of counts, so renumbering the classes never changes it.
 *
 * HeroLT (Wang et al. 2023, `SSSKJ/HeroLT` `tools/evaluations.py::Gini`) applies the same formula to the
 * per-sample class *indices* y_1..y_N instead (Σ_{a<b} |y_a − y_b| / (N² · mean y)), which measures how
 * spread the index values are, not how the samples are shared among classes: its published 0.498 for
 * CIFAR-100-LT IF 100 holds only when class 0 is the head, and drops to 0.125 when the class order is
 * reversed. The two are different statistics; this library reports the one on counts.
 *
 * Computed in O(C log C) from the sorted counts: G = Σ_k (2k − C − 1) · n_(k) / (C · Σ n), k = 1..C ascending.
 *
 * @throws LongTailError `INVALID_OPTION` for negative or non-finite counts; `EMPTY_CLASS` when all are 0.
 */
export function giniCoefficient(counts: ArrayLike<number>): number {
  const n = checkClassCounts('counts', counts).sort();
  const c = n.length;
  let total = 0;
  let weighted = 0;
  n.forEach((v, k) => {
    total += v;
    weighted += (2 * (k + 1) - c - 1) * v;
  });
  if (!(total > 0)) throw invalid('EMPTY_CLASS', 'at least one class with a positive count', 'counts', counts);
  return weighted / (c * total);
}

/** Options of {@link topClassShare}. */
export interface TopClassShareOptions {
  /** Fraction f ∈ (0, 1] of the classes, largest first. Default 0.2 (the "top 20 %" of the 80/20 rule). */
  readonly classFraction?: number;
}

/** Options of {@link classFractionHolding}. */
export interface ClassFractionHoldingOptions {
  /** Share s ∈ (0, 1] of the samples to cover, largest classes first. Default 0.8 (the 80/20 rule). */
  readonly sampleShare?: number;
}

const TOP_SHARE_KEYS: OptionKeys<TopClassShareOptions> = { classFraction: true };
const HOLDING_KEYS: OptionKeys<ClassFractionHoldingOptions> = { sampleShare: true };

/** Forgives the last bits of a product such as 0.7 · 10 = 7.000000000000001 before rounding it. */
const RELATIVE_SLACK = 1e-12;

/** Counts sorted largest first, with their total (validated, at least one positive). */
function descending(counts: ArrayLike<number>): { sorted: Float64Array; total: number } {
  const sorted = checkClassCounts('counts', counts).sort().reverse();
  const total = sorted.reduce((a, b) => a + b, 0);
  if (!(total > 0)) throw invalid('EMPTY_CLASS', 'at least one class with a positive count', 'counts', counts);
  return { sorted, total };
}

/**
 * Head share: the share of the samples held by the k = ⌈f · C⌉ largest classes,
 * Σ_{r ≤ k} n_(r) / Σ n with n_(1) ≥ n_(2) ≥ … (Pareto's 80/20 reading: with f = 0.2, how much of the data
 * the top fifth of the classes hold). Equals k / C when the classes are balanced, 1 in the extreme.
 * CIFAR-100-LT IF 100: the top 20 classes hold 0.613 of the samples.
 *
 * @throws LongTailError `INVALID_OPTION` for f outside (0, 1] or bad counts; `EMPTY_CLASS` when all are 0.
 */
export function topClassShare(counts: ArrayLike<number>, options: TopClassShareOptions = {}): number {
  checkOptions('topClassShare options', options, TOP_SHARE_KEYS);
  const f = checkRange('classFraction', options.classFraction ?? 0.2, { min: 0, minExclusive: true, max: 1 });
  const { sorted, total } = descending(counts);
  const k = Math.max(1, Math.ceil(f * sorted.length * (1 - RELATIVE_SLACK)));
  let head = 0;
  for (let r = 0; r < k; r++) head += sorted[r] as number;
  return head / total;
}

/**
 * Pareto index: the fraction of the classes that hold a share s of the samples, k* / C with
 * k* = min { k : Σ_{r ≤ k} n_(r) ≥ s · Σ n }, largest classes first (with s = 0.8: "which fraction of the
 * classes holds 80 % of the data"; s itself when balanced and s · C is an integer, 1 / C in the extreme).
 * CIFAR-100-LT IF 100: 34 of the 100 classes hold 80 % of the samples, 0.34. HeroLT's "Pareto" column
 * (`LT_Ratio(labels, 0.8)`) divides this class count by the number of smallest classes that hold the other
 * 20 % (67 here); this library reports the fraction, which stays in (0, 1] and does not need a second cut.
 *
 * @throws LongTailError `INVALID_OPTION` for s outside (0, 1] or bad counts; `EMPTY_CLASS` when all are 0.
 */
export function classFractionHolding(counts: ArrayLike<number>, options: ClassFractionHoldingOptions = {}): number {
  checkOptions('classFractionHolding options', options, HOLDING_KEYS);
  const s = checkRange('sampleShare', options.sampleShare ?? 0.8, { min: 0, minExclusive: true, max: 1 });
  const { sorted, total } = descending(counts);
  const want = s * total * (1 - RELATIVE_SLACK);
  let acc = 0;
  for (let r = 0; r < sorted.length; r++) {
    acc += sorted[r] as number;
    if (acc >= want) return (r + 1) / sorted.length;
  }
  return 1;
}

/**
 * Immutable class statistics of a training set.
 *
 * - `counts[j]` = n_j, `total` = Σ n_j
 * - `prior[j]` = π_j = n_j / Σ n
 * - `imbalanceFactor` = IF = max n_j / min n_j over classes with n_j > 0
 * - `gini` = Σ_i Σ_j |n_i − n_j| / (2 C Σ n) over all C classes ({@link giniCoefficient}; 0 when balanced)
 * - `headShare` = share of the samples in the ⌈C / 5⌉ largest classes ({@link topClassShare})
 * - `paretoFraction` = fraction of the classes (largest first) holding 80 % of the samples
 *   ({@link classFractionHolding})
 * - `groups[j]` ∈ many / medium / few by the thresholds (defaults n > 100, n < 20)
 *
 * @example
 * ```ts
 * const stats = ClassStats.fromLabels(train.y, { numClasses: 10 });
 * stats.imbalanceFactor; // 100
 * stats.gini;            // 0 for balanced counts, 0.592 for CIFAR-100-LT IF 100
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
  /**
   * Gini coefficient of the counts over all C classes, Σ_i Σ_j |n_i − n_j| / (2 C Σ n): 0 when balanced,
   * (C − 1) / C at most. Not HeroLT's per-sample-index Gini (see {@link giniCoefficient}).
   */
  readonly gini: number;
  /** Share of the samples held by the ⌈0.2 · C⌉ largest classes ({@link topClassShare} with f = 0.2). */
  readonly headShare: number;
  /** Fraction of the classes, largest first, that hold 80 % of the samples ({@link classFractionHolding}). */
  readonly paretoFraction: number;
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
    this.gini = giniCoefficient(counts);
    this.headShare = topClassShare(counts);
    this.paretoFraction = classFractionHolding(counts);
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
