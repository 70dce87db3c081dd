/**
 * LADE (Hong et al. 2021) and GRW (Zhang et al. 2021): golden values and gradients from PyTorch
 * transcriptions of the official code (scripts/golden/lade_grw.py), naive loops, the paper's
 * equivalences, validation and memory.
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/backends/index.js';
import { toConfig } from '../../src/core/registry.js';
import {
  balancedSoftmaxLoss,
  classWeighted,
  crossEntropyLoss,
  evaluateLoss,
  generalizedReweighting,
  generalizedReweightingWeights,
  ladeLoss,
  ladeLowerBounds,
  lossRegistry,
  meanReducer,
  pcSoftmaxLogits,
  postHocAdjust,
  reducerRegistry,
} from '../../src/losses/index.js';
import { backendsUnderTest, expectClose, expectNoLeak } from '../../src/testing/index.js';
import { expectError } from '../helpers/errors.js';
import { seededRng } from '../../src/core/rng.js';
import { logSoftmaxRow, naiveCrossEntropy, randomLabels, randomMatrix, type Matrix } from './helpers.js';

interface LadeCase {
  name: string;
  logits: Matrix;
  labels: number[];
  classCounts: number[];
  alpha: number;
  remineLambda: number;
  priorCEValues: number[];
  priorCE: number;
  bounds: number[];
  lader: number;
  total: number;
  grad: Matrix;
  laderGrad: Matrix;
}
const golden = JSON.parse(readFileSync(new URL('../golden/lade_grw.json', import.meta.url), 'utf8')) as {
  lade: LadeCase[];
  inference: { logits: Matrix; trainCounts: number[]; targetCounts: number[]; softmaxBranch: Matrix; ladeBranch: Matrix; ladeBranchUniform: Matrix };
  grw: { classCounts: number[]; weights: Record<string, number[]>; logits: Matrix; labels: number[]; losses: { rho: number; loss: number; grad: Matrix }[] };
};
const TOL = { rtol: 1e-5, atol: 1e-5 };

/** The official LADELoss written as loops over numbers (float64), independent of the kernel. */
function naiveLader(z: Matrix, labels: readonly number[], counts: readonly number[], lambda: number): { bounds: number[]; lader: number } {
  const c = counts.length;
  const n = z.length;
  const total = counts.reduce((a, b) => a + b, 0);
  const bounds: number[] = [];
  let lader = 0;
  for (let k = 0; k < c; k++) {
    const prior = (counts[k] as number) / total;
    let sum = 0;
    let nk = 0;
    const spread: number[] = [];
    for (let i = 0; i < n; i++) {
      const v = (z[i] as number[])[k] as number;
      if (labels[i] === k) {
        sum += v;
        nk++;
      }
      spread.push(v - Math.log(prior + 1e-9) + Math.log(1 / c + 1e-9));
    }
    const m = Math.max(...spread);
    const second = m + Math.log(spread.reduce((s, v) => s + Math.exp(v - m), 0)) - Math.log(n);
    const b = sum / (nk + 1e-8) - second - lambda * second * second;
    bounds.push(b);
    lader -= prior * b;
  }
  return { bounds, lader };
}

