import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { seededRng } from '../../src/core/rng.js';
import { useBackend } from '../../src/backends/index.js';
import { backendsUnderTest, expectClose, expectNoLeak } from '../../src/testing/index.js';
import {
  auxiliaryHead,
  cnnBackbone,
  cosineHead,
  classifier,
  dualBranch,
  linearHead,
  mlpBackbone,
  type Model,
} from '../../src/models/index.js';
import { crossEntropy, golden, setVariable, sgdStep, snapshot, sumAbs, thrown } from './helpers.js';

/** Three Gaussian blobs in 4-d, 10 samples each (seeded). */
function blobs(seed: number): { x: tf.Tensor2D; y: tf.Tensor1D } {
  const rng = seededRng(seed);
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = 0; i < 30; i++) {
    const c = i % 3;
    for (let d = 0; d < 4; d++) xs.push((d === c ? 2 : 0) + 0.5 * rng.normal());
    ys.push(c);
  }
  return { x: tf.tensor2d(xs, [30, 4]), y: tf.tensor1d(ys, 'int32') };
}

/** 8×8 one-channel images: class c lights up quadrant c (plus noise). */
function quadrants(seed: number, n: number): { x: tf.Tensor4D; y: tf.Tensor1D } {
  const rng = seededRng(seed);
  const xs = new Float32Array(n * 64);
  const ys: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = i % 4;
    const r0 = c < 2 ? 0 : 4;
    const c0 = c % 2 === 0 ? 0 : 4;
    for (let r = 0; r < 8; r++) {
      for (let q = 0; q < 8; q++) {
        const lit = r >= r0 && r < r0 + 4 && q >= c0 && q < c0 + 4;
        xs[i * 64 + r * 8 + q] = (lit ? 1 : 0) + 0.3 * rng.normal();
      }
    }
    ys.push(c);
  }
  return { x: tf.tensor4d(xs, [n, 8, 8, 1]), y: tf.tensor1d(ys, 'int32') };
}

/** Every trainable variable receives a non-zero gradient from `loss`. */
function expectGradientsEverywhere(model: Model, loss: () => tf.Scalar): void {
  const { value, grads } = tf.variableGrads(loss, [...model.trainableVariables]);
  for (const [i, v] of model.trainableVariables.entries()) {
    const g = grads[v.name];
    expect(g, `gradient of trainable variable ${i}`).toBeDefined();
    expect(sumAbs(g!), `|gradient| of trainable variable ${i}`).toBeGreaterThan(0);
    expect(g!.shape).toEqual(v.shape);
  }
  tf.dispose([value, grads]);
}

