/**
 * End-to-end: a small CNN (conv → relu → max-pool → dense) trains on wasm with the fixes, and training
 * leaks no tensors on cpu or wasm over 200 steps.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { useBackend } from '../../src/backends/index.js';
import { seededRng, type Rng } from '../../src/core/rng.js';
import { backendsUnderTest, expectNoLeak } from '../../src/testing/index.js';
import { normals } from './helpers.js';

interface Cnn {
  readonly vars: tf.Variable[];
  loss(x: tf.Tensor4D, y: tf.Tensor1D): tf.Scalar;
  dispose(): void;
}

/** A variable holding `init()`; tidy frees the initial tensor, which tf.variable would otherwise keep alive. */
function variable(init: () => tf.Tensor): tf.Variable {
  return tf.tidy(() => tf.variable(init()));
}

/** conv 3×3 (`filters`, same) → relu → max-pool 2 → dense(classes); He-style init from the Rng. */
function smallCnn(rng: Rng, size: number, filters: number, classes: number): Cnn {
  const flat = (size / 2) * (size / 2) * filters;
  const k = variable(() => tf.tensor4d(normals(rng, 9 * filters).map((v) => v * Math.sqrt(2 / 9)), [3, 3, 1, filters]));
  const b = variable(() => tf.zeros([filters]));
  const w = variable(() => tf.tensor2d(normals(rng, flat * classes).map((v) => v * Math.sqrt(1 / flat)), [flat, classes]));
  const c = variable(() => tf.zeros([classes]));
  return {
    vars: [k, b, w, c],
    loss: (x, y) =>
      tf.tidy(() => {
        const z = tf.add(tf.conv2d(x, k as tf.Variable<tf.Rank.R4>, 1, 'same'), b) as tf.Tensor4D;
        const h = tf.maxPool(tf.relu(z), 2, 2, 'valid');
        const logits = tf.add(tf.matMul(tf.reshape(h, [x.shape[0], flat]), w), c);
        return tf.losses.softmaxCrossEntropy(tf.oneHot(y, classes), logits) as tf.Scalar;
      }),
    dispose: () => [k, b, w, c].forEach((v) => v.dispose()),
  };
}

/** Images whose class decides which horizontal band is bright, plus noise: learnable by one conv layer. */
function bandData(rng: Rng, n: number, size: number, classes: number): { x: Float32Array; y: Int32Array } {
  const x = normals(rng, n * size * size);
  const y = new Int32Array(n);
  const band = size / classes;
  for (let i = 0; i < n; i++) {
    const label = rng.int(classes);
    y[i] = label;
    for (let r = label * band; r < (label + 1) * band; r++) {
      for (let col = 0; col < size; col++) x[(i * size + r) * size + col] = (x[(i * size + r) * size + col] as number) + 0.5;
    }
  }
  return { x, y };
}

describe('small CNN on wasm with the fixes', () => {
  it('trains: the loss goes down', async () => {
    await useBackend('wasm');
    const rng = seededRng('cnn-train');
    const data = bandData(rng, 64, 16, 4);
    const model = smallCnn(rng, 16, 8, 4);
    const x = tf.tensor4d(data.x, [64, 16, 16, 1]);
    const y = tf.tensor1d(data.y, 'int32');
    const opt = tf.train.adam(0.003);
    const losses: number[] = [];
    for (let step = 0; step < 40; step++) {
      const loss = opt.minimize(() => model.loss(x, y), true, model.vars);
      losses.push((loss as tf.Scalar).dataSync()[0] as number);
      loss?.dispose();
    }
    opt.dispose();
    model.dispose();
    tf.dispose([x, y]);
    const last = losses.slice(-5).reduce((a, v) => a + v, 0) / 5;
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[0]).toBeGreaterThan(1.0); // an untrained 4-class model scores about ln 4 ≈ 1.39
    expect(last).toBeLessThan(0.25 * (losses[0] as number));
  });
});

describe.each(backendsUnderTest())('memory on %s', (backend) => {
  it('numTensors stays flat over 200 training steps', async () => {
    await useBackend(backend);
    const start = tf.memory().numTensors;
    const rng = seededRng(`leak-${backend}`);
    const data = bandData(rng, 8, 8, 4);
    const model = smallCnn(rng, 8, 4, 4);
    const x = tf.tensor4d(data.x, [8, 8, 8, 1]);
    const y = tf.tensor1d(data.y, 'int32');
    const opt = tf.train.adam(0.01);
    const step = () => opt.minimize(() => model.loss(x, y), true, model.vars)?.dispose();
    step(); // creates the optimizer's moment variables once
    const counts: number[] = [];
    await expectNoLeak(() => {
      for (let i = 1; i < 200; i++) {
        step();
        counts.push(tf.memory().numTensors);
      }
    });
    expect(new Set(counts).size).toBe(1);
    opt.dispose();
    model.dispose();
    tf.dispose([x, y]);
    expect(tf.memory().numTensors).toBe(start);
  });
});