describe.each(backendsUnderTest())('LADE and GRW (%s)', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it.each(golden.lade.map((c) => [c.name, c] as const))('%s: bounds, terms, total and gradients match the official code', (_n, c) => {
    const logits = tf.tensor2d(c.logits);
    const labels = tf.tensor1d(c.labels, 'int32');
    const bounds = ladeLowerBounds(logits, labels, { classCounts: c.classCounts, remineLambda: c.remineLambda });
    expectClose(bounds, c.bounds, { ...TOL, name: `${c.name} bounds` });
    const loss = ladeLoss({ classCounts: c.classCounts, alpha: c.alpha, remineLambda: c.remineLambda });
    const { total, terms } = evaluateLoss(loss, { logits, labels });
    expectClose(terms['priorCE'], c.priorCE, { ...TOL, name: 'priorCE' });
    expectClose(terms['lade'], c.alpha * c.lader, { ...TOL, name: 'lade' });
    expectClose(total, c.total, { ...TOL, name: 'total' });
    const g = tf.grad((z: tf.Tensor) => loss.compute({ logits: z as tf.Tensor2D, labels }))(logits);
    expectClose(g, c.grad, { ...TOL, name: `${c.name} grad` });
    const regularizerOnly = ladeLoss({ classCounts: c.classCounts, alpha: 1, remineLambda: c.remineLambda });
    const gl = tf.grad((z: tf.Tensor) => evaluateLoss(regularizerOnly, { logits: z as tf.Tensor2D, labels }).terms['lade'] as tf.Scalar)(logits);
    expectClose(gl, c.laderGrad, { ...TOL, name: `${c.name} LADER grad` });
    tf.dispose([logits, labels, bounds, total, ...Object.values(terms), g, gl]);
  });

  it('PC-softmax inference matches the official eval branches', () => {
    const inf = golden.inference;
    const logits = tf.tensor2d(inf.logits);
    const c = inf.trainCounts.length;
    // Softmax branch: the official subtracts log p_train only; a uniform target adds the constant log(1/C).
    const soft = pcSoftmaxLogits(logits, { source: 'softmax', trainCounts: inf.trainCounts });
    expectClose(soft, inf.softmaxBranch.map((r) => r.map((v) => v + Math.log(1 / c))), TOL);
    const lade = pcSoftmaxLogits(logits, { source: 'lade', targetCounts: inf.targetCounts });
    expectClose(lade, inf.ladeBranch, TOL);
    const uniform = pcSoftmaxLogits(logits, { source: 'lade' });
    expectClose(uniform, inf.ladeBranchUniform, TOL);
    tf.dispose([logits, soft, lade, uniform]);
  });

  it('GRW weights, and the GRW reducer on CE, match cvpods GRWCrossEntropyLoss', () => {
    const g = golden.grw;
    for (const [rho, w] of Object.entries(g.weights)) {
      expectClose(generalizedReweightingWeights(g.classCounts, { rho: Number(rho) }), w, { rtol: 1e-12, atol: 1e-12, name: `rho ${rho}` });
    }
    const logits = tf.tensor2d(g.logits);
    const labels = tf.tensor1d(g.labels, 'int32');
    for (const c of g.losses) {
      const loss = crossEntropyLoss({ reducer: generalizedReweighting({ rho: c.rho, classCounts: g.classCounts }) });
      const { value, grad } = tf.valueAndGrad((z: tf.Tensor) => loss.compute({ logits: z as tf.Tensor2D, labels }))(logits);
      expectClose(value, c.loss, { ...TOL, name: `rho ${c.rho} loss` });
      expectClose(grad, c.grad, { ...TOL, name: `rho ${c.rho} grad` });
      tf.dispose([value, grad]);
    }
    tf.dispose([logits, labels]);
  });
});

