import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/backends/index.js';
import { backendsUnderTest } from '../../src/testing/index.js';
import {
  SILENCED_LOGIT,
  balancedSoftmaxLoss,
  classWeighted,
  crossEntropyLoss,
  focalLoss,
  ldamLoss,
  logitAdjustedLoss,
  neighborSilencingLoss,
  silencingMask,
  supConLoss,
  supervisedContrastive,
  type Loss,
} from '../../src/losses/index.js';

function finiteValueAndGrad(loss: Loss<'logits'>, logits: number[][], labels: number[], ctx?: object): { value: number; grad: Float32Array } {
  const z = tf.tensor2d(logits);
  const y = tf.tensor1d(labels, 'int32');
  const { value, grad } = tf.valueAndGrad((x: tf.Tensor) => loss.compute({ logits: x as tf.Tensor2D, labels: y, ...(ctx ? { ctx } : {}) }))(z);
  const out = { value: value.dataSync()[0] as number, grad: grad.dataSync() as Float32Array };
  tf.dispose([z, y, value, grad]);
  return out;
}

describe.each(backendsUnderTest())('numerics (%s)', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });
  const counts = [1000, 10, 0, 1];
  const mask = silencingMask({ numClasses: 4, neighbors: [[2, 3], [3]], auxiliaryIgnoresAuxiliary: true });
  const losses: Loss<'logits'>[] = [
    crossEntropyLoss({ labelSmoothing: 0.1 }),
    logitAdjustedLoss({ classCounts: counts, tau: 2 }),
    balancedSoftmaxLoss({ classCounts: counts }),
    ldamLoss({ classCounts: counts, reducer: classWeighted({ beta: 0.9999, startEpoch: 1 }) }),
    focalLoss({ gamma: 0.25 }),
    focalLoss({ gamma: 3 }),
    neighborSilencingLoss({ classCounts: counts, mask }),
  ];
  const extreme = [
    [1e4, -1e4, 0, 1e4],
    [-1e4, -1e4, -1e4, -1e4],
    [1e4, -1e4, -1e4, -1e4],
    [0, 1e4, -1e4, 5],
  ];

  it.each(losses.map((l, i) => [`${l.kind}#${i}`, l] as const))('%s: finite value and gradient for ±1e4 logits, zero-count classes, batch of one', (_n, loss) => {
    for (const [z, y] of [
      [extreme, [0, 2, 0, 3]],
      [extreme, [1, 1, 2, 1]],
      [[[1e4, -1e4, 3, 0]], [0]],
      [[[0.3, -0.2, 0.1, 0.5]], [2]],
    ] as const) {
      const { value, grad } = finiteValueAndGrad(loss, z as unknown as number[][], y as unknown as number[], { epoch: 5 });
      expect(Number.isFinite(value)).toBe(true);
      expect(grad.every(Number.isFinite)).toBe(true);
    }
  });

  it('focal with γ < 1 at p_y = 1 exactly has zero loss and zero gradient', () => {
    const { value, grad } = finiteValueAndGrad(focalLoss({ gamma: 0.5 }), [[1e4, -1e4, 0, 0]], [0]);
    expect(value).toBe(0);
    expect(Array.from(grad).every((g) => g === 0)).toBe(true);
  });

  it('a silenced logit gets exactly zero gradient and the additive is finite in float16', () => {
    expect(SILENCED_LOGIT).toBeGreaterThan(-65504);
    const { grad } = finiteValueAndGrad(neighborSilencingLoss({ classCounts: [5, 5, 5, 5], mask }), [[0.5, 0.1, 3, 2]], [0]);
    expect(grad[2]).toBe(0);
    expect(grad[3]).toBe(0);
    expect(grad[1]).not.toBe(0);
  });

  it('SupCon: no positive anywhere gives 0 (not NaN) with zero gradients; batch of one; zero vectors', () => {
    const loss = supConLoss({ temperature: 0.05 });
    for (const [f, y] of [
      [[[1, 0, 0], [0, 1, 0], [0, 0, 1]], [0, 1, 2]],
      [[[0.3, 0.2, 0.1]], [4]],
      [[[[0.3, 0.2, 0.1], [0, 0, 0]]], [1]],
      [[[0, 0, 0], [0, 0, 0]], [1, 1]],
    ] as const) {
      const x = tf.tensor(f as unknown as number[][]);
      const labels = tf.tensor1d(y as unknown as number[], 'int32');
      const { value, grad } = tf.valueAndGrad((p: tf.Tensor) => loss.compute({ projections: p as tf.Tensor2D, labels }))(x);
      const v = value.dataSync()[0] as number;
      expect(Number.isFinite(v)).toBe(true);
      expect(Array.from(grad.dataSync()).every(Number.isFinite)).toBe(true);
      tf.dispose([x, labels, value, grad]);
    }
    const lonely = tf.tensor2d([[1, 0], [0, 1]]);
    const two = tf.tensor1d([0, 1], 'int32');
    const out = supervisedContrastive(lonely, { labels: two });
    expect(Array.from(out.values.dataSync())).toEqual([0, 0]);
    expect(Array.from(out.weights.dataSync())).toEqual([0, 0]);
    tf.dispose([lonely, two, out.values, out.weights]);
  });

  it('SupCon stays finite at a tiny temperature where the official max-over-all-entries would underflow', () => {
    const x = tf.tensor3d([[[1, 0], [0.99, 0.14]], [[-1, 0], [-0.98, 0.2]], [[0, 1], [0.1, 0.99]]]);
    const labels = tf.tensor1d([0, 0, 1], 'int32');
    const out = supervisedContrastive(x, { labels, temperature: 0.001, baseTemperature: 0.07 });
    expect(Array.from(out.values.dataSync()).every(Number.isFinite)).toBe(true);
    tf.dispose([x, labels, out.values, out.weights]);
  });
});
