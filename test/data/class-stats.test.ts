import { describe, expect, it } from 'vitest';
import { ClassStats } from '../../src/data/class-stats.js';
import { LongTailError } from '../../src/core/errors.js';

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
