import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { seededRng } from '../../src/core/rng.js';
import { useBackend } from '../../src/backends/index.js';
import { backendsUnderTest, expectClose, expectNoLeak } from '../../src/testing/index.js';
import { auxiliaryHead, cosineHead, linearHead } from '../../src/models/index.js';
import { golden, setVariable, thrown } from './helpers.js';

/** Naive reference: logits[i][j] = Σ_d x[i][d]·W[d][j] + b[j]. */
function linearLoop(x: number[], w: number[], b: number[], n: number, d: number, c: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < c; j++) {
      let s = b[j] ?? 0;
      for (let k = 0; k < d; k++) s += (x[i * d + k] as number) * (w[k * c + j] as number);
      out.push(s);
    }
  }
  return out;
}

/** Naive reference: s · cos(x_i, w_j), zero for a zero vector. */
function cosineLoop(x: number[], w: number[], n: number, d: number, c: number, s: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    let nx = 0;
    for (let k = 0; k < d; k++) nx += (x[i * d + k] as number) ** 2;
    for (let j = 0; j < c; j++) {
      let nw = 0;
      let dot = 0;
      for (let k = 0; k < d; k++) {
        nw += (w[k * c + j] as number) ** 2;
        dot += (x[i * d + k] as number) * (w[k * c + j] as number);
      }
      out.push((s * dot) / (Math.max(Math.sqrt(nx), 1e-12) * Math.max(Math.sqrt(nw), 1e-12)));
    }
  }
  return out;
}

