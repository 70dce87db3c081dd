import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { optimizerFromConfig, setHostUpdates, type OptimizerSpec } from '../../src/train/optimizers.js';
import { useBackend } from '../../src/backends/index.js';
import { seededRng } from '../../src/core/rng.js';
import { backendsUnderTest, expectNoLeak } from '../../src/testing/index.js';

const SPECS: readonly OptimizerSpec[] = [
  { kind: 'sgd', learningRate: 0.1 },
  { kind: 'sgd', learningRate: 0.1, momentum: 0.9, weightDecay: 5e-4 },
  { kind: 'sgd', learningRate: 0.05, momentum: 0.8, nesterov: true, weightDecay: 1e-3 },
  { kind: 'adam', learningRate: 1e-3, weightDecay: 5e-4 },
  { kind: 'adam', learningRate: 0.01, beta1: 0.8, beta2: 0.99, epsilon: 1e-6 },
  { kind: 'adamw', learningRate: 0.01, weightDecay: 0.05 },
];

// The last one is above the size where the update goes back to tfjs ops (mixed in one call).
const SHAPES: readonly number[][] = [[7, 5], [5], [3, 3, 2], [100, 90]];

/** Runs 6 steps of `spec` from seeded values and gradients; returns the variables and the saved slots. */
function trajectory(spec: OptimizerSpec, fused: boolean): { params: number[][]; slots: number[][] } {
  const previous = setHostUpdates(fused);
  try {
    const rng = seededRng(`fused:${spec.kind}`);
    const vars = SHAPES.map((s) => tf.variable(tf.tensor(Float32Array.from({ length: s.reduce((a, b) => a * b, 1) }, () => rng.normal()), s)));
    const opt = optimizerFromConfig(spec);
    for (let step = 0; step < 6; step++) {
      const grads = SHAPES.map((s) => tf.tensor(Float32Array.from({ length: s.reduce((a, b) => a * b, 1) }, () => 0.3 * rng.normal()), s));
      opt.apply(vars, grads, spec.learningRate * (1 - step / 10));
      tf.dispose(grads);
    }
    const params = vars.map((v) => Array.from(v.dataSync()));
    const slots = opt.saveState(vars).slots.map((s) => Array.from(s.values));
    opt.dispose();
    tf.dispose(vars);
    return { params, slots };
  } finally {
    setHostUpdates(previous);
  }
}

function expectSame(got: number[][], want: number[][], label: string): void {
  expect(got.length, label).toBe(want.length);
  got.forEach((g, k) => {
    const w = want[k] as number[];
    for (let i = 0; i < w.length; i++) {
      const err = Math.abs((g[i] as number) - (w[i] as number)) / Math.max(Math.abs(w[i] as number), 1e-12);
      expect(err, `${label} tensor ${k} entry ${i}`).toBeLessThanOrEqual(1e-6);
    }
  });
}

for (const backend of backendsUnderTest()) {
  describe(`fused host optimizer update on ${backend}`, () => {
    beforeAll(async () => {
      await useBackend(backend);
    });
    afterAll(() => {
      setHostUpdates(true);
    });

    for (const spec of SPECS) {
      it(`${JSON.stringify(spec)} matches the tfjs-op update (1e-6 relative)`, () => {
        const fused = trajectory(spec, true);
        const ops = trajectory(spec, false);
        expectSame(fused.params, ops.params, 'parameters');
        expectSame(fused.slots, ops.slots, 'slots');
      });
    }

    it('a matmul after an in-place update sees the new weights (wasm caches packed weights per tensor id)', () => {
      // Made in a tidy, so the variable holds the only reference to its buffer (no copy-on-own).
      const w = tf.tidy(() => tf.variable(tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2])));
      const x = tf.tensor2d([1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1], [4, 3]);
      const opt = optimizerFromConfig({ kind: 'sgd', learningRate: 1 });
      const grad = tf.onesLike(w);
      const products = () => tf.tidy(() => [tf.matMul(x, w), tf.fused.matMul({ a: x, b: w, bias: tf.zeros([2]) })].map((t) => Array.from(t.dataSync())));
      products(); // builds (and on wasm caches, per weight tensor id) the operators for w
      opt.apply([w], [grad], 1);
      expect(Array.from(w.dataSync())).toEqual([0, 1, 2, 3, 4, 5]);
      expect(products()).toEqual([[0, 1, 2, 3, 4, 5, 6, 9], [0, 1, 2, 3, 4, 5, 6, 9]]);
      tf.dispose([w, x, grad]);
      opt.dispose();
    });

    it('never writes through to a tensor or array sharing the variable or slot buffers, and leaks nothing', async () => {
      const values = Float32Array.from([1, 2, 3, 4]);
      const p = tf.variable(tf.tensor(values, [4]));
      const alias = p.clone(); // shares p's buffer
      const opt = optimizerFromConfig({ kind: 'adam', learningRate: 0.1 });
      const grad = tf.tensor1d([1, -1, 0.5, 2]);
      opt.apply([p], [grad], 0.1);
      const state = opt.saveState([p]);
      opt.loadState(state, [p]);
      const saved = state.slots.map((s) => Float32Array.from(s.values));
      await expectNoLeak(() => {
        for (let i = 0; i < 3; i++) opt.apply([p], [grad], 0.1);
      });
      expect(Array.from(alias.dataSync())).toEqual([1, 2, 3, 4]);
      expect(Array.from(values)).toEqual([1, 2, 3, 4]);
      state.slots.forEach((s, k) => expect(Array.from(s.values)).toEqual(Array.from(saved[k] as Float32Array)));
      expect(p.dataSync()[0]).not.toBe(1);
      tf.dispose([p, alias, grad]);
      opt.dispose();
    });
  });
}
