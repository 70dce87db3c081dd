import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ClassStats } from '../../src/data/class-stats.js';
import {
  accuracy,
  balancedAccuracy,
  ClassificationMetrics,
  confusionMatrix,
  evaluatePredictions,
  expectedCalibrationError,
  perClassAccuracy,
  shotGroupAccuracy,
} from '../../src/metrics/index.js';
import { confidenceBin } from '../../src/metrics/classification.js';

interface GoldenCase {
  numClasses: number;
  labels: number[];
  probabilities: number[];
  predictions: number[];
  trainCounts: number[];
  top1: number;
  balancedAccuracy: number;
  confusion: number[];
  perClass: (number | null)[];
  groups: Record<'many' | 'medium' | 'few', { accuracy: number | null; numClasses: number }>;
  ece: number;
}
const golden = JSON.parse(readFileSync(join(__dirname, '..', 'golden', 'metrics.json'), 'utf8')) as { cases: GoldenCase[] };

const nan = (v: number | null): number => (v === null ? NaN : v);

describe('metrics against scikit-learn / numpy golden values', () => {
  golden.cases.forEach((g, k) => {
    it(`case ${k}: N=${g.labels.length}, C=${g.numClasses}`, () => {
      const inputs = { predictions: g.predictions, labels: g.labels, numClasses: g.numClasses };
      expect(Array.from(confusionMatrix(inputs))).toEqual(g.confusion);
      expect(accuracy(inputs)).toBeCloseTo(g.top1, 12);
      expect(balancedAccuracy(inputs)).toBeCloseTo(g.balancedAccuracy, 12);
      const pc = perClassAccuracy(inputs);
      g.perClass.forEach((v, j) => (v === null ? expect(pc[j]).toBeNaN() : expect(pc[j]).toBeCloseTo(v, 12)));
      const groups = shotGroupAccuracy({ ...inputs, trainCounts: g.trainCounts });
      for (const name of ['many', 'medium', 'few'] as const) {
        expect(groups[name].numClasses).toBe(g.groups[name].numClasses);
        const want = nan(g.groups[name].accuracy);
        if (Number.isNaN(want)) expect(groups[name].accuracy).toBeNaN();
        else expect(groups[name].accuracy).toBeCloseTo(want, 12);
      }
      expect(expectedCalibrationError({ probabilities: g.probabilities, labels: g.labels, numClasses: g.numClasses })).toBeCloseTo(
        g.ece,
        10,
      );
    });
  });

  it('the streaming form over uneven batches equals the one-shot report', () => {
    const g = golden.cases[1] as GoldenCase;
    const c = g.numClasses;
    const metrics = new ClassificationMetrics({ numClasses: c, trainCounts: g.trainCounts });
    const cuts = [0, 7, 8, 150, 151, 499, g.labels.length];
    for (let k = 0; k + 1 < cuts.length; k++) {
      const s = cuts[k] as number;
      const e = cuts[k + 1] as number;
      metrics.update({ labels: g.labels.slice(s, e), probabilities: g.probabilities.slice(s * c, e * c) });
    }
    const report = metrics.compute();
    const once = evaluatePredictions({ numClasses: c, trainCounts: g.trainCounts, labels: g.labels, probabilities: g.probabilities });
    expect(report).toEqual(once);
    expect(report.top1).toBeCloseTo(g.top1, 12);
    expect(report.balancedAccuracy).toBeCloseTo(g.balancedAccuracy, 12);
    expect(report.ece).toBeCloseTo(g.ece, 10);
    expect(report.groups?.few.accuracy).toBeCloseTo(nan(g.groups.few.accuracy), 12);
    expect(Array.from(metrics.confusionMatrix())).toEqual(g.confusion);
    metrics.reset();
    metrics.update({ labels: [0], predictions: [0] });
    const after = metrics.compute();
    expect(after.numSamples).toBe(1);
    expect(after.ece).toBeUndefined();
  });
});