for (const backend of backendsUnderTest()) {
  describe(`heads on ${backend}`, () => {
    beforeAll(async () => {
      await useBackend(backend);
    });

    it('linear head matches a plain loop and PyTorch', async () => {
      const g = golden.linear;
      const head = linearHead({ inputDim: 4, numClasses: 3, rng: seededRng(0) });
      setVariable(head.kernel, g.kernel);
      setVariable(head.bias!, g.bias);
      const x = tf.tensor2d(g.x, [5, 4]);
      const logits = head.apply(x);
      expect(logits.shape).toEqual([5, 3]);
      expectClose(logits, g.logits, { rtol: 1e-5, atol: 1e-5, name: 'golden' });
      expectClose(logits, linearLoop(g.x, g.kernel, g.bias, 5, 4, 3), { rtol: 1e-5, atol: 1e-5, name: 'loop' });
      logits.dispose();
      await expectNoLeak(() => head.apply(x));
      x.dispose();
      head.dispose();
    });

    it('linear head under gradients: exact weight/bias gradients, and no input-gradient matmul on frozen features', async () => {
      const [n, d, c] = [6, 5, 4];
      const head = linearHead({ inputDim: d, numClasses: c, rng: seededRng(3) });
      const xv = Array.from({ length: n * d }, (_, i) => Math.sin(i + 1));
      const rv = Array.from({ length: n * c }, (_, i) => Math.cos(2 * i + 1));
      const x = tf.tensor2d(xv, [n, d]);
      const r = tf.tensor2d(rv, [n, c]);
      const loss = () => tf.sum(tf.mul(head.apply(x, 'train'), r)) as tf.Scalar;
      const { value, grads } = tf.variableGrads(loss, [head.kernel, head.bias!]);
      // L = Σ r ⊙ (xW + b): ∂L/∂W = xᵀr, ∂L/∂b = Σ_i r_i.
      const dW: number[] = [];
      for (let k = 0; k < d; k++) for (let j = 0; j < c; j++) dW.push(xv.reduce((s, _, i) => (i < n ? s + (xv[i * d + k] as number) * (rv[i * c + j] as number) : s), 0));
      const db = Array.from({ length: c }, (_, j) => rv.reduce((s, v, i) => (i % c === j ? s + v : s), 0));
      expectClose(grads[head.kernel.name]!, dW, { rtol: 1e-5, atol: 1e-5, name: 'dW' });
      expectClose(grads[head.bias!.name]!, db, { rtol: 1e-5, atol: 1e-5, name: 'db' });
      const evalLogits = head.apply(x);
      expectClose(value, tf.sum(tf.mul(evalLogits, r)).dataSync()[0] as number, { rtol: 1e-5, name: 'train = eval logits' });
      tf.dispose([value, evalLogits, ...Object.values(grads)]);
      // tfjs's fused matMul gradient would also compute g·Wᵀ for x, which nothing needs.
      const profile = await tf.profile(() => tf.dispose(tf.variableGrads(loss, [head.kernel, head.bias!]).grads));
      expect(profile.kernels.filter((k) => /MatMul/.test(k.name)).map((k) => k.name)).toEqual(['BatchMatMul', 'BatchMatMul']);
      await expectNoLeak(() => tf.variableGrads(loss, [head.kernel, head.bias!]));
      tf.dispose([x, r]);
      head.dispose();
    });

    it('cosine head matches a plain loop and PyTorch, is bounded by the scale, and zero rows give zero', () => {
      const g = golden.cosine;
      const head = cosineHead({ inputDim: 4, numClasses: 3, scale: g.scale, rng: seededRng(0) });
      setVariable(head.kernel, g.kernel);
      const x = tf.tensor2d(g.x, [5, 4]);
      const logits = head.apply(x);
      expectClose(logits, g.logits, { rtol: 1e-5, atol: 1e-5, name: 'golden' });
      expectClose(logits, cosineLoop(g.x, g.kernel, 5, 4, 3, g.scale), { rtol: 1e-5, atol: 1e-5, name: 'loop' });
      const v = Array.from(logits.dataSync());
      expect(v.slice(12)).toEqual([0, 0, 0]);
      logits.dispose();
      // Bounded: |logit| ≤ s for random inputs, and = s when x is parallel to a class vector.
      const s = 2.5;
      const h2 = cosineHead({ inputDim: 6, numClasses: 4, scale: s, rng: seededRng(1) });
      const big = tf.mul(tf.randomNormal([32, 6], 0, 1, 'float32', 3), 100);
      const l2 = h2.apply(big as tf.Tensor2D);
      const max = tf.max(tf.abs(l2)).dataSync()[0] as number;
      expect(max).toBeLessThanOrEqual(s * (1 + 1e-6));
      expect(max).toBeGreaterThan(0.3 * s);
      const col0 = tf.transpose(tf.slice(h2.kernel, [0, 0], [6, 1])) as tf.Tensor2D;
      const aligned = h2.apply(col0);
      expectClose(aligned.dataSync()[0] as number, s, { rtol: 1e-5 });
      tf.dispose([big, l2, col0, aligned, x]);
      head.dispose();
      h2.dispose();
    });

    it('cosine head gives finite gradients at a zero feature row', () => {
      const head = cosineHead({ inputDim: 3, numClasses: 2, rng: seededRng(0) });
      const x = tf.tensor2d([0, 0, 0, 1, 2, 3], [2, 3]);
      const g = tf.grad((f: tf.Tensor) => tf.sum(head.apply(f as tf.Tensor2D)))(x);
      expect(Array.from(g.dataSync()).every(Number.isFinite)).toBe(true);
      tf.dispose([x, g]);
      head.dispose();
    });

    it('auxiliary head scores target + auxiliary rows in train mode and target rows only in eval', async () => {
      const inner = linearHead({ inputDim: 4, numClasses: 5, rng: seededRng(2) });
      const head = auxiliaryHead({ head: inner, numAuxiliaryClasses: 2 });
      expect([head.numClasses, head.numTrainClasses, head.inputDim]).toEqual([3, 5, 4]);
      const x = tf.randomNormal([6, 4], 0, 1, 'float32', 1) as tf.Tensor2D;
      const all = head.apply(x, 'train');
      const target = head.apply(x, 'eval');
      const dflt = head.apply(x);
      expect(all.shape).toEqual([6, 5]);
      expect(target.shape).toEqual([6, 3]);
      const a = all.arraySync();
      expect(target.arraySync()).toEqual(a.map((row) => row.slice(0, 3)));
      expect(dflt.arraySync()).toEqual(target.arraySync());
      // Even when an auxiliary row dominates, eval predictions are target classes.
      setVariable(inner.bias!, [0, 0, 0, 100, 100]);
      const pred = tf.argMax(head.apply(x, 'eval'), 1);
      const predTrain = tf.argMax(head.apply(x, 'train'), 1);
      expect(Array.from(pred.dataSync()).every((p) => p < 3)).toBe(true);
      expect(Array.from(predTrain.dataSync()).every((p) => p >= 3)).toBe(true);
      tf.dispose([all, target, dflt, pred, predTrain]);
      await expectNoLeak(() => head.apply(x, 'eval'));
      x.dispose();
      const n = tf.memory().numTensors;
      head.dispose();
      expect(n - tf.memory().numTensors).toBe(2);
      expect(thrown(() => inner.apply(x)).code).toBe('LongTailError:DISPOSED');
    });
  });
}

