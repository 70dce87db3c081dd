import { describe, expect, it } from 'vitest';
import { ClassStats, classFractionHolding, giniCoefficient, topClassShare } from '../../src/data/class-stats.js';
import { longTailCounts } from '../../src/data/long-tail.js';
import { LongTailError } from '../../src/core/errors.js';
import { seededRng } from '../../src/core/rng.js';

function labelsFromCounts(counts: number[]): Int32Array {
  const out: number[] = [];
  counts.forEach((n, j) => {
    for (let k = 0; k < n; k++) out.push(j);
  });
  // Interleave so the order does not matter.
  return Int32Array.from(out.reverse());
}

describe('ClassStats', () => {
  const counts = [600, 359, 215, 129, 77, 46, 27, 16, 10, 6];

  it('counts, prior, imbalance factor and groups match a naive computation', () => {
    const stats = ClassStats.fromLabels(labelsFromCounts(counts));
    expect(Array.from(stats.counts)).toEqual(counts);
    const total = counts.reduce((a, b) => a + b, 0);
    expect(stats.total).toBe(total);
    stats.prior.forEach((p, j) => expect(p).toBeCloseTo((counts[j] as number) / total, 15));
    expect(stats.imbalanceFactor).toBe(100);
    expect(stats.groups).toEqual(['many', 'many', 'many', 'many', 'medium', 'medium', 'medium', 'few', 'few', 'few']);
    expect(Array.from(stats.classesIn('medium'))).toEqual([4, 5, 6]);
    expect(ClassStats.fromCounts(counts).groups).toEqual(stats.groups);
  });

  it('thresholds are inclusive the way the protocol says: 100 is medium, 20 is medium, 19 is few, 101 is many', () => {
    const stats = ClassStats.fromCounts([101, 100, 20, 19]);
    expect(stats.groups).toEqual(['many', 'medium', 'medium', 'few']);
    const custom = ClassStats.fromCounts([101, 100, 20, 19], { manyAbove: 50, fewBelow: 30 });
    expect(custom.groups).toEqual(['many', 'many', 'few', 'few']);
    expect(ClassStats.fromCounts([51, 50, 30, 29], { manyAbove: 50, fewBelow: 30 }).groups).toEqual(['many', 'medium', 'medium', 'few']);
  });

  it('numClasses adds absent classes; the imbalance factor ignores them', () => {
    const stats = ClassStats.fromLabels(Int32Array.from([0, 0, 0, 0, 2]), { numClasses: 4 });
    expect(Array.from(stats.counts)).toEqual([4, 0, 1, 0]);
    expect(stats.imbalanceFactor).toBe(4);
    expect(stats.groups[1]).toBe('few');
  });

  it('rejects bad labels and options with stable codes and messages', () => {
    expect(() => ClassStats.fromLabels([0, -1])).toThrow('expected labels >= 0. Received: labels[1]=-1');
    expect(() => ClassStats.fromLabels([0, 1.5])).toThrow('expected labels to be integers. Received: labels[1]=1.5');
    expect(() => ClassStats.fromLabels([0, 3], { numClasses: 3 })).toThrow('expected labels in [0, 3). Received: labels[1]=3');
    expect(() => ClassStats.fromLabels([])).toThrow('expected at least one label. Received: labels.length=0');
    expect(() => ClassStats.fromCounts([0, 0])).toThrow(/at least one class with a positive count/);
    expect(() => ClassStats.fromCounts([1.5, 2])).toThrow('expected integer class counts. Received: counts[0]=1.5');
    expect(() => ClassStats.fromCounts([5], { manyAbove: 10, fewBelow: 50 })).toThrow(
      'expected fewBelow <= manyAbove + 1 (the groups may not overlap). Received: fewBelow=50',
    );
    try {
      ClassStats.fromLabels([]);
    } catch (e) {
      expect((e as LongTailError).code).toBe('EMPTY_CLASS');
    }
  });

  it('checkCovers flags a test class that never occurs in training', () => {
    const stats = ClassStats.fromLabels(Int32Array.from([0, 0, 2]), { numClasses: 3 });
    expect(() => stats.checkCovers(Int32Array.from([0, 2]))).not.toThrow();
    let err: unknown;
    try {
      stats.checkCovers(Int32Array.from([0, 1, 2]), 'testLabels');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LongTailError);
    expect((err as LongTailError).code).toBe('EMPTY_CLASS');
    expect((err as LongTailError).message).toBe(
      'expected every class in testLabels to occur in training. Received: testLabels[1]=1 with training count 0',
    );
    expect(() => stats.checkCovers([3])).toThrow(/LABEL|expected labels in \[0, 3\)/);
  });
});

