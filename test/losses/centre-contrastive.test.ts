/**
 * BCL and PaCo: golden values and gradients from PyTorch transcriptions of the official code
 * (scripts/golden/centre_contrastive.py), naive float64 loops, the exact equivalences the papers imply,
 * input errors before any tensor, no leaks, registry round trip.
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/backends/index.js';
import { seededRng } from '../../src/core/rng.js';
import { toConfig } from '../../src/core/registry.js';
import { backendsUnderTest, expectClose } from '../../src/testing/index.js';
import {
  balancedContrastive,
  bclLoss,
  learnableCentres,
  logitAdjustedLoss,
  lossRegistry,
  pacoLoss,
  parametricContrastive,
  supConLoss,
  supervisedContrastive,
} from '../../src/losses/index.js';
import { randomLabels, randomMatrix, type Matrix } from './helpers.js';

interface BclCase {
  name: string;
  features: number[][] | number[][][];
  centres: Matrix;
  labels: number[];
  temperature: number;
  values: number[];
  loss: number;
  gradFeatures: number[][] | number[][][];
  gradCentres: Matrix;
}
interface PacoCase {
  name: string;
  features: number[][] | number[][][];
  logits: Matrix;
  labels: number[];
  alpha: number;
  beta: number;
  gamma: number;
  logitTemperature: number;
  temperature: number;
  baseTemperature: number;
  classCounts: number[] | null;
  labelSmoothing: number;
  values: number[];
  loss: number;
  gradFeatures: number[][] | number[][][];
  gradLogits: Matrix;
}
const golden = JSON.parse(readFileSync(new URL('../golden/centre_contrastive.json', import.meta.url), 'utf8')) as { bcl: BclCase[]; paco: PacoCase[] };
const TOL = { rtol: 1e-4, atol: 1e-5 };

const unit = (v: readonly number[]): number[] => {
  const s = Math.sqrt(v.reduce((a, x) => a + x * x, 0));
  return v.map((x) => x / Math.max(s, 1e-12));
};
const dot = (a: readonly number[], b: readonly number[]): number => a.reduce((s, x, i) => s + x * (b[i] as number), 0);
/** [N, V, d] → view-major rows. */
const stack = (x: number[][][]): number[][] => {
  const out: number[][] = [];
  for (let v = 0; v < (x[0] as number[][]).length; v++) for (const row of x) out.push(row[v] as number[]);
  return out;
};

/** BCL per anchor from the paper's formula, in float64: class-averaged denominator over B_c (entries of c but a). */
function naiveBcl(x: number[][][], centres: Matrix, labels: number[], t: number): number[] {
  const rows = stack(x).map(unit);
  const m = rows.length;
  const ids = [...Array.from({ length: x[0]!.length }, () => labels).flat(), ...centres.map((_, c) => c)];
  const all = [...rows, ...centres.map(unit)];
  return rows.map((za, a) => {
    const byClass = new Map<number, number[]>();
    all.forEach((zb, b) => {
      if (b === a) return;
      const list = byClass.get(ids[b] as number) ?? [];
      list.push(Math.exp(dot(za, zb) / t));
      byClass.set(ids[b] as number, list);
    });
    let denom = 0;
    for (const list of byClass.values()) denom += list.reduce((s, e) => s + e, 0) / list.length;
    const pos = all.map((zb, b) => ({ zb, b })).filter(({ b }) => b !== a && ids[b] === ids[a]);
    if (pos.length === 0 || m === 0) return 0;
    return -pos.reduce((s, { zb }) => s + Math.log(Math.exp(dot(za, zb) / t) / denom), 0) / pos.length;
  });
}

