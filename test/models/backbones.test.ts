import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { seededRng } from '../../src/core/rng.js';
import { useBackend } from '../../src/backends/index.js';
import { backendsUnderTest, expectClose, expectNoLeak } from '../../src/testing/index.js';
import {
  cnnBackbone,
  functionBackbone,
  identityBackbone,
  layersModelBackbone,
  mlpBackbone,
} from '../../src/models/index.js';
import { golden, setVariable, snapshot, sumAbs, thrown } from './helpers.js';

const TOL = { rtol: 1e-4, atol: 1e-5 };

/** Naive BatchNorm1d (train mode) + ReLU on row-major [n, c] values: the PyTorch formula. */
function bnReluLoop(h: number[], n: number, c: number, gamma: number[], beta: number[]): number[] {
  const out = new Array<number>(n * c);
  for (let j = 0; j < c; j++) {
    let mean = 0;
    for (let i = 0; i < n; i++) mean += h[i * c + j] as number;
    mean /= n;
    let v = 0;
    for (let i = 0; i < n; i++) v += ((h[i * c + j] as number) - mean) ** 2;
    v /= n;
    for (let i = 0; i < n; i++) {
      const y = (((h[i * c + j] as number) - mean) / Math.sqrt(v + 1e-5)) * (gamma[j] as number) + (beta[j] as number);
      out[i * c + j] = Math.max(0, y);
    }
  }
  return out;
}

function matmulLoop(x: number[], w: number[], n: number, d: number, c: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < c; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += (x[i * d + k] as number) * (w[k * c + j] as number);
      out.push(s);
    }
  }
  return out;
}