describe('metrics against naive loops', () => {
  const labels = [0, 0, 0, 1, 1, 2, 2, 2, 2, 3];
  const preds = [0, 1, 0, 1, 0, 2, 2, 0, 2, 1];

  it('top-1, per-class, balanced and groups by hand', () => {
    const inputs = { predictions: preds, labels, numClasses: 4 };
    let hits = 0;
    labels.forEach((y, i) => (hits += y === preds[i] ? 1 : 0));
    expect(accuracy(inputs)).toBe(hits / labels.length);
    const pc = [2 / 3, 1 / 2, 3 / 4, 0];
    expect(Array.from(perClassAccuracy(inputs))).toEqual(pc);
    expect(balancedAccuracy(inputs)).toBeCloseTo((2 / 3 + 1 / 2 + 3 / 4 + 0) / 4, 15);
    const groups = shotGroupAccuracy({ ...inputs, trainCounts: [500, 150, 50, 5] });
    expect(groups.many).toEqual({ accuracy: (2 / 3 + 1 / 2) / 2, numClasses: 2 });
    expect(groups.medium).toEqual({ accuracy: 3 / 4, numClasses: 1 });
    expect(groups.few).toEqual({ accuracy: 0, numClasses: 1 });
    const stats = ClassStats.fromCounts([500, 150, 50, 5], { manyAbove: 200, fewBelow: 10 });
    const report = evaluatePredictions({ numClasses: 4, trainCounts: stats, labels, predictions: preds });
    expect(report.groups?.many).toEqual({ accuracy: 2 / 3, numClasses: 1 });
    expect(report.shotThresholds).toEqual({ manyAbove: 200, fewBelow: 10 });
  });

  it('balanced accuracy equals top-1 on a balanced test set; ignores classes absent from the labels', () => {
    const y = [0, 0, 1, 1, 2, 2];
    const p = [0, 1, 1, 1, 0, 2];
    expect(balancedAccuracy({ predictions: p, labels: y, numClasses: 3 })).toBeCloseTo(accuracy({ predictions: p, labels: y, numClasses: 3 }), 15);
    expect(balancedAccuracy({ predictions: [0, 4], labels: [0, 1], numClasses: 5 })).toBe(0.5);
  });

  it('ECE by hand: bins (k/15, (k+1)/15], |acc − conf| weighted by bin size', () => {
    // Two samples at confidence 0.9 (one right), one at 0.5 (right), one at 0.6 (wrong, in its own bin).
    const probs = [0.9, 0.1, 0.1, 0.9, 0.5, 0.5, 0.4, 0.6];
    const y = [0, 0, 0, 0];
    const expected = (2 / 4) * Math.abs(0.5 - 0.9) + (1 / 4) * Math.abs(1 - 0.5) + (1 / 4) * Math.abs(0 - 0.6);
    expect(expectedCalibrationError({ probabilities: probs, labels: y, numClasses: 2 })).toBeCloseTo(expected, 15);
    // Perfect confidence and accuracy.
    expect(expectedCalibrationError({ probabilities: [1, 0, 0, 1], labels: [0, 1], numClasses: 2 })).toBe(0);
    // Bin edges: k/15 belongs to bin k−1.
    expect(confidenceBin(1 / 15, 15)).toBe(0);
    expect(confidenceBin(1 / 15 + 1e-12, 15)).toBe(1);
    expect(confidenceBin(1, 15)).toBe(14);
    expect(confidenceBin(0, 15)).toBe(0);
    for (let k = 1; k <= 15; k++) expect(confidenceBin(k / 15, 15)).toBe(k - 1);
  });

  it('rejects bad input with stable messages, before changing streaming state', () => {
    expect(() => accuracy({ predictions: [0, 1], labels: [0], numClasses: 2 })).toThrow(
      'expected predictions.length = labels.length = 1. Received: predictions.length=2',
    );
    expect(() => accuracy({ predictions: [0, 2], labels: [0, 1], numClasses: 2 })).toThrow(
      'expected predictions in [0, 2). Received: predictions[1]=2',
    );
    expect(() => expectedCalibrationError({ probabilities: [0.5, 0.5, 0.5], labels: [0], numClasses: 2 })).toThrow(
      'expected probabilities.length to be a multiple of numClasses=2. Received: probabilities.length=3',
    );
    expect(() => expectedCalibrationError({ probabilities: [1.5, -0.5], labels: [0], numClasses: 2 })).toThrow(
      'expected probabilities in [0, 1]. Received: probabilities[0]=1.5',
    );
    expect(() => expectedCalibrationError({ probabilities: [NaN, 1], labels: [0], numClasses: 2 })).toThrow(
      'expected probabilities to be finite everywhere. Received: probabilities[0]=NaN',
    );
    const m = new ClassificationMetrics({ numClasses: 2 });
    m.update({ labels: [0, 1], predictions: [0, 0] });
    expect(() => m.update({ labels: [0, 1], predictions: [0, 5] })).toThrow(/predictions in \[0, 2\)/);
    expect(() => m.update({ labels: [0] } as never)).toThrow('expected predictions or probabilities. Received: batch=["labels"]');
    expect(m.compute().numSamples).toBe(2);
    expect(() => new ClassificationMetrics({ numClasses: 2, trainCounts: [1, 2, 3] })).toThrow(
      'expected trainCounts.length = numClasses = 2. Received: trainCounts.length=3',
    );
    expect(() => new ClassificationMetrics({ numClasses: 0 })).toThrow('expected numClasses >= 1. Received: numClasses=0');
  });
});