/** PaCo per anchor (view-0 rows), float64, without the max shift and the 1e-12 (its effect is far below the tolerance). */
function naivePaco(x: number[][][], logits: Matrix, labels: number[], o: { alpha: number; beta: number; gamma: number; t: number; tb: number; supt: number; counts?: number[]; eps: number }): number[] {
  const n = labels.length;
  const c = (logits[0] as number[]).length;
  const rows = stack(x).map(unit);
  const total = o.counts?.reduce((a, b) => a + b, 0) ?? 1;
  return labels.map((y, a) => {
    const cl = (logits[a] as number[]).map((z, j) => (z + (o.counts ? Math.log((o.counts[j] as number) / total + 1e-9) : 0)) / o.supt);
    const s = rows.map((zb) => dot(rows[a] as number[], zb) / o.t);
    let denom = cl.reduce((acc, l) => acc + Math.exp(l), 0);
    s.forEach((v, b) => (denom += b === a ? 0 : o.gamma * Math.exp(v)));
    let num = 0;
    let w = 0;
    cl.forEach((l, j) => {
      const q = o.beta * (j === y ? 1 - o.eps : o.eps / (c - 1));
      num += q * (l - Math.log(denom));
      w += q;
    });
    s.forEach((v, b) => {
      if (b !== a && labels[b % n] === y) {
        num += o.alpha * (v - Math.log(denom));
        w += o.alpha;
      }
    });
    return (-(o.t / o.tb) * num) / w;
  });
}

const as3d = (f: number[][] | number[][][]): number[][][] => (Array.isArray((f[0] as unknown[])[0]) ? (f as number[][][]) : (f as number[][]).map((r) => [r]));

