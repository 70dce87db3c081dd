import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { seededRng } from '../../src/core/rng.js';
import { ClassGaussian } from '../../src/synth/gaussian.js';
import { fitResample } from '../../src/synth/resample.js';
import { LatentSmote } from '../../src/synth/smote.js';
import { expectNoLeak } from '../../src/testing/index.js';
import { expectError } from '../helpers/errors.js';
import golden from '../golden/resample.json';

interface Case {
  readonly x: number[];
  readonly shape: [number, number];
  readonly y: number[];
}
const flat = (c: Case) => ({ values: Float64Array.from(c.x), shape: c.shape });
const rowsOf = (c: Case) => Array.from({ length: c.shape[0] }, (_, i) => c.x.slice(i * c.shape[1], (i + 1) * c.shape[1]));
const bincount = (y: ArrayLike<number>, C: number) => {
  const out = new Array<number>(C).fill(0);
  for (let i = 0; i < y.length; i++) out[y[i] as number] = (out[y[i] as number] as number) + 1;
  return out;
};

describe('fitResample: under-samplers against imbalanced-learn 0.10 (golden)', () => {
  it('TomekLinks: exact sample_indices_ for every removal strategy', () => {
    const g = golden.tomek as unknown as Case & { sampleIndices: Record<string, number[]> };
    const remove = { auto: 'notMinority', all: 'all', majority: 'majority', 'not majority': 'notMajority' } as const;
    for (const [strategy, expected] of Object.entries(g.sampleIndices)) {
      const out = fitResample(flat(g), g.y, { method: { kind: 'tomekLinks', remove: remove[strategy as keyof typeof remove] } });
      expect(Array.from(out.sourceIndices), strategy).toEqual(expected);
      expect(Array.from(out.y)).toEqual(expected.map((i) => g.y[i]));
      expect(out.report.perClass.every((r) => r.requested === null)).toBe(true);
    }
    // Sanity of the fixture: links exist, so the comparison is not vacuous.
    expect((g.sampleIndices['auto'] as number[]).length).toBeLessThan(g.y.length);
  });

  it('NearMiss-1: exact sample_indices_ for k = 3, k = 1 and a per-class dict', () => {
    const g = golden.nearMiss as unknown as Case & { sampleIndices: Record<string, number[]> };
    const three = fitResample(rowsOf(g), g.y, { method: { kind: 'nearMiss' } });
    expect(Array.from(three.sourceIndices)).toEqual(g.sampleIndices['3']);
    const one = fitResample(flat(g), Int32Array.from(g.y), { method: { kind: 'nearMiss', k: 1 } });
    expect(Array.from(one.sourceIndices)).toEqual(g.sampleIndices['1']);
    const dict = fitResample(flat(g), g.y, { method: { kind: 'nearMiss' }, target: { kind: 'perClass', counts: [20, 15, -1] } });
    expect(Array.from(dict.sourceIndices)).toEqual(g.sampleIndices['dict']);
    expect(dict.report.perClass.map((r) => [r.before, r.requested, r.removed, r.after, r.status])).toEqual([
      [50, 30, 30, 20, 'resampled'],
      [30, 15, 15, 15, 'resampled'],
      [12, 0, 0, 12, 'unchanged'],
    ]);
    // Rows follow the indices.
    const d = g.shape[1];
    expect(Array.from(dict.x.subarray(0, d))).toEqual(g.x.slice((dict.sourceIndices[0] as number) * d, ((dict.sourceIndices[0] as number) + 1) * d).map(Math.fround));
  });

  it('RandomUnderSampler: the same per-class counts, rows a subset, seeded', () => {
    const g = golden.counts as unknown as Case & { randomUnder: number[] };
    const a = fitResample(flat(g), g.y, { method: { kind: 'randomUnderSampler' }, seed: 1 });
    expect(bincount(a.y, 3)).toEqual(g.randomUnder);
    const d = g.shape[1];
    a.sourceIndices.forEach((src, i) => {
      expect(a.y[i]).toBe(g.y[src]);
      expect(Array.from(a.x.subarray(i * d, (i + 1) * d))).toEqual(g.x.slice(src * d, (src + 1) * d).map(Math.fround));
    });
    expect(new Set(a.sourceIndices).size).toBe(a.sourceIndices.length);
    const b = fitResample(flat(g), g.y, { method: { kind: 'randomUnderSampler' }, seed: 1 });
    const c = fitResample(flat(g), g.y, { method: { kind: 'randomUnderSampler' }, seed: 2 });
    expect(Array.from(b.sourceIndices)).toEqual(Array.from(a.sourceIndices));
    expect(Array.from(c.sourceIndices)).not.toEqual(Array.from(a.sourceIndices));
    expect(a.report.perClass.map((r) => r.removed)).toEqual([29, 8, 0]);
  });
});

