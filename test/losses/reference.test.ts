import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/backends/index.js';
import { backendsUnderTest, expectClose, expectNoLeak } from '../../src/testing/index.js';
import {
  balancedSoftmaxCrossEntropy,
  classWeighted,
  crossEntropy,
  crossEntropyLoss,
  focalCrossEntropy,
  ldamCrossEntropy,
  logitAdjustedCrossEntropy,
  meanReducer,
  neighborSilencingCrossEntropy,
  postHocAdjust,
  silencingMask,
  supervisedContrastive,
} from '../../src/losses/index.js';
import {
  addRow,
  int1d,
  naiveCrossEntropy,
  naiveFocal,
  naiveLdam,
  naiveLogPrior,
  naiveNeighborSilencing,
  naiveSupCon,
  randomLabels,
  randomMatrix,
  rngFor,
} from './helpers.js';

const TOL = { rtol: 1e-5, atol: 1e-5 };

describe.each(backendsUnderTest())('kernels against naive loops (%s)', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });
  const rng = rngFor(`reference-${backend}`);
  const z = randomMatrix(rng, 8, 4, 3);
  const y = randomLabels(rng, 8, 4);
  const soft = randomMatrix(rng, 8, 4).map((r) => {
    const e = r.map(Math.exp);
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / s);
  });
  const counts = [400, 60, 9, 1];

  function run(fn: (logits: tf.Tensor2D, labels: tf.Tensor1D, targets: tf.Tensor2D) => tf.Tensor): Float32Array {
    const logits = tf.tensor2d(z);
    const labels = int1d(y);
    const targets = tf.tensor2d(soft);
    const out = fn(logits, labels, targets);
    const data = out.dataSync() as Float32Array;
    tf.dispose([logits, labels, targets, out]);
    return data;
  }

  it('cross-entropy: hard, smoothed, soft', () => {
    expectClose(run((l, t) => crossEntropy(l, t)), naiveCrossEntropy(z, y), TOL);
    expectClose(run((l, t) => crossEntropy(l, t, { labelSmoothing: 0.2 })), naiveCrossEntropy(z, y, { smoothing: 0.2 }), TOL);
    expectClose(run((l, t, q) => crossEntropy(l, t, { targets: q })), naiveCrossEntropy(z, y, { targets: soft }), TOL);
  });

  it('logit-adjusted, balanced softmax and post-hoc adjustment', () => {
    for (const tau of [1, 0.5, 2]) {
      expectClose(run((l, t) => logitAdjustedCrossEntropy(l, t, { classCounts: counts, tau })), naiveCrossEntropy(addRow(z, naiveLogPrior(counts, tau)), y), TOL);
    }
    expectClose(run((l, t) => balancedSoftmaxCrossEntropy(l, t, { classCounts: counts })), naiveCrossEntropy(addRow(z, counts.map(Math.log)), y), TOL);
    const adjusted = addRow(z, naiveLogPrior(counts, 1).map((v) => -v));
    expectClose(run((l) => postHocAdjust(l, { classCounts: counts })), adjusted.flat(), TOL);
  });

  it('focal for several gamma', () => {
    for (const gamma of [0, 0.3, 1, 2, 5]) expectClose(run((l, t) => focalCrossEntropy(l, t, { gamma })), naiveFocal(z, y, gamma), { ...TOL, name: `gamma=${gamma}` });
  });

  it('LDAM margins and scale', () => {
    const cosine = z.map((r) => r.map((v) => Math.tanh(v)));
    const logits = tf.tensor2d(cosine);
    const labels = int1d(y);
    const out = ldamCrossEntropy(logits, labels, { classCounts: counts, maxMargin: 0.4, scale: 16 });
    expectClose(out, naiveLdam(cosine, y, counts, 0.4, 16), TOL);
    tf.dispose([logits, labels, out]);
  });

  it('neighbor silencing, hard and soft targets, both mask variants', () => {
    for (const aux of [false, true]) {
      const mask = silencingMask({ numClasses: 4, neighbors: [[2, 3], [3]], auxiliaryIgnoresAuxiliary: aux });
      expectClose(run((l, t) => neighborSilencingCrossEntropy(l, t, { classCounts: counts, mask })), naiveNeighborSilencing(z, y, counts, mask, 1), TOL);
      expectClose(
        run((l, t, q) => neighborSilencingCrossEntropy(l, t, { classCounts: counts, mask, tau: 0.7, targets: q })),
        naiveNeighborSilencing(z, y, counts, mask, 0.7, soft.map((r, i) => r.map((v, j) => ((mask[y[i] as number] as boolean[])[j] ? v : 0)))),
        TOL,
      );
    }
  });

  it('SupCon: multi-view, one view, SimCLR, labelled and unlabelled contrast sets', () => {
    const n = 6;
    const feats = Array.from({ length: n }, () => randomMatrix(rng, 2, 5));
    const lab = [0, 1, 0, 2, 1, 3];
    const protos = randomMatrix(rng, 3, 5);
    const check = (f: number[][][], labels: number[] | null, T: number, Tb: number, contrast?: { features: number[][]; labels: number[] | null }) => {
      const ft = f[0]!.length === 1 ? tf.tensor2d(f.map((r) => r[0] as number[])) : tf.tensor3d(f);
      const lt = labels ? int1d(labels) : undefined;
      const ct = contrast ? tf.tensor2d(contrast.features) : undefined;
      const clt = contrast?.labels ? int1d(contrast.labels) : undefined;
      const out = supervisedContrastive(ft, {
        temperature: T,
        baseTemperature: Tb,
        ...(lt ? { labels: lt } : {}),
        ...(ct ? { contrast: { features: ct, ...(clt ? { labels: clt } : {}) } } : {}),
      });
      const ref = naiveSupCon(f, labels, T, Tb, contrast);
      expectClose(out.values, ref.values, TOL);
      expectClose(out.weights, ref.weights, { rtol: 0, atol: 0 });
      tf.dispose([ft, lt, ct, clt, out.values, out.weights]);
    };
    check(feats, lab, 0.1, 0.07);
    check(feats.map((r) => [r[0] as number[]]), lab, 0.5, 0.5);
    check(feats, null, 0.2, 0.2);
    check(feats.map((r) => [r[0] as number[]]), lab, 0.1, 0.1, { features: protos, labels: [0, 1, 3] });
    check(feats, lab, 0.1, 0.1, { features: protos, labels: null });
  });
});