describe.each(backendsUnderTest())('BCL and PaCo (%s)', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it.each(golden.bcl.map((c) => [c.name, c] as const))('BalSCL %s: values, loss, gradients w.r.t. features and centres', (_n, c) => {
    const x = tf.tensor(c.features) as tf.Tensor2D | tf.Tensor3D;
    const centres = tf.tensor2d(c.centres);
    const labels = tf.tensor1d(c.labels, 'int32');
    const before = tf.memory().numTensors;
    const { values, weights } = balancedContrastive(x, { labels, centres, temperature: c.temperature });
    expectClose(values, c.values, { ...TOL, name: 'values' });
    expect(Array.from(weights.dataSync())).toEqual(c.values.map(() => 1));
    tf.dispose([values, weights]);
    const loss = bclLoss({ temperature: c.temperature, centres, features: x.rank === 3 ? 'projections' : 'embeddings' });
    const { value, grads } = tf.valueAndGrads((f: tf.Tensor, p: tf.Tensor) =>
      bclLoss({ temperature: c.temperature, centres: p as tf.Tensor2D, features: x.rank === 3 ? 'projections' : 'embeddings' }).compute({
        [x.rank === 3 ? 'projections' : 'embeddings']: f,
        labels,
      } as never),
    )([x, centres]);
    expectClose(value, c.loss, { ...TOL, name: 'loss' });
    expectClose(grads[0], c.gradFeatures, { ...TOL, name: 'grad features' });
    expectClose(grads[1], c.gradCentres, { ...TOL, name: 'grad centres' });
    const direct = loss.compute({ [x.rank === 3 ? 'projections' : 'embeddings']: x, labels } as never);
    expectClose(direct, c.loss, { ...TOL, name: 'loss object' });
    tf.dispose([value, ...grads, direct]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, centres, labels]);
  });

  it.each(golden.paco.map((c) => [c.name, c] as const))('PaCoLoss %s: values, loss, gradients w.r.t. features and logits', (_n, c) => {
    const x = tf.tensor(c.features) as tf.Tensor2D | tf.Tensor3D;
    const logits = tf.tensor2d(c.logits);
    const labels = tf.tensor1d(c.labels, 'int32');
    const field = x.rank === 3 ? 'projections' : 'embeddings';
    const opts = {
      alpha: c.alpha,
      beta: c.beta,
      gamma: c.gamma,
      temperature: c.temperature,
      baseTemperature: c.baseTemperature,
      logitTemperature: c.logitTemperature,
      labelSmoothing: c.labelSmoothing,
    };
    const before = tf.memory().numTensors;
    const values = parametricContrastive(x, { labels, logits, ...opts, ...(c.classCounts ? { classCounts: c.classCounts } : {}) });
    expectClose(values, c.values, { ...TOL, name: 'values' });
    values.dispose();
    const loss = pacoLoss({ ...opts, features: field, ...(c.classCounts ? { logitAdjusted: true, classCounts: c.classCounts } : {}) });
    const { value, grads } = tf.valueAndGrads((f: tf.Tensor, z: tf.Tensor) => loss.compute({ [field]: f, logits: z, labels } as never))([x, logits]);
    expectClose(value, c.loss, { ...TOL, name: 'loss' });
    expectClose(grads[0], c.gradFeatures, { ...TOL, name: 'grad features' });
    expectClose(grads[1], c.gradLogits, { ...TOL, name: 'grad logits' });
    tf.dispose([value, ...grads]);
    if (c.classCounts) {
      // Counts from the context give the same value.
      const fromCtx = pacoLoss({ ...opts, features: field, logitAdjusted: true }).compute({ [field]: x, logits, labels, ctx: { classCounts: c.classCounts } } as never);
      expectClose(fromCtx, c.loss, { ...TOL, name: 'ctx counts' });
      fromCtx.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, logits, labels]);
  });

  it('BCL matches a naive float64 loop of the paper’s formula (random batches, 1–3 views, classes absent and singleton)', () => {
    const rng = seededRng(3);
    for (const [n, views, classes, t] of [[8, 2, 5, 0.1], [5, 1, 4, 0.3], [6, 3, 6, 0.07]] as const) {
      const x = Array.from({ length: n }, () => randomMatrix(rng, views, 6));
      const cs = randomMatrix(rng, classes, 6);
      const y = randomLabels(rng, n, classes - 1);
      const expected = naiveBcl(x, cs, y, t);
      const xt = tf.tensor3d(x);
      const ct = tf.tensor2d(cs);
      const yt = tf.tensor1d(y, 'int32');
      const { values, weights } = balancedContrastive(xt, { labels: yt, centres: ct, temperature: t });
      expectClose(values, expected, { rtol: 1e-4, atol: 1e-5, name: `n${n} v${views}` });
      tf.dispose([xt, ct, yt, values, weights]);
    }
  });

  it('PaCo matches a naive float64 loop (one and two views, plain and logit-adjusted, smoothing, α/β/γ)', () => {
    const rng = seededRng(4);
    for (const [n, views, classes, o] of [
      [6, 2, 4, { alpha: 0.05, beta: 1, gamma: 1, t: 0.2, tb: 0.2, supt: 1, eps: 0 }],
      [7, 1, 5, { alpha: 1, beta: 0.5, gamma: 0.3, t: 0.1, tb: 0.07, supt: 2, eps: 0.2, counts: [30, 10, 4, 2, 1] }],
      [5, 3, 3, { alpha: 0.5, beta: 2, gamma: 0, t: 0.5, tb: 0.5, supt: 1, eps: 0, counts: [5, 5, 1] }],
    ] as const) {
      const x = Array.from({ length: n }, () => randomMatrix(rng, views, 4));
      const z = randomMatrix(rng, n, classes, 2);
      const y = randomLabels(rng, n, classes);
      const expected = naivePaco(x, z, y, o as never);
      const xt = tf.tensor3d(x);
      const zt = tf.tensor2d(z);
      const yt = tf.tensor1d(y, 'int32');
      const v = parametricContrastive(xt, {
        labels: yt,
        logits: zt,
        alpha: o.alpha,
        beta: o.beta,
        gamma: o.gamma,
        temperature: o.t,
        baseTemperature: o.tb,
        logitTemperature: o.supt,
        labelSmoothing: o.eps,
        ...('counts' in o ? { classCounts: o.counts } : {}),
      });
      expectClose(v, expected, { rtol: 1e-4, atol: 1e-5, name: `n${n} v${views}` });
      tf.dispose([xt, zt, yt, v]);
    }
  });

  it('BCL without class-averaging and centres is SupCon (T_base = T): value and gradient', () => {
    const rng = seededRng(5);
    const x = tf.tensor3d(Array.from({ length: 8 }, () => randomMatrix(rng, 2, 5)));
    const y = tf.tensor1d([0, 1, 0, 2, 1, 3, 3, 0], 'int32');
    const bcl = tf.valueAndGrad((f: tf.Tensor) => bclLoss({ temperature: 0.2, classAveraging: false }).compute({ projections: f as tf.Tensor3D, labels: y }))(x);
    const sup = tf.valueAndGrad((f: tf.Tensor) => supConLoss({ temperature: 0.2 }).compute({ projections: f as tf.Tensor3D, labels: y }))(x);
    expectClose(bcl.value, sup.value.dataSync()[0], { rtol: 1e-5, atol: 1e-6 });
    expectClose(bcl.grad, Array.from(sup.grad.dataSync()), { rtol: 1e-4, atol: 1e-6 });
    // Class-averaging changes the value even with uniform class counts (the anchor's own class counts one entry fewer).
    const uniform = tf.tensor1d([0, 1, 2, 3, 0, 1, 2, 3], 'int32');
    const [a, b] = tf.tidy(() => [
      bclLoss({ temperature: 0.2 }).compute({ projections: x, labels: uniform }).dataSync()[0] as number,
      supConLoss({ temperature: 0.2 }).compute({ projections: x, labels: uniform }).dataSync()[0] as number,
    ]);
    expect(Math.abs(a - b)).toBeGreaterThan(1e-3);
    tf.dispose([x, y, uniform, bcl.value, bcl.grad, sup.value, sup.grad]);
  });

  it('BCL without class-averaging, with centres, is SupCon with the centres as a labelled contrast set', () => {
    const rng = seededRng(6);
    const x = tf.tensor3d(Array.from({ length: 6 }, () => randomMatrix(rng, 2, 5)));
    const centres = tf.tensor2d(randomMatrix(rng, 4, 5));
    const y = tf.tensor1d([0, 1, 0, 2, 1, 0], 'int32');
    const ids = tf.tensor1d([0, 1, 2, 3], 'int32');
    const bcl = balancedContrastive(x, { labels: y, centres, temperature: 0.1, classAveraging: false });
    const sup = supervisedContrastive(x, { labels: y, temperature: 0.1, contrast: { features: centres, labels: ids } });
    expectClose(bcl.values, Array.from(sup.values.dataSync()), { rtol: 1e-5, atol: 1e-5 });
    tf.dispose([x, centres, y, ids, bcl.values, bcl.weights, sup.values, sup.weights]);
  });

  it('PaCo with α = 0 and γ = 0 is (T/T_base)·the logit-adjusted cross-entropy of the centre logits', () => {
    const rng = seededRng(7);
    const counts = [40, 12, 3, 1];
    const x = tf.tensor3d(Array.from({ length: 6 }, () => randomMatrix(rng, 2, 5)));
    const z = tf.tensor2d(randomMatrix(rng, 6, 4, 2));
    const y = tf.tensor1d([0, 1, 0, 2, 3, 0], 'int32');
    const paco = tf.valueAndGrad((l: tf.Tensor) =>
      pacoLoss({ alpha: 0, gamma: 0, temperature: 0.2, baseTemperature: 0.1, logitAdjusted: true, classCounts: counts }).compute({ projections: x, logits: l as tf.Tensor2D, labels: y }),
    )(z);
    const la = tf.valueAndGrad((l: tf.Tensor) => tf.mul(logitAdjustedLoss({ classCounts: counts }).compute({ logits: l as tf.Tensor2D, labels: y }), 2) as tf.Scalar)(z);
    expectClose(paco.value, la.value.dataSync()[0], { rtol: 1e-5, atol: 1e-6 });
    expectClose(paco.grad, Array.from(la.grad.dataSync()), { rtol: 1e-4, atol: 1e-6 });
    tf.dispose([x, z, y, paco.value, paco.grad, la.value, la.grad]);
  });

  it('BCL with no centres gives anchors without a positive 0 (weight 0), and its mean follows noPositive', () => {
    const x = tf.tensor2d([[1, 0], [0.8, 0.6], [0, 1], [-1, 0.2]]);
    const y = tf.tensor1d([0, 0, 1, 2], 'int32');
    const { values, weights } = balancedContrastive(x, { labels: y });
    expect(Array.from(weights.dataSync())).toEqual([1, 1, 0, 0]);
    expect(Array.from(values.dataSync()).slice(2)).toEqual([0, 0]);
    const v = Array.from(values.dataSync());
    const [zero, excl] = tf.tidy(() => [
      bclLoss({ features: 'embeddings' }).compute({ embeddings: x, labels: y }).dataSync()[0] as number,
      bclLoss({ features: 'embeddings', noPositive: 'exclude' }).compute({ embeddings: x, labels: y }).dataSync()[0] as number,
    ]);
    expect(zero).toBeCloseTo((v[0]! + v[1]!) / 4, 5);
    expect(excl).toBeCloseTo((v[0]! + v[1]!) / 2, 5);
    tf.dispose([x, y, values, weights]);
  });
});