describe('fitResample: over-sampling with synthesizers', () => {
  const g = golden.counts as unknown as Case & { smote: number[]; smoteAdded: number };

  it('SMOTE in one call: imbalanced-learn\'s counts; input rows first; equals observe + sample by hand', () => {
    const out = fitResample(flat(g), g.y, { method: { kind: 'latentSmote' }, seed: 5 });
    expect(bincount(out.y, 3)).toEqual(g.smote);
    expect(out.y.length - g.y.length).toBe(g.smoteAdded);
    expect(Array.from(out.sourceIndices.subarray(0, g.y.length))).toEqual(g.y.map((_, i) => i));
    expect(Array.from(out.synthetic.subarray(g.y.length)).every((v) => v === 1)).toBe(true);
    expect(out.report.method).toBe('latentSmote');
    expect(out.report.perClass.map((r) => [r.before, r.requested, r.added, r.after, r.status])).toEqual([
      [35, 0, 0, 35, 'unchanged'],
      [14, 21, 21, 35, 'resampled'],
      [6, 29, 29, 35, 'resampled'],
    ]);
    // The hand-written path it replaces gives the same rows.
    const s = new LatentSmote({ numClasses: 3 });
    const f = tf.tensor2d(Float32Array.from(g.x), g.shape);
    s.observe({ features: f, labels: Int32Array.from(g.y) });
    const manual = s.sample({ perClass: [0, 21, 29] }, seededRng(5).fork('synthesis'));
    expect(Array.from(out.x.subarray(g.y.length * g.shape[1]))).toEqual(Array.from(manual.features.dataSync()));
    tf.dispose([f, manual.features, manual.labels]);
    s.dispose();
  });

  it('tensors in, tensors on request; a synthesizer instance is observed into and not disposed', async () => {
    const x = tf.tensor2d(Float32Array.from(g.x), g.shape);
    const y = tf.tensor1d(g.y, 'int32');
    const gauss = new ClassGaussian({ numClasses: 3 });
    await expectNoLeak(() => {
      const out = fitResample(x, y, { method: gauss, returnTensors: true, target: { kind: 'toCount', count: 40 } });
      expect(out.tensors?.x.shape).toEqual([120, g.shape[1]]);
      expect(Array.from(out.tensors?.y.dataSync() ?? [])).toEqual(Array.from(out.y));
      return out.tensors;
    });
    expect(Array.from(gauss.observedCounts())).toEqual([35, 14, 6]);
    expect(x.isDisposed || y.isDisposed).toBe(false);
    gauss.dispose();
    tf.dispose([x, y]);
  });

  it('a singleton class is skipped (default), duplicated or an error, and reported; never fails the call', async () => {
    const x = { values: Float32Array.from([0, 0, 1, 0, 0, 1, 1, 1, 5, 5, 9, 9]), shape: [6, 2] as [number, number] };
    const y = [0, 0, 0, 0, 1, 2];
    for (const method of [{ kind: 'latentSmote' }, { kind: 'classGaussian' }]) {
      await expectNoLeak(() => {
        const skipped = fitResample(x, y, { method });
        expect(skipped.report.perClass.map((r) => r.status)).toEqual(['unchanged', 'skipped', 'skipped']);
        expect(skipped.report.perClass[1]?.reason).toContain('at least 2 observed samples');
        expect(skipped.y.length).toBe(6);
        const dup = fitResample(x, y, { method, smallClass: 'duplicate', seed: 3 });
        expect(dup.report.perClass.map((r) => [r.status, r.added, r.after])).toEqual([
          ['unchanged', 0, 4],
          ['duplicated', 3, 4],
          ['duplicated', 3, 4],
        ]);
        expect(Array.from(dup.x.subarray(12))).toEqual([5, 5, 5, 5, 5, 5, 9, 9, 9, 9, 9, 9]);
        expect(Array.from(dup.sourceIndices.subarray(6))).toEqual([4, 4, 4, 5, 5, 5]);
        expectError(() => fitResample(x, y, { method, smallClass: 'error' }), 'EMPTY_CLASS', `expected class 1 to have at least 2 observed samples for ${method.kind === 'latentSmote' ? 'SMOTE interpolation' : 'a Ledoit-Wolf covariance'}. Received: count=1`);
      });
    }
  });

  it('observe takes host labels (Int32Array, number[]) like a labels tensor', async () => {
    const f = tf.tensor2d(Float32Array.from(g.x), g.shape);
    const t = tf.tensor1d(g.y, 'int32');
    const draws = await Promise.all(
      [t, Int32Array.from(g.y), g.y].map(async (labels) => {
        const gauss = new ClassGaussian({ numClasses: 3 });
        gauss.observe({ features: f, labels });
        const out = gauss.sample({ perClass: [2, 2, 2] }, seededRng(1));
        const values = Array.from(out.features.dataSync());
        tf.dispose([out.features, out.labels]);
        gauss.dispose();
        return values;
      }),
    );
    expect(draws[1]).toEqual(draws[0]);
    expect(draws[2]).toEqual(draws[0]);
    const s = new LatentSmote({ numClasses: 3 });
    expectError(() => s.observe({ features: f, labels: Int32Array.from([0, 1]) }), 'SHAPE_MISMATCH', 'expected labels.shape[0] = features.shape[0] = 55. Received: labels.shape[0]=2');
    expectError(() => s.observe({ features: f, labels: new Float32Array(55) as never }), 'INVALID_OPTION', 'expected batch.labels to be a Tensor1D, an Int32Array or a number[]. Received: batch.labels=[0, 0, 0, 0, 0, 0, 0, 0, … (55 items)]');
    s.dispose();
    tf.dispose([f, t]);
  });

  it('a class absent from y: left alone by "auto", reported as skipped when asked for by count', () => {
    const x = [[0, 0], [1, 0], [0, 1], [3, 3], [4, 3]];
    const y = [0, 0, 0, 2, 2];
    const auto = fitResample(x, y, { method: { kind: 'latentSmote' }, numClasses: 3 });
    expect(auto.report.perClass.map((r) => [r.requested, r.status])).toEqual([[0, 'unchanged'], [0, 'unchanged'], [1, 'resampled']]);
    const counted = fitResample(x, y, { method: { kind: 'latentSmote' }, numClasses: 3, target: { kind: 'toCount', count: 4 } });
    expect(counted.report.perClass.map((r) => [r.requested, r.added, r.status, r.reason ?? ''])).toEqual([
      [1, 1, 'resampled', ''],
      [4, 0, 'skipped', 'no rows to synthesize from'],
      [2, 2, 'resampled', ''],
    ]);
    expectError(
      () => fitResample(x, y, { method: { kind: 'latentSmote' }, numClasses: 3, target: { kind: 'toCount', count: 4 }, smallClass: 'error' }),
      'EMPTY_CLASS',
      'expected class 1 to have at least 1 observed sample for resampling. Received: count=0',
    );
  });

  it('bad input is a LongTailError before any tensor, and failing calls leak nothing', async () => {
    const x = [[0, 1], [1, 0], [2, 2]];
    const method = { kind: 'latentSmote' };
    await expectNoLeak(() => {
      expectError(() => fitResample(x, [0, 1, 1], { method, sed: 1 } as never), 'UNKNOWN_OPTION', 'expected fitResample options to be among method, numClasses, target, seed, smallClass, head, returnTensors. Received: sed (did you mean seed?)');
      expectError(() => fitResample(x, [0, 1, 1], { method: { kind: 'nearMiss', n_neighbors: 3 } as never }), 'UNKNOWN_OPTION', 'expected nearMiss options to be among kind, k. Received: n_neighbors (did you mean k?)');
      expectError(() => fitResample(x, [0, 1, 1], { method: { kind: 'smote' } }), 'UNKNOWN_KIND', 'expected method.kind to be one of classGaussian, latentSmote, otDistributionMatching, randomUnderSampler, tomekLinks, nearMiss. Received: method.kind="smote"');
      expectError(() => fitResample(x, [0, 1], { method }), 'SHAPE_MISMATCH', 'expected y.length = x rows = 3. Received: y.length=2');
      expectError(() => fitResample([[0, 1], [1]], [0, 1], { method }), 'SHAPE_MISMATCH', 'expected x[1].length = x[0].length = 2. Received: x[1].length=1');
      expectError(() => fitResample([[0, Number.NaN]], [0], { method }), 'NON_FINITE', 'expected x to be finite everywhere. Received: x[1]=NaN');
      expectError(() => fitResample(x, [0, 1, 2], { method, numClasses: 2 }), 'LABEL_OUT_OF_RANGE', 'expected y in [0, 2). Received: y[2]=2');
      expectError(() => fitResample(x, [0, 1, 1], { method, smallClass: 'copy' as never }), 'INVALID_OPTION', 'expected smallClass to be one of "skip", "duplicate", "error". Received: smallClass="copy"');
      expectError(() => fitResample(x, [0, 1, 1], { method, target: { kind: 'toMean' } as never }), 'INVALID_OPTION', 'expected target to be "auto" or { kind: "toMax" | "toMin" | "toCount" | "perClass" }. Received: target={"kind":"toMean"}');
      expectError(() => fitResample(x, [0, 1, 1], { method, target: { kind: 'toCount', count: 3, ratio: 1 } as never }), 'UNKNOWN_OPTION', 'expected target toCount to be among kind, count. Received: ratio');
      expectError(() => fitResample(x, [0, 1, 1], { method: { kind: 'latentSmote', config: { k: 0 } } }), 'INVALID_OPTION', 'expected k >= 1. Received: k=0');
      const t = tf.tensor1d([1, 2]);
      expectError(() => fitResample(t as never, [0], { method }), 'SHAPE_MISMATCH', 'expected x of rank 2. Received: x.shape=[2]');
      const t2 = tf.tensor2d([[1, 2], [3, 4]]);
      const labels = tf.tensor1d([0, 5], 'int32');
      expectError(() => fitResample(t2, labels, { method, numClasses: 2 }), 'LABEL_OUT_OF_RANGE', 'expected y in [0, 2). Received: y[1]=5');
      expect(t2.isDisposed || labels.isDisposed).toBe(false);
      tf.dispose([t, t2, labels]);
    });
  });
});

describe('fitResample: labels as imbalanced-learn users pass them', () => {
  it('float labels are LABEL_OUT_OF_RANGE (not a message about numClasses), float tensors DTYPE_MISMATCH', () => {
    const x = [[0], [1], [2]];
    expectError(() => fitResample(x, [0, 1.5, 1], { method: { kind: 'randomUnderSampler' } }), 'LABEL_OUT_OF_RANGE', 'expected y to be integers. Received: y[1]=1.5');
    const yf = tf.tensor1d([0, 1, 1]);
    const before = tf.memory().numTensors;
    expect(() => fitResample(x, yf as tf.Tensor1D, { method: { kind: 'randomUnderSampler' } })).toThrow(/expected y of dtype int32/);
    expect(() => fitResample(x, yf as tf.Tensor1D, { method: { kind: 'randomUnderSampler' }, numClasses: 2 })).toThrow(/expected y of dtype int32/);
    expect(tf.memory().numTensors).toBe(before);
    yf.dispose();
  });
});