/** CIFAR-100-LT, IF 100: n_i = ⌊500 · 100^(−i/99)⌋, 10 847 samples. */
const CIFAR100_LT = longTailCounts({ profile: 'exponential', numClasses: 100, maxCount: 500, imbalanceFactor: 100 });

/** Naive reference: G = Σ_i Σ_j |n_i − n_j| / (2 C Σ n), the double sum as written. */
function naiveGini(counts: ArrayLike<number>): number {
  let num = 0;
  let total = 0;
  for (let i = 0; i < counts.length; i++) {
    total += counts[i] as number;
    for (let j = 0; j < counts.length; j++) num += Math.abs((counts[i] as number) - (counts[j] as number));
  }
  return num / (2 * counts.length * total);
}

/**
 * HeroLT's Gini (SSSKJ/HeroLT, HeroLT/tools/evaluations.py::Gini), transcribed: the formula applied to the
 * per-sample class indices, Σ_{a<b} |y_a − y_b| / (N² · mean y). A reference for the documentation only.
 */
function heroLtGini(labels: Int32Array): number {
  let total = 0;
  let sum = 0;
  for (let a = 0; a < labels.length; a++) {
    const ya = labels[a] as number;
    sum += ya;
    for (let b = a + 1; b < labels.length; b++) total += Math.abs(ya - (labels[b] as number));
  }
  const n = labels.length;
  return total / (n * n * (sum / n));
}

function labelsOf(counts: ArrayLike<number>, classOf: (j: number) => number = (j) => j): Int32Array {
  const out: number[] = [];
  for (let j = 0; j < counts.length; j++) for (let k = 0; k < (counts[j] as number); k++) out.push(classOf(j));
  return Int32Array.from(out);
}