describe.each(backendsUnderTest())('equivalences the papers imply (%s)', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });
  const rng = rngFor(`equivalence-${backend}`);
  const z = randomMatrix(rng, 10, 5, 2);
  const y = randomLabels(rng, 10, 5);
  const counts = [300, 80, 20, 5, 1];
  const same = (a: (l: tf.Tensor2D, t: tf.Tensor1D) => tf.Tensor, b: (l: tf.Tensor2D, t: tf.Tensor1D) => tf.Tensor, tol = 1e-6) => {
    const logits = tf.tensor2d(z);
    const labels = int1d(y);
    const [va, vb] = [a(logits, labels), b(logits, labels)];
    expectClose(va, vb, { rtol: tol, atol: tol });
    // Gradients agree too.
    const ga = tf.grad((l: tf.Tensor) => tf.sum(a(l as tf.Tensor2D, labels)))(logits);
    const gb = tf.grad((l: tf.Tensor) => tf.sum(b(l as tf.Tensor2D, labels)))(logits);
    expectClose(ga, gb, { rtol: tol, atol: tol });
    tf.dispose([logits, labels, va, vb, ga, gb]);
  };

  it('uniform prior LA = CE; τ = 0 LA = CE', () => {
    same((l, t) => logitAdjustedCrossEntropy(l, t, { classCounts: [7, 7, 7, 7, 7], tau: 1 }), (l, t) => crossEntropy(l, t));
    same((l, t) => logitAdjustedCrossEntropy(l, t, { classCounts: counts, tau: 0 }), (l, t) => crossEntropy(l, t), 0);
  });

  it('balanced softmax = LA at τ = 1', () => {
    same((l, t) => balancedSoftmaxCrossEntropy(l, t, { classCounts: counts }), (l, t) => logitAdjustedCrossEntropy(l, t, { classCounts: counts, tau: 1 }), 0);
  });

  it('focal γ = 0 = CE', () => {
    // Focal's float32 composition vs cross-entropy's fused kernel (float64 rows): equal up to rounding.
    same((l, t) => focalCrossEntropy(l, t, { gamma: 0 }), (l, t) => crossEntropy(l, t), 1e-6);
  });

  it('neighbor silencing with an all-ones mask = balanced softmax', () => {
    const ones = counts.map(() => counts.map(() => true));
    same((l, t) => neighborSilencingCrossEntropy(l, t, { classCounts: counts, mask: ones }), (l, t) => balancedSoftmaxCrossEntropy(l, t, { classCounts: counts }), 0);
  });

  it('class-balanced with β = 0 = plain mean', () => {
    const logits = tf.tensor2d(z);
    const labels = int1d(y);
    const a = crossEntropyLoss({ reducer: classWeighted({ beta: 0, classCounts: counts }) }).compute({ logits, labels });
    const b = crossEntropyLoss({ reducer: meanReducer() }).compute({ logits, labels });
    expectClose(a, b, { rtol: 1e-6, atol: 1e-6 });
    tf.dispose([logits, labels, a, b]);
  });

  it('post-hoc adjustment with a uniform prior keeps the ranking', () => {
    const logits = tf.tensor2d(z);
    const adjusted = postHocAdjust(logits, { classCounts: [3, 3, 3, 3, 3] });
    const [a, b] = [tf.argMax(logits, 1), tf.argMax(adjusted, 1)];
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    tf.dispose([logits, adjusted, a, b]);
  });

  it('every kernel leaves no tensor behind and does not dispose its inputs', async () => {
    const logits = tf.tensor2d(z);
    const labels = int1d(y);
    const feats = tf.tensor3d(Array.from({ length: 4 }, () => randomMatrix(rng, 2, 3)));
    const fl = int1d([0, 1, 0, 1]);
    await expectNoLeak(() => crossEntropy(logits, labels, { labelSmoothing: 0.1 }));
    await expectNoLeak(() => logitAdjustedCrossEntropy(logits, labels, { classCounts: counts }));
    await expectNoLeak(() => focalCrossEntropy(logits, labels, { gamma: 0.5 }));
    await expectNoLeak(() => ldamCrossEntropy(logits, labels, { classCounts: counts }));
    await expectNoLeak(() => postHocAdjust(logits, { classCounts: counts }));
    await expectNoLeak(() => neighborSilencingCrossEntropy(logits, labels, { classCounts: counts, mask: silencingMask({ numClasses: 5, neighbors: [[3], [4]] }) }));
    await expectNoLeak(() => supervisedContrastive(feats, { labels: fl }));
    await expectNoLeak(() => tf.grad((f: tf.Tensor) => tf.sum(supervisedContrastive(f as tf.Tensor3D, { labels: fl }).values))(feats));
    expect([logits, labels, feats, fl].every((t) => !t.isDisposed)).toBe(true);
    tf.dispose([logits, labels, feats, fl]);
  });
});
