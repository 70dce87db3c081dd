/** SAU's contrastive loss as a `Loss` (tensors in, like every other loss) against the gm4lt golden values. */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/backends/index.js';
import { evaluateLoss, sumLosses, supervisedContrastive } from '../../src/losses/index.js';
import { sauContrastive, sauContrastiveLoss, type NeighborMetric, type NoisyStrategy } from '../../src/recipes/sau.js';
import { backendsUnderTest, expectClose } from '../../src/testing/index.js';

const golden = JSON.parse(readFileSync(new URL('../golden/sau.json', import.meta.url), 'utf8')) as {
  features: number[][][];
  prototypes: number[][][];
  prototypeLabels: number[];
  labels: number[];
  synthetic: number[];
  temperature: number;
  cases: { strategy: string; metric: string; prototypes: boolean; noisy: number[]; loss: number }[];
};

describe.each(backendsUnderTest())('sauContrastiveLoss (%s)', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  for (const c of golden.cases) {
    it(`compute({ projections, labels, synthetic }) = gm4lt SCL: ${c.strategy}, ${c.metric}, ${c.prototypes ? 'with' : 'without'} prototypes`, () => {
      const projections = tf.tensor3d(golden.features);
      const labels = tf.tensor1d(golden.labels, 'int32');
      const protoFeatures = tf.tensor3d(golden.prototypes);
      const prototypes = c.prototypes ? { features: protoFeatures, labels: Int32Array.from(golden.prototypeLabels) } : null;
      const loss = sauContrastiveLoss({
        strategy: c.strategy as NoisyStrategy,
        metric: c.metric as NeighborMetric,
        temperature: golden.temperature,
        prototypes,
      });
      const before = tf.memory().numTensors;
      const value = loss.compute({ projections, labels, synthetic: Uint8Array.from(golden.synthetic) });
      expectClose(value, c.loss, { rtol: 1e-5, name: 'loss vs PyTorch' });
      // The functional form gives the same value and the label-correction outcome.
      const fn = sauContrastive(projections, { labels, synthetic: golden.synthetic, prototypes, strategy: c.strategy as NoisyStrategy, metric: c.metric as NeighborMetric, temperature: golden.temperature });
      expectClose(fn.loss, c.loss, { rtol: 1e-5, name: 'functional vs PyTorch' });
      expect(Array.from(fn.noisy)).toEqual(c.noisy);
      // Inside sumLosses it is a term like any other, and its counts come out beside the total.
      const { total, terms, counts } = evaluateLoss(sumLosses([{ loss, weight: 2 }]), { projections, labels, synthetic: golden.synthetic });
      expectClose(total, 2 * c.loss, { rtol: 1e-5, name: 'sumLosses' });
      expect(counts['noisy']?.dataSync()[0]).toBe(c.noisy.reduce((a: number, b: number) => a + b, 0));
      expect(counts['synthetic']?.dataSync()[0]).toBe(golden.synthetic.reduce((a: number, b: number) => a + b, 0));
      tf.dispose([value, fn.loss, total, ...Object.values(terms), ...Object.values(counts)]);
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([projections, labels, protoFeatures]);
    });
  }

  it('gradients reach the projections through compute', () => {
    const projections = tf.tensor3d(golden.features);
    const labels = tf.tensor1d(golden.labels, 'int32');
    const loss = sauContrastiveLoss({ temperature: golden.temperature, strategy: 'posNeg' });
    const g = tf.grad((p: tf.Tensor) => loss.compute({ projections: p as tf.Tensor3D, labels, synthetic: golden.synthetic }))(projections);
    expect(Array.from(g.dataSync()).every(Number.isFinite)).toBe(true);
    expect(Math.max(...Array.from(g.dataSync()).map(Math.abs))).toBeGreaterThan(1e-4);
    tf.dispose([projections, labels, g]);
  });

  it("noPositive: 'exclude' leaves out anchors without a positive; 'zero' (gm4lt) counts them as 0", () => {
    // One view, labels [0, 0, 1]: anchor 2 has no positive. Naive: the two anchors of class 0 only.
    const x = tf.tensor3d([[[1, 0]], [[0.6, 0.8]], [[0, 1]]]);
    const labels = tf.tensor1d([0, 0, 1], 'int32');
    const per = supervisedContrastive(x, { labels, temperature: 0.5, normalize: false });
    const v = Array.from(per.values.dataSync());
    const zero = tf.tidy(() => sauContrastiveLoss({ temperature: 0.5 }).compute({ projections: x, labels }).dataSync()[0] as number);
    const exclude = tf.tidy(() => sauContrastiveLoss({ temperature: 0.5, noPositive: 'exclude' }).compute({ projections: x, labels }).dataSync()[0] as number);
    expect(zero).toBeCloseTo(((v[0] as number) + (v[1] as number)) / 3, 5);
    expect(exclude).toBeCloseTo(((v[0] as number) + (v[1] as number)) / 2, 5);
    tf.dispose([x, labels, per.values, per.weights]);
  });

  it('bad input: flags other than 0/1, labels as arrays, unknown options; nothing leaks', () => {
    const projections = tf.tensor3d(golden.features);
    const labels = tf.tensor1d(golden.labels, 'int32');
    const before = tf.memory().numTensors;
    const loss = sauContrastiveLoss();
    const flags = golden.synthetic.map((f, i) => (i === 3 ? 2 : f));
    expect(() => loss.compute({ projections, labels, synthetic: flags })).toThrow('expected synthetic flags to be 0 or 1. Received: synthetic[3]=2');
    expect(() => loss.compute({ projections, labels: Int32Array.from(golden.labels) as never })).toThrow(/expected labels to be a tf.Tensor/);
    expect(() => loss.compute({ projections } as never)).toThrow(/MISSING_INPUT|expected labels/);
    expect(() => sauContrastive(projections, { labels, synthetic: [1, 0] })).toThrow('expected synthetic.length = projections.shape[0] = 8. Received: synthetic.length=2');
    expect(() => sauContrastiveLoss({ temprature: 0.5 } as never)).toThrow(/temprature \(did you mean temperature\?\)/);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([projections, labels]);
  });
});