for (const backend of backendsUnderTest()) {
  describe(`classifier models on ${backend}`, () => {
    beforeAll(async () => {
      await useBackend(backend);
    });

    it('forward returns logits and embeddings; head(features) equals the logits of forward', () => {
      const rng = seededRng(0);
      const model = classifier({
        backbone: mlpBackbone({ inputDim: 4, hiddenSizes: [6, 5], rng }),
        head: linearHead({ inputDim: 5, numClasses: 3, rng }),
      });
      expect([model.kind, model.numClasses, model.numTrainClasses, model.featureDim]).toEqual(['classifier', 3, 3, 5]);
      expect(model.provides).toEqual(['logits', 'embeddings']);
      const { x } = blobs(1);
      const out = model.forward(x, 'eval');
      expect(out.logits.shape).toEqual([30, 3]);
      expect(out.embeddings.shape).toEqual([30, 5]);
      const viaHead = model.head(out.embeddings);
      expectClose(viaHead, out.logits.arraySync(), { name: 'head(embeddings)' });
      const emb = model.embed(x, 'eval');
      expectClose(emb, out.embeddings.arraySync(), { name: 'embed' });
      tf.dispose([x, out.logits, out.embeddings, viaHead, emb]);
      model.dispose();
    });

    it('gradients reach every trainable variable (MLP + BN + dropout, CNN + dense, cosine head)', () => {
      const rng = seededRng(1);
      const mlp = classifier({
        backbone: mlpBackbone({ inputDim: 4, hiddenSizes: [8, 6], batchNorm: true, dropout: 0.2, rng }),
        head: linearHead({ inputDim: 6, numClasses: 3, rng }),
      });
      const { x, y } = blobs(2);
      expectGradientsEverywhere(mlp, () => crossEntropy(mlp.forward(x, 'train').logits, y));
      const cnn = classifier({
        backbone: cnnBackbone({ inputShape: [8, 8, 1], channels: [2, 3], denseSizes: [4], rng }),
        head: cosineHead({ inputDim: 4, numClasses: 4, rng }),
      });
      const q = quadrants(3, 8);
      expectGradientsEverywhere(cnn, () => crossEntropy(cnn.forward(q.x, 'train').logits, q.y));
      tf.dispose([x, y, q.x, q.y]);
      mlp.dispose();
      cnn.dispose();
    });

    it('a few SGD steps reduce the loss of an MLP on separable blobs, without leaking', () => {
      const rng = seededRng(4);
      const model = classifier({
        backbone: mlpBackbone({ inputDim: 4, hiddenSizes: [16], rng }),
        head: linearHead({ inputDim: 16, numClasses: 3, rng }),
      });
      const { x, y } = blobs(5);
      const before = tf.memory().numTensors;
      const losses: number[] = [];
      for (let i = 0; i < 15; i++) {
        losses.push(sgdStep(() => crossEntropy(model.forward(x, 'train').logits, y), model.trainableVariables, 0.2));
      }
      expect(tf.memory().numTensors).toBe(before);
      expect(losses[14]!).toBeLessThan(0.5 * losses[0]!);
      tf.dispose([x, y]);
      model.dispose();
    });

    it('a few steps reduce the loss of a conv-BN-ReLU CNN (optimizer.minimize), BN stats move', () => {
      const rng = seededRng(6);
      const model = classifier({
        backbone: cnnBackbone({ inputShape: [8, 8, 1], channels: [4, 8], rng }),
        head: linearHead({ inputDim: 8, numClasses: 4, rng }),
      });
      const { x, y } = quadrants(7, 16);
      const state = model.variables.filter((v) => !model.trainableVariables.includes(v));
      expect(state).toHaveLength(4);
      const s0 = snapshot(state);
      const opt = tf.train.sgd(0.2);
      const loss = () => crossEntropy(model.forward(x, 'train').logits, y);
      const evalLoss = () => {
        const l = tf.tidy(() => crossEntropy(model.forward(x, 'eval').logits, y));
        const v = l.dataSync()[0] as number;
        l.dispose();
        return v;
      };
      const first = evalLoss();
      const before = tf.memory().numTensors;
      for (let i = 0; i < 12; i++) opt.minimize(loss, false, [...model.trainableVariables]);
      expect(tf.memory().numTensors).toBe(before);
      expect(evalLoss()).toBeLessThan(0.7 * first);
      expect(snapshot(state)[0]).not.toEqual(s0[0]);
      opt.dispose();
      tf.dispose([x, y]);
      model.dispose();
    });

    it('auxiliary classifier: trains over C + A classes, predicts over C only', () => {
      const rng = seededRng(8);
      const model = classifier({
        backbone: mlpBackbone({ inputDim: 4, hiddenSizes: [6], rng }),
        head: auxiliaryHead({ head: linearHead({ inputDim: 6, numClasses: 5, rng }), numAuxiliaryClasses: 2 }),
      });
      expect([model.numClasses, model.numTrainClasses]).toEqual([3, 5]);
      const { x } = blobs(9);
      const yAll = tf.tensor1d(Array.from({ length: 30 }, (_, i) => i % 5), 'int32');
      expectGradientsEverywhere(model, () => crossEntropy(model.forward(x, 'train').logits, yAll));
      const train = model.forward(x, 'train');
      const ev = model.forward(x, 'eval');
      expect(train.logits.shape).toEqual([30, 5]);
      expect(ev.logits.shape).toEqual([30, 3]);
      expect(ev.logits.arraySync()).toEqual(train.logits.arraySync().map((r) => r.slice(0, 3)));
      const h = model.head(train.embeddings);
      const ht = model.head(train.embeddings, 'train');
      expect([h.shape[1], ht.shape[1]]).toEqual([3, 5]);
      tf.dispose([x, yAll, train.logits, train.embeddings, ev.logits, ev.embeddings, h, ht]);
      model.dispose();
    });

    it('dual branch: projections are unit vectors, gradients reach every branch, predictions use the head', async () => {
      const rng = seededRng(10);
      const model = dualBranch({
        backbone: mlpBackbone({ inputDim: 4, hiddenSizes: [6], rng }),
        numClasses: 3,
        projectionHiddenSizes: [8, 8],
        projectionDim: 5,
        rng,
      });
      expect(model.provides).toEqual(['logits', 'embeddings', 'projections']);
      expect([model.numClasses, model.featureDim, model.projectionDim]).toEqual([3, 6, 5]);
      const { x, y } = blobs(11);
      const out = model.forward(x, 'train');
      expect(out.projections.shape).toEqual([30, 5]);
      const norms = tf.tidy(() => tf.norm(out.projections, 'euclidean', 1));
      expectClose(norms, new Array(30).fill(1), { rtol: 1e-5, atol: 1e-5, name: '‖projection‖' });
      const target = tf.randomNormal([30, 5], 0, 1, 'float32', 1);
      expectGradientsEverywhere(model, () =>
        tf.tidy(() => {
          const o = model.forward(x, 'train');
          return tf.add(crossEntropy(o.logits, y), tf.mean(tf.sum(tf.mul(o.projections, target), 1))) as tf.Scalar;
        }),
      );
      // The classifier head alone gives the logits; the projection branch never enters predictions.
      const ev = model.forward(x, 'eval');
      const viaHead = model.head(ev.embeddings);
      expectClose(viaHead, ev.logits.arraySync(), { name: 'head' });
      const emb = model.embed(x, 'eval');
      expectClose(emb, ev.embeddings.arraySync(), { name: 'embed' });
      emb.dispose();
      const p = model.project(ev.embeddings, 'eval');
      expectClose(p, ev.projections!.arraySync(), { name: 'project' });
      await expectNoLeak(() => tf.tidy(() => model.forward(x, 'train')));
      tf.dispose([x, y, out.logits, out.embeddings, out.projections!, norms, target, ev.logits, ev.embeddings, ev.projections!, viaHead, p]);
      model.dispose();
    });

    it('dual-branch projection matches PyTorch (SAU contrast head, train mode)', () => {
      const g = golden.projection;
      const model = dualBranch({
        backbone: mlpBackbone({ inputDim: 2, hiddenSizes: [5], rng: seededRng(0) }),
        numClasses: 2,
        projectionHiddenSizes: [8, 8],
        projectionDim: 3,
        rng: seededRng(0),
      });
      // Trainable order: backbone (2), head (2), then projection [k1, γ1, β1, k2, γ2, β2, k3, b3].
      const pv = model.trainableVariables.slice(4);
      expect(pv).toHaveLength(8);
      const [l1, l2, l3] = g.layers as [typeof g.layers[0], typeof g.layers[0], { kernel: number[]; bias: number[] }];
      const values = [l1.kernel, l1.gamma!, l1.beta!, l2.kernel, l2.gamma!, l2.beta!, l3.kernel, l3.bias];
      pv.forEach((v, i) => setVariable(v, values[i]!));
      const f = tf.tensor2d(g.features, [6, 5]);
      const z = model.project(f, 'train');
      expectClose(z, g.train, { rtol: 1e-4, atol: 1e-5, name: 'projection golden' });
      tf.dispose([f, z]);
      model.dispose();
    });
  });
}

