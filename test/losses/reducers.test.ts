import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { classWeighted, crossEntropyLoss, effectiveNumberWeights, ldamLoss, meanReducer, sumReducer } from '../../src/losses/index.js';
import { expectClose, expectNoLeak } from '../../src/testing/index.js';
import { naiveCrossEntropy, naiveLdam } from './helpers.js';

const values = [1.5, 0.2, 3.0, 0.7, 2.2];
const labels = [0, 2, 1, 2, 0];

function reduceWith(reducer: ReturnType<typeof meanReducer>, opts: { weights?: number[]; termLabels?: number[]; ctx?: object; batchLabels?: number[] } = {}) {
  return tf.tidy(() => {
    const v = tf.tensor1d(values);
    const term = {
      kind: 'perSample' as const,
      values: v,
      ...(opts.weights ? { weights: tf.tensor1d(opts.weights) } : {}),
      ...(opts.termLabels ? { labels: tf.tensor1d(opts.termLabels, 'int32') } : {}),
    };
    return reducer.reduce(term, { labels: tf.tensor1d(opts.batchLabels ?? labels, 'int32'), ...(opts.ctx ? { ctx: opts.ctx } : {}) }).dataSync()[0] as number;
  });
}

describe('reducers', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('mean honours anchor weights; all-zero weights give 0 with a finite zero gradient', () => {
    expectClose(reduceWith(meanReducer()), values.reduce((a, b) => a + b) / 5);
    const w = [1, 0, 1, 0, 1];
    expectClose(reduceWith(meanReducer(), { weights: w }), (1.5 + 3.0 + 2.2) / 3);
    expect(reduceWith(meanReducer(), { weights: [0, 0, 0, 0, 0] })).toBe(0);
    const g = tf.grad((v: tf.Tensor) => meanReducer().reduce({ kind: 'perSample', values: v as tf.Tensor1D, weights: tf.zeros([5]) as tf.Tensor1D }, { labels: tf.zeros([5], 'int32') as tf.Tensor1D }))(tf.tensor1d(values));
    expect(Array.from(g.dataSync())).toEqual([0, 0, 0, 0, 0]);
    g.dispose();
  });

  it('sum honours weights; reduced terms pass through every reducer', () => {
    expectClose(reduceWith(sumReducer(), { weights: [1, 0, 2, 0, 1] }), 1.5 + 6 + 2.2);
    for (const r of [meanReducer(), sumReducer(), classWeighted({ classCounts: [1, 2] })]) {
      const v = tf.tidy(() => r.reduce({ kind: 'reduced', value: tf.scalar(4.5) }, { labels: tf.tensor1d([0], 'int32') }).dataSync()[0]);
      expect(v).toBe(4.5);
    }
  });

  it('classWeighted is Σ w_y ℓ / Σ w_y (PyTorch), using term labels over batch labels and anchor weights', () => {
    const counts = [50, 5, 500];
    const w = effectiveNumberWeights(counts, { beta: 0.99 });
    const manual = (ls: number[], aw: number[] = [1, 1, 1, 1, 1]) => {
      let num = 0;
      let den = 0;
      ls.forEach((y, i) => {
        num += (w[y] as number) * (aw[i] as number) * (values[i] as number);
        den += (w[y] as number) * (aw[i] as number);
      });
      return num / den;
    };
    expectClose(reduceWith(classWeighted({ beta: 0.99, classCounts: counts })), manual(labels));
    expectClose(reduceWith(classWeighted({ beta: 0.99 }), { ctx: { classCounts: counts } }), manual(labels));
    const termLabels = [1, 1, 0, 2, 2];
    expectClose(reduceWith(classWeighted({ beta: 0.99, classCounts: counts }), { termLabels, batchLabels: [0, 0, 0, 0, 0] }), manual(termLabels));
    expectClose(reduceWith(classWeighted({ beta: 0.99, classCounts: counts }), { weights: [1, 0, 1, 1, 0] }), manual(labels, [1, 0, 1, 1, 0]));
    expect(() => reduceWith(classWeighted({ classCounts: [1, 2] }))).toThrow('expected labels in [0, 2). Received: labels[1]=2');
  });

  it('effective-number weights sum to C, grow for rarer classes, and stay finite for zero counts', () => {
    const w = effectiveNumberWeights([1000, 100, 10, 1, 0], { beta: 0.999 });
    expectClose(w.reduce((a, b) => a + b), 5, { rtol: 1e-12 });
    for (let j = 1; j < 4; j++) expect(w[j]).toBeGreaterThan(w[j - 1] as number);
    expect(w[4]).toBe(w[3]);
    expect(Array.from(effectiveNumberWeights([7, 1, 0], { beta: 0 }))).toEqual([1, 1, 1]);
  });

  it('DRW: plain mean before startEpoch, class-weighted from it (LDAM-DRW)', () => {
    const counts = [100, 10, 1];
    const z = [[0.2, -0.1, 0.5], [0.9, 0.1, -0.3], [-0.2, 0.4, 0.1], [0.3, 0.3, 0.3]];
    const y = [0, 1, 2, 2];
    const per = naiveLdam(z, y, counts, 0.5, 30);
    const w = effectiveNumberWeights(counts, { beta: 0.9999 });
    const weighted = y.reduce((s, c, i) => s + (w[c] as number) * (per[i] as number), 0) / y.reduce((s, c) => s + (w[c] as number), 0);
    const loss = ldamLoss({ classCounts: counts, reducer: classWeighted({ beta: 0.9999, startEpoch: 3 }) });
    const at = (epoch: number) =>
      tf.tidy(() => loss.compute({ logits: tf.tensor2d(z), labels: tf.tensor1d(y, 'int32'), ctx: { epoch } }).dataSync()[0] as number);
    expectClose(at(0), per.reduce((a, b) => a + b) / 4, { rtol: 1e-5 });
    expectClose(at(2), per.reduce((a, b) => a + b) / 4, { rtol: 1e-5 });
    expectClose(at(3), weighted, { rtol: 1e-5 });
    expectClose(at(10), weighted, { rtol: 1e-5 });
    expect(Math.abs(at(3) - at(2))).toBeGreaterThan(1e-3);
  });

  it('class-weighted CE differs from tfjs computeWeightedLoss (which divides by the non-zero count)', () => {
    const z = [[2, 0, 0], [0, 2, 0], [0, 0, 2], [1, 1, 0]];
    const y = [0, 1, 2, 0];
    const counts = [100, 10, 1];
    const per = naiveCrossEntropy(z, y);
    const w = effectiveNumberWeights(counts, { beta: 0.99 });
    const ours = tf.tidy(() => crossEntropyLoss({ reducer: classWeighted({ beta: 0.99, classCounts: counts }) }).compute({ logits: tf.tensor2d(z), labels: tf.tensor1d(y, 'int32') }).dataSync()[0] as number);
    const tfjs = tf.tidy(() => tf.losses.computeWeightedLoss(tf.tensor1d(per), tf.tensor1d(y.map((c) => w[c] as number))).dataSync()[0] as number);
    const pytorch = y.reduce((s, c, i) => s + (w[c] as number) * (per[i] as number), 0) / y.reduce((s, c) => s + (w[c] as number), 0);
    expectClose(ours, pytorch, { rtol: 1e-5 });
    expect(Math.abs(tfjs - pytorch)).toBeGreaterThan(1e-3);
  });

  it('reducers leave no tensor behind', async () => {
    await expectNoLeak(() => reduceWith(classWeighted({ classCounts: [1, 2, 3] }), { weights: [1, 1, 0, 1, 1] }));
    await expectNoLeak(() => reduceWith(meanReducer(), { weights: [0, 0, 0, 0, 0] }));
  });
});