describe('heads: initialisation, config, disposal, errors', () => {
  it('same seed gives identical weights; different seeds differ; pytorch init is U(±1/√D)', () => {
    const a = linearHead({ inputDim: 50, numClasses: 20, rng: seededRng(7) });
    const b = linearHead({ inputDim: 50, numClasses: 20, rng: seededRng(7) });
    const c = linearHead({ inputDim: 50, numClasses: 20, rng: seededRng(8) });
    const wa = Array.from(a.kernel.dataSync());
    expect(wa).toEqual(Array.from(b.kernel.dataSync()));
    expect(Array.from(a.bias!.dataSync())).toEqual(Array.from(b.bias!.dataSync()));
    expect(wa).not.toEqual(Array.from(c.kernel.dataSync()));
    const bound = 1 / Math.sqrt(50);
    expect(Math.max(...wa.map(Math.abs))).toBeLessThanOrEqual(bound);
    const variance = wa.reduce((s, v) => s + v * v, 0) / wa.length;
    expect(variance).toBeGreaterThan((bound * bound) / 3 * 0.85);
    expect(variance).toBeLessThan((bound * bound) / 3 * 1.15);
    const z = linearHead({ inputDim: 3, numClasses: 2, rng: seededRng(0), init: 'zeros', bias: false });
    expect(Array.from(z.kernel.dataSync())).toEqual([0, 0, 0, 0, 0, 0]);
    expect(z.bias).toBeNull();
    expect(z.trainableVariables).toHaveLength(1);
    for (const h of [a, b, c, z]) h.dispose();
  });

  it('exposes kind and a JSON config', () => {
    const rng = seededRng(0);
    const lin = linearHead({ inputDim: 3, numClasses: 2, rng });
    const cos = cosineHead({ inputDim: 3, numClasses: 4, scale: 30, rng });
    const aux = auxiliaryHead({ head: linearHead({ inputDim: 3, numClasses: 4, rng }), numAuxiliaryClasses: 1 });
    expect([lin.kind, cos.kind, aux.kind]).toEqual(['linear', 'cosine', 'auxiliary']);
    expect(JSON.parse(JSON.stringify(lin.config))).toEqual({ inputDim: 3, numClasses: 2, init: 'pytorch', bias: true });
    expect(cos.config).toEqual({ inputDim: 3, numClasses: 4, scale: 30, init: 'pytorch' });
    expect(aux.config).toEqual({
      numClasses: 3,
      numAuxiliaryClasses: 1,
      head: { kind: 'linear', config: { inputDim: 3, numClasses: 4, init: 'pytorch', bias: true } },
    });
    for (const h of [lin, cos, aux]) h.dispose();
  });

  it('dispose frees exactly its variables, is idempotent, and use after dispose throws DISPOSED', () => {
    const before = tf.memory().numTensors;
    const head = linearHead({ inputDim: 3, numClasses: 2, rng: seededRng(0) });
    const cos = cosineHead({ inputDim: 3, numClasses: 2, rng: seededRng(0) });
    expect(tf.memory().numTensors - before).toBe(3);
    head.dispose();
    head.dispose();
    cos.dispose();
    expect(tf.memory().numTensors).toBe(before);
    const x = tf.zeros([1, 3]) as tf.Tensor2D;
    const err = thrown(() => head.apply(x));
    expect(err.code).toBe('LongTailError:DISPOSED');
    expect(err.message).toBe('expected a live linear head. Received: a linear head after dispose()');
    x.dispose();
  });

  it('bad options and inputs throw LongTailError with pinned messages before any tensor is made', () => {
    const rng = seededRng(0);
    const before = tf.memory().numTensors;
    expect(thrown(() => linearHead({ inputDim: 0, numClasses: 2, rng }))).toEqual({
      code: 'LongTailError:INVALID_OPTION',
      message: 'expected inputDim >= 1. Received: inputDim=0',
    });
    expect(thrown(() => linearHead({ inputDim: 2.5, numClasses: 2, rng })).message).toBe(
      'expected inputDim to be an integer. Received: inputDim=2.5',
    );
    expect(thrown(() => linearHead({ inputDim: 2, numClasses: -1, rng })).message).toBe(
      'expected numClasses >= 1. Received: numClasses=-1',
    );
    expect(thrown(() => linearHead({ inputDim: 2, numClasses: 2 } as never)).message).toBe(
      'expected rng to be an Rng (seededRng(seed)). Received: rng=undefined',
    );
    expect(thrown(() => linearHead({ inputDim: 2, numClasses: 2, rng, init: 'xavier' as never })).message).toBe(
      'expected init to be one of "pytorch", "heNormal", "glorotUniform", "zeros". Received: init="xavier"',
    );
    expect(thrown(() => cosineHead({ inputDim: 2, numClasses: 2, rng, scale: 0 })).message).toBe(
      'expected scale > 0. Received: scale=0',
    );
    expect(thrown(() => cosineHead({ inputDim: 2, numClasses: 2, rng, init: 'zeros' as never })).message).toBe(
      'expected init other than "zeros" for a cosine head. Received: init="zeros"',
    );
    expect(tf.memory().numTensors).toBe(before);
    const inner = linearHead({ inputDim: 2, numClasses: 3, rng });
    expect(thrown(() => auxiliaryHead({ head: inner, numAuxiliaryClasses: 3 })).message).toBe(
      'expected numAuxiliaryClasses < head.numClasses = 3 (at least one target class). Received: numAuxiliaryClasses=3',
    );
    expect(thrown(() => auxiliaryHead({ head: inner, numAuxiliaryClasses: 0 })).code).toBe('LongTailError:INVALID_OPTION');
    const aux = auxiliaryHead({ head: inner, numAuxiliaryClasses: 1 });
    expect(thrown(() => auxiliaryHead({ head: aux, numAuxiliaryClasses: 1 })).message).toBe(
      'expected head to be a plain head (not already auxiliary). Received: head.kind="auxiliary"',
    );
    const wrong = tf.zeros([4, 5]) as tf.Tensor2D;
    expect(thrown(() => inner.apply(wrong))).toEqual({
      code: 'LongTailError:SHAPE_MISMATCH',
      message: 'expected features of shape [N, 2] with N >= 1. Received: features.shape=[4, 5]',
    });
    const ints = tf.zeros([4, 2], 'int32') as tf.Tensor2D;
    expect(thrown(() => inner.apply(ints))).toEqual({
      code: 'LongTailError:DTYPE_MISMATCH',
      message: 'expected features of dtype float32. Received: features.dtype=int32',
    });
    const ok = tf.zeros([4, 2]) as tf.Tensor2D;
    expect(thrown(() => inner.apply(ok, 'test' as never)).message).toBe(
      'expected mode to be one of "train", "eval". Received: mode="test"',
    );
    tf.dispose([wrong, ints, ok]);
    aux.dispose();
  });
});