describe('classifier models: composition, config, disposal, errors', () => {
  it('classifier without a backbone is a head on precomputed features', () => {
    const model = classifier({ head: linearHead({ inputDim: 3, numClasses: 2, rng: seededRng(0) }) });
    expect(model.backbone.kind).toBe('identity');
    const x = tf.tensor2d([[1, 2, 3]]);
    const out = model.forward(x, 'train');
    expect(out.embeddings.arraySync()).toEqual([[1, 2, 3]]);
    expect(model.trainableVariables).toHaveLength(2);
    tf.dispose([x, out.logits, out.embeddings]);
    model.dispose();
  });

  it('config is JSON describing backbone and head', () => {
    const rng = seededRng(0);
    const model = classifier({
      backbone: mlpBackbone({ inputDim: 4, hiddenSizes: [3], rng }),
      head: cosineHead({ inputDim: 3, numClasses: 2, rng }),
    });
    expect(JSON.parse(JSON.stringify(model.config))).toEqual({
      backbone: { kind: 'mlp', config: { inputDim: 4, hiddenSizes: [3], dropout: 0, batchNorm: false, init: 'pytorch' } },
      head: { kind: 'cosine', config: { inputDim: 3, numClasses: 2, scale: 16, init: 'pytorch' } },
    });
    model.dispose();
  });

  it('dual branch defaults to SAU 2048-2048-128 with batch norm', () => {
    const before = tf.memory().numTensors;
    const model = dualBranch({
      backbone: mlpBackbone({ inputDim: 2, hiddenSizes: [4], rng: seededRng(0) }),
      numClasses: 3,
      rng: seededRng(1),
    });
    const shapes = model.trainableVariables.slice(4).map((v) => v.shape);
    expect(shapes).toEqual([[4, 2048], [2048], [2048], [2048, 2048], [2048], [2048], [2048, 128], [128]]);
    expect(model.config['projectionHiddenSizes']).toEqual([2048, 2048]);
    expect(model.variables.length - model.trainableVariables.length).toBe(4);
    // backbone 2 + head 2 + projection 8 trainable + 4 moving statistics
    expect(tf.memory().numTensors - before).toBe(16);
    model.dispose();
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('dispose frees exactly the variables of backbone and head; use after dispose throws DISPOSED', () => {
    const before = tf.memory().numTensors;
    const rng = seededRng(0);
    const model = classifier({
      backbone: cnnBackbone({ inputShape: [4, 4, 1], channels: [2], rng }),
      head: linearHead({ inputDim: 2, numClasses: 2, rng }),
    });
    // conv kernel, γ, β, moving mean, moving variance + head kernel, bias
    expect(model.variables).toHaveLength(7);
    expect(tf.memory().numTensors - before).toBe(7);
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
    const x = tf.zeros([1, 4, 4, 1]);
    expect(thrown(() => model.forward(x, 'eval'))).toEqual({
      code: 'LongTailError:DISPOSED',
      message: 'expected a live classifier. Received: a classifier after dispose()',
    });
    expect(thrown(() => model.backbone.apply(x, 'eval')).code).toBe('LongTailError:DISPOSED');
    x.dispose();
  });

  it('dropout stream state is exposed through the model for checkpoints', () => {
    const rng = seededRng(0);
    const model = classifier({
      backbone: mlpBackbone({ inputDim: 4, hiddenSizes: [32], dropout: 0.5, rng }),
      head: linearHead({ inputDim: 32, numClasses: 2, rng }),
    });
    const x = tf.ones([3, 4]);
    const state = model.getRngState();
    expect(state).not.toBeNull();
    const a = model.forward(x, 'train');
    model.setRngState(state!);
    const b = model.forward(x, 'train');
    expect(Array.from(b.logits.dataSync())).toEqual(Array.from(a.logits.dataSync()));
    tf.dispose([x, a.logits, a.embeddings, b.logits, b.embeddings]);
    model.dispose();
  });

  it('mismatched parts and bad inputs throw pinned LongTailErrors', () => {
    const rng = seededRng(0);
    const backbone = mlpBackbone({ inputDim: 4, hiddenSizes: [6], rng });
    const head = linearHead({ inputDim: 5, numClasses: 2, rng });
    expect(thrown(() => classifier({ backbone, head }))).toEqual({
      code: 'LongTailError:SHAPE_MISMATCH',
      message: 'expected head.inputDim = backbone.outputDim = 6. Received: head.inputDim=5',
    });
    expect(thrown(() => classifier({ backbone, head: {} as never })).message).toBe(
      'expected head to be a Head (linearHead, cosineHead, ...). Received: head="object"',
    );
    expect(thrown(() => dualBranch({ backbone, rng }))).toEqual({
      code: 'LongTailError:INVALID_OPTION',
      message: 'expected numClasses (or a head) to be given. Received: numClasses=undefined',
    });
    expect(thrown(() => dualBranch({ backbone, numClasses: 2, projectionDim: 0, rng })).message).toBe(
      'expected projectionDim >= 1. Received: projectionDim=0',
    );
    expect(thrown(() => dualBranch({ backbone, head, rng })).code).toBe('LongTailError:SHAPE_MISMATCH');
    const model = classifier({ backbone, head: linearHead({ inputDim: 6, numClasses: 2, rng }) });
    const wrong = tf.zeros([2, 5]);
    expect(thrown(() => model.forward(wrong, 'eval'))).toEqual({
      code: 'LongTailError:SHAPE_MISMATCH',
      message: 'expected x of shape [N, 4] with N >= 1. Received: x.shape=[2, 5]',
    });
    const feats = tf.zeros([2, 4]) as tf.Tensor2D;
    expect(thrown(() => model.head(feats)).message).toBe(
      'expected features of shape [N, 6] with N >= 1. Received: features.shape=[2, 4]',
    );
    expect(thrown(() => model.forward(feats, 'training' as never)).message).toBe(
      'expected mode to be one of "train", "eval". Received: mode="training"',
    );
    tf.dispose([wrong, feats]);
    model.dispose();
    head.dispose();
  });
});