describe('LADE and GRW: naive loops, equivalences, config, validation, memory', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('bounds and the LADER term equal a naive loop on random batches (absent and zero-count classes too)', () => {
    const rng = seededRng(16);
    for (const counts of [[30, 9, 4, 1], [12, 0, 5, 2], [1, 1, 1, 1]]) {
      for (const lambda of [0, 0.1, 0.7]) {
        const z = randomMatrix(rng, 7, counts.length, 2);
        const y = randomLabels(rng, 7, counts.length);
        const ref = naiveLader(z, y, counts, lambda);
        tf.tidy(() => {
          const logits = tf.tensor2d(z);
          const labels = tf.tensor1d(y, 'int32');
          expectClose(ladeLowerBounds(logits, labels, { classCounts: counts, remineLambda: lambda }), ref.bounds, TOL);
          const { terms } = evaluateLoss(ladeLoss({ classCounts: counts, alpha: 0.3, remineLambda: lambda }), { logits, labels });
          expectClose(terms['lade'], 0.3 * ref.lader, TOL);
          const total = counts.reduce((a, b) => a + b, 0);
          const priorCE = naiveCrossEntropy(z.map((r) => r.map((v, j) => v + Math.log((counts[j] as number) / total + 1e-12))), y);
          expectClose(terms['priorCE'], priorCE.reduce((a, b) => a + b, 0) / y.length, TOL);
        });
      }
    }
  });

  it('α = 0 is the balanced softmax (logit-adjusted τ = 1) loss, value and gradient', () => {
    const rng = seededRng(3);
    const counts = [40, 12, 3, 1];
    const z = tf.tensor2d(randomMatrix(rng, 6, 4, 2));
    const y = tf.tensor1d(randomLabels(rng, 6, 4), 'int32');
    const lade = ladeLoss({ classCounts: counts, alpha: 0 });
    const bs = balancedSoftmaxLoss({ classCounts: counts });
    const a = tf.valueAndGrad((x: tf.Tensor) => lade.compute({ logits: x as tf.Tensor2D, labels: y }))(z);
    const b = tf.valueAndGrad((x: tf.Tensor) => bs.compute({ logits: x as tf.Tensor2D, labels: y }))(z);
    expectClose(a.value, b.value.dataSync()[0], TOL);
    expectClose(a.grad, b.grad.arraySync(), TOL);
    // With α > 0 the two differ.
    const withReg = ladeLoss({ classCounts: counts, alpha: 0.5 }).compute({ logits: z, labels: y });
    expect(Math.abs((withReg.dataSync()[0] as number) - (b.value.dataSync()[0] as number))).toBeGreaterThan(1e-3);
    tf.dispose([z, y, a.value, a.grad, b.value, b.grad, withReg]);
  });

  it('PC softmax with a uniform target equals post-hoc logit adjustment at τ = 1 (same softmax); a uniform train prior is a no-op', () => {
    const rng = seededRng(5);
    const counts = [50, 20, 5, 1];
    const z = randomMatrix(rng, 5, 4, 1.5);
    tf.tidy(() => {
      const logits = tf.tensor2d(z);
      const pc = pcSoftmaxLogits(logits, { source: 'softmax', trainCounts: counts });
      const la = postHocAdjust(logits, { classCounts: counts, tau: 1 });
      expectClose(tf.softmax(pc), tf.softmax(la).arraySync(), TOL);
      expectClose(tf.sub(pc, la), z.map(() => counts.map(() => Math.log(1 / 4))), TOL);
      expectClose(tf.softmax(pcSoftmaxLogits(logits, { source: 'softmax', trainCounts: [3, 3, 3, 3] })), z.map(logSoftmaxRow).map((r) => r.map(Math.exp)), TOL);
      // Moving a LADE model to a target prior p_t multiplies its softmax by p_t and renormalizes.
      const target = [1, 2, 3, 4];
      const moved = pcSoftmaxLogits(logits, { source: 'lade', targetCounts: target });
      const expected = z.map((r) => {
        const e = r.map((v, j) => Math.exp(v) * (target[j] as number));
        const s = e.reduce((a, b) => a + b, 0);
        return e.map((v) => v / s);
      });
      expectClose(tf.softmax(moved), expected, TOL);
    });
  });

  it('GRW: ρ = 0 is the plain mean, ρ = 1 inverse frequency; mean weight 1; zero counts weighted as one sample', () => {
    const counts = [300, 60, 10, 2];
    expectClose(generalizedReweightingWeights(counts, { rho: 0 }), [1, 1, 1, 1], { rtol: 1e-12, atol: 1e-12 });
    const inv = counts.map((n) => 1 / n);
    const s = inv.reduce((a, b) => a + b, 0);
    expectClose(generalizedReweightingWeights(counts, { rho: 1 }), inv.map((v) => (v * 4) / s), { rtol: 1e-12, atol: 1e-12 });
    const w = generalizedReweightingWeights(counts, { rho: 0.7 });
    expectClose(w.reduce((a, b) => a + b, 0), 4, { rtol: 1e-12, atol: 1e-12 });
    expectClose(generalizedReweightingWeights([10, 0, 1], { rho: 0.5 }), generalizedReweightingWeights([10, 1, 1], { rho: 0.5 }), { rtol: 1e-12, atol: 1e-12 });
    tf.tidy(() => {
      const values = tf.tensor1d([1.5, 0.2, 3.0, 0.7, 2.2]);
      const labels = tf.tensor1d([0, 2, 1, 3, 0], 'int32');
      const term = { kind: 'perSample' as const, values };
      expectClose(generalizedReweighting({ rho: 0, classCounts: counts }).reduce(term, { labels }), meanReducer().reduce(term, { labels }).dataSync()[0], TOL);
      const naive = [1.5, 0.2, 3.0, 0.7, 2.2].reduce((acc, v, i) => acc + v / (counts[[0, 2, 1, 3, 0][i] as number] as number), 0) /
        [0, 2, 1, 3, 0].reduce((acc, y) => acc + 1 / (counts[y] as number), 0);
      expectClose(generalizedReweighting({ rho: 1, classCounts: counts }).reduce(term, { labels }), naive, TOL);
      // Counts from ctx when not given; reduced terms pass through.
      expectClose(generalizedReweighting({ rho: 1 }).reduce(term, { labels, ctx: { classCounts: counts } }), naive, TOL);
      expect(generalizedReweighting({ rho: 1 }).reduce({ kind: 'reduced', value: tf.scalar(2.5) }, { labels }).dataSync()[0]).toBe(2.5);
      // Same form as classWeighted: both are F.cross_entropy(weight=w)-style means with different weights.
      expect(generalizedReweighting({ rho: 1, classCounts: counts }).reduce(term, { labels }).dataSync()[0]).not.toBeCloseTo(
        classWeighted({ beta: 0.9, classCounts: counts }).reduce(term, { labels }).dataSync()[0] as number,
        3,
      );
    });
  });

  it('configs round-trip through the registries', () => {
    const lade = ladeLoss({ classCounts: [5, 2, 1], alpha: 0.2, remineLambda: 0.05, reducer: generalizedReweighting({ rho: 1.2 }) });
    const rebuilt = lossRegistry.fromConfig(toConfig(lade));
    expect(toConfig(rebuilt)).toEqual(toConfig(lade));
    expect(toConfig(lade).config).toEqual({
      alpha: 0.2,
      remineLambda: 0.05,
      validate: true,
      classCounts: [5, 2, 1],
      reducer: { kind: 'generalizedReweighting', config: { rho: 1.2 } },
    });
    const grw = generalizedReweighting({ rho: 0.5, classCounts: [4, 1] });
    expect(toConfig(reducerRegistry.fromConfig(toConfig(grw)))).toEqual({ kind: 'generalizedReweighting', config: { rho: 0.5, classCounts: [4, 1] } });
    expectError(() => reducerRegistry.fromConfig({ kind: 'generalizedReweighting', config: { rho: 1, rhoo: 2 } }), 'UNKNOWN_OPTION',
      'expected reducer { kind: "generalizedReweighting" } config to be among rho, classCounts. Received: rhoo (did you mean rho?)');
  });

  it('bad input is a LongTailError before any tensor; nothing leaks, also on failing calls', async () => {
    const logits = tf.tensor2d([[1, 2, 3], [0, 0, 1]]);
    const labels = tf.tensor1d([0, 2], 'int32');
    const outOfRange = tf.tensor1d([0, 3], 'int32') as tf.Tensor1D;
    const empty = tf.zeros([0, 3]) as tf.Tensor2D;
    const emptyLabels = tf.zeros([0], 'int32') as tf.Tensor1D;
    expectError(() => ladeLoss({ alpha: -1 }), 'INVALID_OPTION', 'expected alpha >= 0. Received: alpha=-1');
    expectError(() => ladeLoss({ remineLambda: Number.NaN }), 'INVALID_OPTION', 'expected remineLambda to be a finite number. Received: remineLambda=NaN');
    expectError(() => ladeLoss({ alpah: 0.1 } as never), 'UNKNOWN_OPTION', 'expected ladeLoss options to be among reducer, validate, classCounts, alpha, remineLambda. Received: alpah (did you mean alpha?)');
    expectError(() => ladeLowerBounds(logits, labels, { classCounts: [1, 2] }), 'SHAPE_MISMATCH', 'expected classCounts.length equal to the number of classes = 3. Received: classCounts.length=2');
    expectError(() => ladeLowerBounds(logits, outOfRange, { classCounts: [1, 2, 3] }), 'LABEL_OUT_OF_RANGE', 'expected labels in [0, 3). Received: labels[1]=3');
    expectError(() => ladeLowerBounds(empty, emptyLabels, { classCounts: [1, 2, 3] }), 'SHAPE_MISMATCH',
      'expected a batch of at least one sample (the bound averages over the batch). Received: logits.shape[0]=0');
    expectError(() => ladeLoss().compute({ logits, labels }), 'MISSING_INPUT', 'expected classCounts in the lade options or in ctx.classCounts. Received: classCounts=undefined');
    expectError(() => pcSoftmaxLogits(logits, { source: 'softmax' }), 'INVALID_OPTION', "expected trainCounts with source 'softmax' (its logits carry the training prior). Received: trainCounts=undefined");
    expectError(() => pcSoftmaxLogits(logits, { source: 'lade', trainCounts: [1, 1, 1] }), 'INVALID_OPTION',
      "expected no trainCounts with source 'lade' (its logits already exclude the training prior). Received: trainCounts=[1, 1, 1]");
    expectError(() => pcSoftmaxLogits(logits, { source: 'posthoc' as never }), 'INVALID_OPTION', 'expected source to be one of "softmax", "lade". Received: source="posthoc"');
    expectError(() => pcSoftmaxLogits(logits, { source: 'lade', targetCounts: [1, -1, 1] }), 'INVALID_OPTION', 'expected every targetCounts entry to be a finite number >= 0. Received: targetCounts[1]=-1');
    expectError(() => generalizedReweighting({ rho: -0.5 }), 'INVALID_OPTION', 'expected rho >= 0. Received: rho=-0.5');
    expectError(() => generalizedReweighting(undefined as never), 'INVALID_OPTION', 'expected rho to be a finite number. Received: rho=undefined');
    expectError(() => generalizedReweightingWeights([1, 2], { rho: 1, beta: 2 } as never), 'UNKNOWN_OPTION', 'expected generalizedReweightingWeights options to be among rho. Received: beta');
    const grwTerm = () => ({ kind: 'perSample' as const, values: tf.tensor1d([1, 2]) });
    await expectNoLeak(() => {
      const t = grwTerm();
      expectError(() => generalizedReweighting({ rho: 1 }).reduce(t, { labels }), 'MISSING_INPUT', 'expected classCounts in the generalizedReweighting options or in ctx.classCounts. Received: classCounts=undefined');
      expectError(() => generalizedReweighting({ rho: 1, classCounts: [1, 1] }).reduce(t, { labels }), 'LABEL_OUT_OF_RANGE', 'expected labels in [0, 2). Received: labels[1]=2');
      t.values.dispose();
    });
    const loss = ladeLoss({ classCounts: [5, 2, 1], reducer: generalizedReweighting({ rho: 1 }) });
    await expectNoLeak(() => loss.compute({ logits, labels }));
    await expectNoLeak(() => tf.grad((z: tf.Tensor) => loss.compute({ logits: z as tf.Tensor2D, labels }))(logits));
    await expectNoLeak(() => ladeLowerBounds(logits, labels, { classCounts: [5, 2, 1] }));
    await expectNoLeak(() => pcSoftmaxLogits(logits, { source: 'softmax', trainCounts: [5, 2, 1], targetCounts: [1, 2, 3] }));
    // Inputs are not disposed.
    expect(logits.isDisposed || labels.isDisposed).toBe(false);
    tf.dispose([logits, labels, outOfRange, empty, emptyLabels]);
  });
});