for (const backend of backendsUnderTest()) {
  describe(`backbones on ${backend}`, () => {
    beforeAll(async () => {
      await useBackend(backend);
    });

    it('MLP with batch norm matches PyTorch and a plain loop: train output, running stats, eval output', () => {
      const g = golden.mlp_bn;
      const mlp = mlpBackbone({ inputDim: 6, hiddenSizes: [5, 4], batchNorm: true, rng: seededRng(0) });
      // Order: trainable [kernel, γ, β] per layer, then state [moving mean, moving variance] per layer.
      expect(mlp.trainableVariables).toHaveLength(6);
      expect(mlp.variables).toHaveLength(10);
      g.layers.forEach((L, i) => {
        setVariable(mlp.trainableVariables[3 * i]!, L.kernel);
        setVariable(mlp.trainableVariables[3 * i + 1]!, L.gamma);
        setVariable(mlp.trainableVariables[3 * i + 2]!, L.beta);
        setVariable(mlp.variables[6 + 2 * i]!, L.rm);
        setVariable(mlp.variables[6 + 2 * i + 1]!, L.rv);
      });
      const x = tf.tensor2d(g.x, [7, 6]);
      const y = mlp.apply(x, 'train');
      expectClose(y, g.train, { ...TOL, name: 'train golden' });
      const l1 = g.layers[0]!;
      const l2 = g.layers[1]!;
      const h1 = bnReluLoop(matmulLoop(g.x, l1.kernel, 7, 6, 5), 7, 5, l1.gamma, l1.beta);
      const h2 = bnReluLoop(matmulLoop(h1, l2.kernel, 7, 5, 4), 7, 4, l2.gamma, l2.beta);
      expectClose(y, h2, { ...TOL, name: 'train loop' });
      for (let i = 0; i < 2; i++) {
        expectClose(mlp.variables[6 + 2 * i]!, g.runningMean[i], { ...TOL, name: `running mean ${i}` });
        expectClose(mlp.variables[6 + 2 * i + 1]!, g.runningVar[i], { ...TOL, name: `running var ${i}` });
      }
      const e = mlp.apply(x, 'eval');
      expectClose(e, g.evalAfter, { ...TOL, name: 'eval golden' });
      tf.dispose([x, y, e]);
      mlp.dispose();
    });

    it('CNN matches PyTorch (conv-BN-ReLU-maxpool × 2, global average pool / flatten, avg pooling)', () => {
      const g = golden.cnn;
      const make = (features: 'globalAvg' | 'flatten', pooling: 'max' | 'avg') => {
        const cnn = cnnBackbone({ inputShape: [6, 6, 2], channels: [3, 4], features, pooling, rng: seededRng(0) });
        g.layers.forEach((L, i) => {
          setVariable(cnn.trainableVariables[3 * i]!, L.kernel);
          setVariable(cnn.trainableVariables[3 * i + 1]!, L.gamma);
          setVariable(cnn.trainableVariables[3 * i + 2]!, L.beta);
        });
        return cnn;
      };
      const x = tf.tensor4d(g.x, [3, 6, 6, 2]);
      const cnn = make('globalAvg', 'max');
      expect(cnn.outputDim).toBe(4);
      const y = cnn.apply(x, 'train');
      expect(y.shape).toEqual([3, 4]);
      expectClose(y, g.trainGap, { ...TOL, name: 'train gap' });
      for (let i = 0; i < 2; i++) {
        expectClose(cnn.variables[6 + 2 * i]!, g.runningMean[i], { ...TOL, name: `running mean ${i}` });
        expectClose(cnn.variables[6 + 2 * i + 1]!, g.runningVar[i], { ...TOL, name: `running var ${i}` });
      }
      const e = cnn.apply(x, 'eval');
      expectClose(e, g.evalAfterGap, { ...TOL, name: 'eval gap' });
      const flat = make('flatten', 'max');
      expect(flat.outputDim).toBe(4); // 6 → 3 → 1 spatially, 4 channels
      const yf = flat.apply(x, 'train');
      expectClose(yf, g.trainFlatten, { ...TOL, name: 'flatten' });
      const avg = make('globalAvg', 'avg');
      const ya = avg.apply(x, 'train');
      expectClose(ya, g.trainAvgPoolGap, { ...TOL, name: 'avg pooling' });
      tf.dispose([x, y, e, yf, ya]);
      for (const m of [cnn, flat, avg]) m.dispose();
    });

    it('batch-norm statistics change in train mode and not in eval mode; they are state, not trainable', () => {
      const cnn = cnnBackbone({ inputShape: [5, 5, 1], channels: [2], rng: seededRng(1) });
      const state = cnn.variables.filter((v) => !cnn.trainableVariables.includes(v));
      expect(state).toHaveLength(2);
      expect(state.every((v) => !v.trainable)).toBe(true);
      const x = tf.randomNormal([4, 5, 5, 1], 1, 2, 'float32', 5);
      const s0 = snapshot(state);
      tf.tidy(() => {
        cnn.apply(x, 'eval');
      });
      expect(snapshot(state)).toEqual(s0);
      tf.tidy(() => {
        cnn.apply(x, 'train');
      });
      const s1 = snapshot(state);
      expect(s1[0]).not.toEqual(s0[0]);
      expect(s1[1]).not.toEqual(s0[1]);
      x.dispose();
      cnn.dispose();
    });

    it('dropout: off in eval, seeded in train (same seed → same masks), restorable stream', () => {
      const make = () => mlpBackbone({ inputDim: 8, hiddenSizes: [64], dropout: 0.5, rng: seededRng(3) });
      const a = make();
      const b = make();
      const noDrop = mlpBackbone({ inputDim: 8, hiddenSizes: [64], rng: seededRng(3) });
      // Dropout seeds are drawn after the weights: same weights with or without dropout.
      expect(snapshot(a.variables)).toEqual(snapshot(noDrop.variables));
      const x = tf.randomNormal([4, 8], 0, 1, 'float32', 2);
      const ev = a.apply(x, 'eval');
      expectClose(ev, noDrop.apply(x, 'eval').arraySync(), { name: 'eval without dropout' });
      const ta = a.apply(x, 'train');
      const tb = b.apply(x, 'train');
      expect(Array.from(ta.dataSync())).toEqual(Array.from(tb.dataSync()));
      const zeros = Array.from(ta.dataSync()).filter((v, i) => v === 0 && (ev.dataSync()[i] as number) !== 0).length;
      expect(zeros).toBeGreaterThan(40);
      const saved = a.getRngState!()!;
      const next = a.apply(x, 'train');
      expect(Array.from(next.dataSync())).not.toEqual(Array.from(ta.dataSync()));
      a.setRngState!(saved);
      const again = a.apply(x, 'train');
      expect(Array.from(again.dataSync())).toEqual(Array.from(next.dataSync()));
      expect(noDrop.getRngState!()).toBeNull();
      tf.dispose([x, ev, ta, tb, next, again]);
      for (const m of [a, b, noDrop]) m.dispose();
    });

    it('apply inside tidy leaves nothing; dispose frees exactly the variables', async () => {
      const before = tf.memory().numTensors;
      const cnn = cnnBackbone({ inputShape: [6, 6, 1], channels: [2, 3], denseSizes: [5], dropout: 0.1, rng: seededRng(0) });
      // conv k (×2) + γ, β (×2) + moving mean/var (×2) + dense kernel, bias.
      expect(cnn.variables).toHaveLength(12);
      expect(tf.memory().numTensors - before).toBe(12);
      const x = tf.randomNormal([3, 6, 6, 1], 0, 1, 'float32', 1);
      await expectNoLeak(() => tf.tidy(() => cnn.apply(x, 'train')));
      await expectNoLeak(() => {
        tf.tidy(() => {
          cnn.apply(x, 'eval');
        });
      });
      x.dispose();
      cnn.dispose();
      cnn.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });

    it('wraps a tf.LayersModel: train mode updates its BN statistics, eval does not', async () => {
      const before = tf.memory().numTensors;
      const model = tf.sequential({
        layers: [
          tf.layers.dense({ inputShape: [4], units: 6, kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
          tf.layers.batchNormalization(),
          tf.layers.reLU(),
        ],
      });
      const bb = layersModelBackbone({ model });
      expect([bb.kind, bb.outputDim, bb.inputShape]).toEqual(['layersModel', 6, [4]]);
      expect(bb.trainableVariables).toHaveLength(4);
      expect(bb.variables).toHaveLength(6);
      const state = bb.variables.slice(4);
      const x = tf.randomNormal([5, 4], 2, 1, 'float32', 4);
      const s0 = snapshot(state);
      tf.tidy(() => {
        bb.apply(x, 'eval');
      });
      expect(snapshot(state)).toEqual(s0);
      tf.tidy(() => {
        bb.apply(x, 'train');
      });
      expect(snapshot(state)[0]).not.toEqual(s0[0]);
      const { value, grads } = tf.variableGrads(
        () => tf.sum(tf.square(bb.apply(x, 'train'))) as tf.Scalar,
        [...bb.trainableVariables],
      );
      for (const v of bb.trainableVariables) expect(sumAbs(grads[v.name]!)).toBeGreaterThan(0);
      tf.dispose([value, grads]);
      await expectNoLeak(() => tf.tidy(() => bb.apply(x, 'train')));
      const wrong = tf.zeros([2, 3]);
      expect(thrown(() => bb.apply(wrong, 'eval')).message).toBe(
        'expected x of shape [N, 4] with N >= 1. Received: x.shape=[2, 3]',
      );
      tf.dispose([x, wrong]);
      bb.dispose();
      bb.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });
  });
}

describe('backbones: init determinism, wrappers, config, errors', () => {
  it('same seed gives identical weights for MLP and CNN; a different seed differs', () => {
    const mk = (seed: number) => [
      mlpBackbone({ inputDim: 10, hiddenSizes: [8, 6], rng: seededRng(seed) }),
      cnnBackbone({ inputShape: [8, 8, 3], channels: [4, 4], denseSizes: [5], rng: seededRng(seed) }),
    ];
    const [a1, a2] = mk(11);
    const [b1, b2] = mk(11);
    const [c1, c2] = mk(12);
    expect(snapshot(a1!.variables)).toEqual(snapshot(b1!.variables));
    expect(snapshot(a2!.variables)).toEqual(snapshot(b2!.variables));
    expect(snapshot(a1!.trainableVariables)[0]).not.toEqual(snapshot(c1!.trainableVariables)[0]);
    expect(snapshot(a2!.trainableVariables)[0]).not.toEqual(snapshot(c2!.trainableVariables)[0]);
    // heNormal conv init: std √(2 / fanIn) with fanIn = 3·3·3.
    const w = snapshot([a2!.trainableVariables[0]!])[0]!;
    const std = Math.sqrt(w.reduce((s, v) => s + v * v, 0) / w.length);
    expect(std).toBeGreaterThan(Math.sqrt(2 / 27) * 0.7);
    expect(std).toBeLessThan(Math.sqrt(2 / 27) * 1.3);
    for (const m of [a1, a2, b1, b2, c1, c2]) m!.dispose();
  });

  it('function backbone: checks the output shape, reports its variables, calls onDispose once', async () => {
    const w = tf.variable(tf.ones([3, 2]));
    let disposed = 0;
    const bb = functionBackbone({
      fn: (x) => tf.relu(tf.matMul(x as tf.Tensor2D, w)),
      outputDim: 2,
      inputShape: [3],
      trainableVariables: [w],
      onDispose: () => {
        disposed++;
        w.dispose();
      },
      name: 'tiny',
    });
    expect(bb.config).toEqual({ name: 'tiny', outputDim: 2, inputShape: [3] });
    const x = tf.ones([4, 3]);
    await expectNoLeak(() => tf.tidy(() => bb.apply(x, 'eval')));
    const y = bb.apply(x, 'train');
    expect(y.arraySync()).toEqual([[3, 3], [3, 3], [3, 3], [3, 3]]);
    y.dispose();
    const bad = functionBackbone({ fn: (t) => tf.sum(t, 1), outputDim: 2 });
    const before = tf.memory().numTensors;
    expect(thrown(() => bad.apply(x, 'eval'))).toEqual({
      code: 'LongTailError:SHAPE_MISMATCH',
      message: 'expected fn to return features of shape [4, 2]. Received: fn(x).shape=[4]',
    });
    expect(tf.memory().numTensors).toBe(before);
    bb.dispose();
    bb.dispose();
    expect(disposed).toBe(1);
    expect(w.isDisposed).toBe(true);
    expect(thrown(() => bb.apply(x, 'eval')).code).toBe('LongTailError:DISPOSED');
    x.dispose();
    bad.dispose();
  });

  it('identity backbone passes features through', () => {
    const id = identityBackbone({ inputDim: 3 });
    const x = tf.tensor2d([[1, 2, 3]]);
    const y = id.apply(x, 'train');
    expect(y.arraySync()).toEqual([[1, 2, 3]]);
    expect(id.variables).toHaveLength(0);
    tf.dispose([x, y]);
    id.dispose();
  });

  it('configs are JSON and describe the architecture', () => {
    const rng = seededRng(0);
    const cnn = cnnBackbone({ inputShape: [8, 8, 1], channels: [4], rng });
    expect(JSON.parse(JSON.stringify(cnn.config))).toEqual({
      inputShape: [8, 8, 1],
      channels: [4],
      kernelSize: 3,
      pooling: 'max',
      features: 'globalAvg',
      batchNorm: true,
      denseSizes: [],
      dropout: 0,
      init: 'heNormal',
      batchNormMomentum: 0.1,
      batchNormEpsilon: 1e-5,
    });
    const mlp = mlpBackbone({ inputDim: 4, hiddenSizes: [3], rng });
    expect(mlp.config).toEqual({ inputDim: 4, hiddenSizes: [3], dropout: 0, batchNorm: false, init: 'pytorch' });
    expect([cnn.kind, mlp.kind]).toEqual(['cnn', 'mlp']);
    cnn.dispose();
    mlp.dispose();
  });

  it('bad options and inputs throw pinned LongTailErrors before any tensor is made', () => {
    const rng = seededRng(0);
    const before = tf.memory().numTensors;
    expect(thrown(() => mlpBackbone({ inputDim: 4, hiddenSizes: [], rng }))).toEqual({
      code: 'LongTailError:INVALID_OPTION',
      message: 'expected hiddenSizes to be a non-empty array of integers >= 1. Received: hiddenSizes=[]',
    });
    expect(thrown(() => mlpBackbone({ inputDim: 4, hiddenSizes: [3, 0], rng })).message).toBe(
      'expected hiddenSizes[1] >= 1. Received: hiddenSizes[1]=0',
    );
    expect(thrown(() => mlpBackbone({ inputDim: 4, hiddenSizes: [3], dropout: 1, rng })).message).toBe(
      'expected dropout in [0, 1). Received: dropout=1',
    );
    expect(thrown(() => mlpBackbone({ inputDim: 4, hiddenSizes: [3], batchNormMomentum: 2, rng })).message).toBe(
      'expected batchNormMomentum in [0, 1]. Received: batchNormMomentum=2',
    );
    expect(thrown(() => cnnBackbone({ inputShape: [4, 4, 1], channels: [2, 2, 2], rng })).message).toBe(
      'expected at most 2 pooled blocks for a 4×4 input. Received: channels.length=3',
    );
    expect(thrown(() => cnnBackbone({ inputShape: [4, 4] as never, channels: [2], rng })).message).toBe(
      'expected inputShape to be [height, width, channels]. Received: inputShape=[4, 4]',
    );
    expect(thrown(() => cnnBackbone({ inputShape: [4, 4, 1], channels: [2], pooling: 'min' as never, rng })).message).toBe(
      'expected pooling to be one of "max", "avg", "none". Received: pooling="min"',
    );
    expect(thrown(() => functionBackbone({ fn: 3 as never, outputDim: 2 })).message).toBe(
      'expected fn to be a function (x, mode) => features. Received: fn="number"',
    );
    expect(thrown(() => layersModelBackbone({ model: {} as never })).message).toBe(
      'expected model to be a tf.LayersModel. Received: model="object"',
    );
    expect(tf.memory().numTensors).toBe(before);
    const cnn = cnnBackbone({ inputShape: [4, 4, 1], channels: [2], rng });
    const flat = tf.zeros([2, 16]);
    expect(thrown(() => cnn.apply(flat, 'eval'))).toEqual({
      code: 'LongTailError:SHAPE_MISMATCH',
      message: 'expected x of shape [N, 4, 4, 1] with N >= 1. Received: x.shape=[2, 16]',
    });
    const one = tf.zeros([1, 4]);
    const mlp = mlpBackbone({ inputDim: 4, hiddenSizes: [3], batchNorm: true, rng });
    expect(thrown(() => mlp.apply(one, 'train'))).toEqual({
      code: 'LongTailError:SHAPE_MISMATCH',
      message: "expected more than 1 value per channel for batch norm in 'train' mode. Received: x.shape=[1, 3]",
    });
    const disposedInput = tf.zeros([2, 4]);
    disposedInput.dispose();
    expect(thrown(() => mlp.apply(disposedInput, 'eval')).message).toBe(
      'expected a live tensor x. Received: x after dispose()',
    );
    tf.dispose([flat, one]);
    cnn.dispose();
    mlp.dispose();
  });
});