describe('BCL and PaCo: options, errors, memory, registry', () => {
  it('learnableCentres is a seeded trainable [C, d] variable; a centres provider is called at each evaluation', () => {
    const a = learnableCentres({ numClasses: 3, dim: 4, rng: seededRng(1) });
    const b = learnableCentres({ numClasses: 3, dim: 4, rng: seededRng(1) });
    expect(a.shape).toEqual([3, 4]);
    expect(a.trainable).toBe(true);
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    let calls = 0;
    const loss = bclLoss({ centres: () => (calls++, a) });
    const x = tf.tensor3d([[[1, 0, 0, 0], [0.9, 0.1, 0, 0]], [[0, 1, 0, 0], [0, 1, 0.2, 0]]]);
    const y = tf.tensor1d([0, 2], 'int32');
    const before = tf.memory().numTensors;
    // Gradients reach the variable through tf.variableGrads, as in the trainer.
    const { value, grads } = tf.variableGrads(() => loss.compute({ projections: x, labels: y }), [a]);
    expect(calls).toBe(1);
    expect(Math.max(...Array.from(grads[a.name]!.dataSync()).map(Math.abs))).toBeGreaterThan(0);
    tf.dispose([value, ...Object.values(grads)]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([a, b, x, y]);
  });

  it('bad input throws a LongTailError before any tensor is made, and nothing leaks', () => {
    const x = tf.tensor3d([[[1, 0], [0, 1]], [[0.5, 0.5], [1, 1]]]);
    const y = tf.tensor1d([0, 3], 'int32');
    const centres = tf.tensor2d([[1, 0], [0, 1], [1, 1]]);
    const z = tf.tensor2d([[1, 2, 3], [0, 1, 0]]);
    const before = tf.memory().numTensors;
    const cases: [() => unknown, string, RegExp][] = [
      [() => balancedContrastive(x, { labels: y, centres }), 'LABEL_OUT_OF_RANGE', /labels in \[0, 3\)/],
      [() => balancedContrastive(x, { labels: tf.tensor1d([0, 1], 'int32'), centres: tf.tensor2d([[1, 0, 0]]) }), 'LABEL_OUT_OF_RANGE', /labels/],
      [() => balancedContrastive(x, { labels: y, temprature: 0.1 } as never), 'UNKNOWN_OPTION', /temprature \(did you mean temperature\?\)/],
      [() => bclLoss({ temperature: 0 }), 'INVALID_OPTION', /temperature/],
      [() => bclLoss({ centres: [[1, 0]] as never }), 'INVALID_OPTION', /centres to be a \[C, d\] tensor/],
      [() => bclLoss({ centres }).compute({ projections: x, labels: y }), 'LABEL_OUT_OF_RANGE', /labels/],
      [() => bclLoss().compute({ projections: x }), 'MISSING_INPUT', /labels/],
      [() => pacoLoss({ alpha: -1 }), 'INVALID_OPTION', /alpha/],
      [() => pacoLoss({ beta: 0 }), 'INVALID_OPTION', /beta/],
      [() => pacoLoss({ classCounts: [1, 2, 3] }), 'INVALID_OPTION', /logitAdjusted: true/],
      [() => pacoLoss({ alhpa: 1 } as never), 'UNKNOWN_OPTION', /alhpa \(did you mean alpha\?\)/],
      [() => pacoLoss({ logitAdjusted: true }).compute({ projections: x, logits: z, labels: tf.tensor1d([0, 1], 'int32') }), 'MISSING_INPUT', /classCounts/],
      [() => pacoLoss().compute({ projections: x, logits: z, labels: y }), 'LABEL_OUT_OF_RANGE', /labels/],
      [() => pacoLoss().compute({ projections: x, logits: tf.tensor2d([[1, 2, 3]]), labels: tf.tensor1d([0, 1], 'int32') }), 'SHAPE_MISMATCH', /logits.shape\[0\]/],
      [() => pacoLoss({ logitAdjusted: true, classCounts: [1, 2] }).compute({ projections: x, logits: z, labels: tf.tensor1d([0, 1], 'int32') }), 'SHAPE_MISMATCH', /classCounts.length/],
      [() => learnableCentres({ numClasses: 0, dim: 2, rng: seededRng(0) }), 'INVALID_OPTION', /numClasses/],
      [() => learnableCentres({ numClasses: 2, dim: 2, rng: {} as never }), 'INVALID_OPTION', /rng to be an Rng/],
    ];
    for (const [f, code, message] of cases) {
      const inner = tf.memory().numTensors;
      let error: unknown;
      try {
        tf.tidy(() => void f());
      } catch (e) {
        error = e;
      }
      expect(error, String(message)).toMatchObject({ name: 'LongTailError', code });
      expect((error as Error).message).toMatch(message);
      expect(tf.memory().numTensors).toBe(inner);
    }
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, y, centres, z]);
  });

  it('configs round-trip through lossRegistry; a centres tensor or function is recorded but not rebuilt', () => {
    const paco = pacoLoss({ alpha: 0.01, temperature: 0.05, logitAdjusted: true, classCounts: [5, 2, 1], labelSmoothing: 0.1, features: 'embeddings' });
    const rebuilt = lossRegistry.fromConfig(toConfig(paco));
    expect(toConfig(rebuilt)).toEqual(toConfig(paco));
    expect(rebuilt.requires).toEqual(['logits', 'embeddings']);
    const bcl = bclLoss({ temperature: 0.07, classAveraging: false, noPositive: 'exclude' });
    expect(toConfig(lossRegistry.fromConfig(toConfig(bcl)))).toEqual(toConfig(bcl));
    const centres = tf.zeros([3, 2]) as tf.Tensor2D;
    expect(toConfig(bclLoss({ centres })).config['centres']).toBe('fixed');
    expect(toConfig(bclLoss({ centres: () => centres })).config['centres']).toBe('function');
    expect(() => lossRegistry.fromConfig(toConfig(bclLoss({ centres: () => centres })))).toThrow(/cannot be rebuilt from config/);
    expect(() => lossRegistry.fromConfig({ kind: 'paco', config: { alpah: 1 } })).toThrow(/alpah \(did you mean alpha\?\)/);
    centres.dispose();
  });
});