describe('long-tailedness descriptors', () => {
  it('Gini of the class counts: 0 when balanced, 0.592 for CIFAR-100-LT IF 100, equal to the naive double sum', () => {
    expect(CIFAR100_LT.reduce((a, b) => a + b, 0)).toBe(10847);
    expect(giniCoefficient(CIFAR100_LT)).toBeCloseTo(naiveGini(CIFAR100_LT), 14);
    expect(giniCoefficient(CIFAR100_LT).toFixed(3)).toBe('0.592');
    // The C/(C−1) "unbiased" normalization would give 0.598: the published 0.592 is the 1/(2 C Σn) form.
    expect(((giniCoefficient(CIFAR100_LT) * 100) / 99).toFixed(3)).toBe('0.598');
    expect(giniCoefficient([7, 7, 7, 7])).toBe(0);
    expect(giniCoefficient([0, 0, 9])).toBeCloseTo(2 / 3, 15); // (C − 1) / C
    const cifar10 = longTailCounts({ profile: 'exponential', numClasses: 10, maxCount: 5000, imbalanceFactor: 100 });
    expect(giniCoefficient(cifar10)).toBeCloseTo(naiveGini(cifar10), 14);
    const stats = ClassStats.fromCounts(CIFAR100_LT);
    expect(stats.gini).toBe(giniCoefficient(CIFAR100_LT));
    expect(ClassStats.fromCounts([3, 3, 3]).gini).toBe(0);
    // Absent classes are part of the label space: they count as n_j = 0.
    expect(ClassStats.fromLabels([0, 0, 1, 1], { numClasses: 3 }).gini).toBeCloseTo(naiveGini([2, 2, 0]), 15);
  });

  it('HeroLT\'s per-sample Gini is 0.498 only for one class numbering; ours does not see the numbering', () => {
    const headFirst = labelsOf(CIFAR100_LT);
    expect(heroLtGini(headFirst).toFixed(3)).toBe('0.498');
    const reversed = labelsOf(CIFAR100_LT, (j) => 99 - j);
    const shuffledIds = seededRng('perm').shuffle(Int32Array.from({ length: 100 }, (_, j) => j));
    const permuted = labelsOf(CIFAR100_LT, (j) => shuffledIds[j] as number);
    expect(heroLtGini(reversed).toFixed(3)).toBe('0.125');
    expect(Math.abs(heroLtGini(permuted) - heroLtGini(headFirst))).toBeGreaterThan(0.05);
    const g = ClassStats.fromLabels(headFirst).gini;
    expect(ClassStats.fromLabels(reversed).gini).toBeCloseTo(g, 15);
    expect(ClassStats.fromLabels(permuted).gini).toBeCloseTo(g, 15);
  });

  it('head share (top 20 % of classes) and Pareto fraction (classes holding 80 %) against a sort-and-sum reference', () => {
    const sorted = Array.from(CIFAR100_LT).sort((a, b) => b - a);
    const total = sorted.reduce((a, b) => a + b, 0);
    const top20 = sorted.slice(0, 20).reduce((a, b) => a + b, 0) / total;
    expect(topClassShare(CIFAR100_LT)).toBeCloseTo(top20, 15);
    expect(topClassShare(CIFAR100_LT).toFixed(3)).toBe('0.613');
    let acc = 0;
    let k = 0;
    while (acc < 0.8 * total) acc += sorted[k++] as number;
    expect(k).toBe(34);
    expect(classFractionHolding(CIFAR100_LT)).toBe(0.34);
    const stats = ClassStats.fromCounts(CIFAR100_LT);
    expect(stats.headShare).toBe(topClassShare(CIFAR100_LT));
    expect(stats.paretoFraction).toBe(0.34);
    // Balanced: the top 20 % hold 20 %, 80 % of the classes hold 80 % (no rounding drift at 0.7 · 10).
    expect(topClassShare([5, 5, 5, 5, 5, 5, 5, 5, 5, 5])).toBeCloseTo(0.2, 15);
    expect(topClassShare([5, 5, 5, 5, 5, 5, 5, 5, 5, 5], { classFraction: 0.7 })).toBeCloseTo(0.7, 15);
    expect(classFractionHolding([5, 5, 5, 5, 5, 5, 5, 5, 5, 5])).toBe(0.8);
    expect(classFractionHolding([5, 5, 5, 5, 5, 5, 5, 5, 5, 5], { sampleShare: 0.7 })).toBe(0.7);
    // Order of the classes is irrelevant; one dominant class holds 80 % alone.
    expect(classFractionHolding([1, 1, 98, 0])).toBe(0.25);
    expect(topClassShare([1, 98, 1, 0], { classFraction: 0.25 })).toBeCloseTo(0.98, 15);
    // k = ⌈f · C⌉ rounds up: f = 0.2 of 3 classes is the largest one.
    expect(topClassShare([1, 2, 3])).toBeCloseTo(0.5, 15);
  });

  it('rejects bad counts and options (unknown keys, ranges) with stable codes', () => {
    const code = (f: () => unknown): string | undefined => {
      try {
        f();
      } catch (e) {
        return (e as LongTailError).code;
      }
      return undefined;
    };
    expect(() => giniCoefficient([0, 0])).toThrow('expected at least one class with a positive count');
    expect(code(() => giniCoefficient([0, 0]))).toBe('EMPTY_CLASS');
    expect(() => giniCoefficient([1, -1])).toThrow('expected every counts entry to be a finite number >= 0. Received: counts[1]=-1');
    expect(() => giniCoefficient([])).toThrow(/non-empty array of class counts/);
    expect(() => topClassShare([1, 2], { classFraction: 0 })).toThrow('expected classFraction in (0, 1]. Received: classFraction=0');
    expect(() => classFractionHolding([1, 2], { sampleShare: 1.5 })).toThrow('expected sampleShare in (0, 1]. Received: sampleShare=1.5');
    expect(() => topClassShare([1, 2], { classFracton: 0.2 } as never)).toThrow(
      'expected topClassShare options to be among classFraction. Received: classFracton (did you mean classFraction?)',
    );
    expect(code(() => classFractionHolding([1, 2], { sampleshare: 0.2 } as never))).toBe('UNKNOWN_OPTION');
  });
});
