/**
 * Golden values from PyTorch transcriptions of the official code (scripts/golden/losses_official.py):
 * −∞ logits in the cross-entropy family, SupContrast at tiny temperatures, SimCLR without labels, one view
 * with anchors that have no positive, LDAM-DRW's weighted focal loss, Gran_LT's smoothing under silencing,
 * soft-target cross-entropy without labels.
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/backends/index.js';
import { backendsUnderTest, expectClose } from '../../src/testing/index.js';
import {
  balancedSoftmaxLoss,
  classWeighted,
  crossEntropy,
  crossEntropyLoss,
  focalCrossEntropy,
  focalLoss,
  ldamLoss,
  logitAdjustedLoss,
  neighborSilencingLoss,
  sumLosses,
  supConLoss,
  supervisedContrastive,
  type Loss,
} from '../../src/losses/index.js';

type Num = number | 'Infinity' | '-Infinity';
interface GradCase {
  name: string;
  kind: string;
  options: Record<string, unknown>;
  logits: Num[][];
  labels: number[] | null;
  values: Num[];
  loss: Num;
  grad: number[][];
  reducerWeights?: number[];
  targets?: number[][];
}
interface FocalCase {
  name: string;
  gamma: number;
  logits: number[][];
  labels: number[];
  classCounts: number[];
  beta: number;
  weights: number[];
  values: number[];
  loss: number;
  grad: number[][];
  plainFocalLoss: number;
  classWeightedReducerLoss: number;
}
interface SupConCase {
  name: string;
  features: number[][] | number[][][];
  labels: number[] | null;
  temperature: number;
  baseTemperature: number;
  mode: 'supervised' | 'simclr';
  featureField: 'projections' | 'embeddings';
  loss: number;
  grad: number[][] | number[][][];
}
const golden = JSON.parse(readFileSync(new URL('../golden/losses_official.json', import.meta.url), 'utf8')) as {
  negInf: GradCase[];
  labelSmoothingNegInf: GradCase;
  softTargets: GradCase[];
  focalWeighted: FocalCase[];
  silencingSmoothing: GradCase[];
  supCon: SupConCase[];
};

const num = (v: Num): number => (v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : v);
const nums = (m: Num[][]): number[][] => m.map((r) => r.map(num));
const TOL = { rtol: 1e-5, atol: 1e-5 };

function lossFor(c: GradCase): Loss<'logits'> {
  const reducer = c.reducerWeights ? { reducer: classWeighted({ beta: 0.9999, classCounts: (c.options.classCounts as number[] | undefined) ?? [50, 10, 2] }) } : {};
  const o = { ...c.options, ...reducer } as never;
  switch (c.kind) {
    case 'crossEntropy':
      return crossEntropyLoss(o);
    case 'logitAdjusted':
      return logitAdjustedLoss(o);
    case 'balancedSoftmax':
      return balancedSoftmaxLoss(o);
    case 'ldam':
      return ldamLoss(o);
    case 'focal':
      return focalLoss(o);
    case 'neighborSilencing':
      return neighborSilencingLoss(o);
    default:
      throw new Error(`unknown kind ${c.kind}`);
  }
}

function check(c: GradCase, loss: Loss<'logits'> = lossFor(c)): void {
  const logits = tf.tensor2d(nums(c.logits));
  const labels = c.labels === null ? undefined : tf.tensor1d(c.labels, 'int32');
  const targets = c.targets ? tf.tensor2d(c.targets) : undefined;
  const before = tf.memory().numTensors;
  const { value, grad } = tf.valueAndGrad((z: tf.Tensor) =>
    loss.compute({ logits: z as tf.Tensor2D, ...(labels ? { labels } : {}), ...(targets ? { targets } : {}) }),
  )(logits);
  expectClose(value, num(c.loss), { ...TOL, name: `${c.name} loss` });
  expectClose(grad, c.grad, { ...TOL, name: `${c.name} grad` });
  expect(Array.from(grad.dataSync()).every(Number.isFinite)).toBe(true);
  tf.dispose([value, grad]);
  expect(tf.memory().numTensors).toBe(before);
  tf.dispose([logits, labels, targets]);
}

describe.each(backendsUnderTest())('official-code golden values (%s)', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it('cross-entropy of [[1, −∞, 0]], label 0, is PyTorch’s 0.3133 with a zero gradient on the −∞ entry', () => {
    const z = tf.tensor2d([[1, -Infinity, 0]]);
    const y = tf.tensor1d([0], 'int32');
    const { value, grad } = tf.valueAndGrad((x: tf.Tensor) => crossEntropyLoss().compute({ logits: x as tf.Tensor2D, labels: y }))(z);
    expect(value.dataSync()[0]).toBeCloseTo(0.31326, 4);
    expect(grad.dataSync()[1]).toBe(0);
    tf.dispose([z, y, value, grad]);
  });

  it.each(golden.negInf.map((c) => [c.name, c] as const))('%s: per-sample values, loss and gradient with −∞ logits', (_n, c) => {
    const logits = tf.tensor2d(nums(c.logits));
    const labels = tf.tensor1d(c.labels as number[], 'int32');
    const values = tf.tidy(() => {
      const terms = lossFor(c).terms({ logits, labels, ctx: {} });
      const t = Object.values(terms)[0];
      return t?.kind === 'perSample' ? tf.clone(t.values) : tf.scalar(NaN);
    });
    expectClose(values, c.values.map(num), { ...TOL, name: `${c.name} values` });
    tf.dispose([logits, labels, values]);
    check(c);
  });

  it('label smoothing with a −∞ logit is +∞ with PyTorch’s finite gradient (as F.cross_entropy(label_smoothing=0.1))', () => {
    check(golden.labelSmoothingNegInf);
  });

  it.each(golden.softTargets.map((c) => [c.name, c] as const))('%s: soft-target cross-entropy without labels', (_n, c) => {
    check(c);
    const logits = tf.tensor2d(nums(c.logits));
    const targets = tf.tensor2d(c.targets as number[][]);
    const v = crossEntropy(logits, undefined, { targets });
    expectClose(v, c.values.map(num), { ...TOL, name: 'kernel values' });
    tf.dispose([logits, targets, v]);
  });

  it.each(golden.silencingSmoothing.map((c) => [c.name, c] as const))('%s: Gran_LT smoothing before the silencing mask', (_n, c) => {
    check(c);
  });

  it.each(golden.focalWeighted.map((c) => [c.name, c] as const))('%s: LDAM-DRW FocalLoss(weight=w)', (_n, c) => {
    const explicit = focalLoss({ gamma: c.gamma, classWeights: c.weights });
    const effective = focalLoss({ gamma: c.gamma, classCounts: c.classCounts, classWeights: { beta: c.beta } });
    const base = { name: c.name, kind: 'focal', options: {}, logits: c.logits, labels: c.labels, values: c.values, loss: c.loss, grad: c.grad };
    check(base, explicit);
    check(base, effective);
    const logits = tf.tensor2d(c.logits);
    const labels = tf.tensor1d(c.labels, 'int32');
    const v = focalCrossEntropy(logits, labels, { gamma: c.gamma, classWeights: c.weights });
    expectClose(v, c.values, { ...TOL, name: 'kernel values' });
    // The DRW schedule: plain focal before startEpoch, LDAM-DRW's weighting from it on.
    const drw = focalLoss({ gamma: c.gamma, classCounts: c.classCounts, classWeights: { beta: c.beta, startEpoch: 3 } });
    const at = (epoch: number) => tf.tidy(() => drw.compute({ logits, labels, ctx: { epoch } }).dataSync()[0] as number);
    expect(at(2)).toBeCloseTo(c.plainFocalLoss, 5);
    expect(at(3)).toBeCloseTo(c.loss, 5);
    // The classWeighted reducer is a different formula (Σ w f / Σ w), kept as it is.
    const reduced = tf.tidy(() => focalLoss({ gamma: c.gamma, reducer: classWeighted({ beta: c.beta, classCounts: c.classCounts }) }).compute({ logits, labels }).dataSync()[0] as number);
    expect(reduced).toBeCloseTo(c.classWeightedReducerLoss, 5);
    expect(Math.abs(reduced - c.loss)).toBeGreaterThan(0.05);
    tf.dispose([logits, labels, v]);
  });

  it.each(golden.supCon.map((c) => [c.name, c] as const))('SupContrast %s', (_n, c) => {
    const x = tf.tensor(c.features) as tf.Tensor2D | tf.Tensor3D;
    const labels = c.labels === null ? undefined : tf.tensor1d(c.labels, 'int32');
    const loss = supConLoss({ temperature: c.temperature, baseTemperature: c.baseTemperature, mode: c.mode, features: c.featureField });
    // At T = 1e-4 similarities are scaled by 1e4, so float32's 6e-8 resolution of a cosine becomes ~1e-3 of
    // the largest gradient entry: the tolerance scales with it (the float64 reference has no such error).
    const largest = Math.max(...(c.grad.flat(2) as number[]).map(Math.abs));
    const tol = c.temperature < 0.01 ? { rtol: 1e-3, atol: 1e-3 * largest } : TOL;
    const before = tf.memory().numTensors;
    const { value, grad } = tf.valueAndGrad((f: tf.Tensor) =>
      loss.compute({ [c.featureField]: f, ...(labels ? { labels } : {}) } as never),
    )(x);
    expectClose(value, c.loss, { ...tol, name: 'loss' });
    expectClose(grad, c.grad, { ...tol, name: 'grad' });
    tf.dispose([value, grad]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, labels]);
  });
});

describe.each(backendsUnderTest())('contrastive options (%s)', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it('self-exclusion is exact at any temperature (an additive −1e9 would leave the self term at T = 1e-10)', () => {
    // Anchor 0's positive is orthogonal (s = 0) and its negative opposite (s = −1): with self excluded,
    // ℓ_0 = log(1 + e^{−1/T}) = 0 at T = 1e-10; a self logit of 1/T − 1e9 = 9e9 would dominate instead.
    const x = tf.tensor2d([[1, 0], [0, 1], [-1, 0]]);
    const labels = tf.tensor1d([0, 0, 1], 'int32');
    for (const temperature of [1e-10, 1e-4]) {
      const out = supervisedContrastive(x, { labels, temperature, baseTemperature: temperature });
      const v = Array.from(out.values.dataSync());
      expect(v.every(Number.isFinite)).toBe(true);
      expect(Math.abs(v[0] as number)).toBeLessThan(1e-6);
      tf.dispose([out.values, out.weights]);
    }
    tf.dispose([x, labels]);
  });

  it('baseTemperature defaults to the temperature (scale 1, as PML); the SupContrast pair is one option away', () => {
    const c = golden.supCon.find((s) => s.name === 'two-view/T0.1-scale1') as SupConCase;
    const d = golden.supCon.find((s) => s.name === 'two-view/T0.1-base0.07') as SupConCase;
    const x = tf.tensor3d(c.features as number[][][]);
    const labels = tf.tensor1d(c.labels as number[], 'int32');
    const value = (l: Loss<'projections'>) => tf.tidy(() => l.compute({ projections: x, labels }).dataSync()[0] as number);
    expect(value(supConLoss({ temperature: 0.1 }))).toBeCloseTo(c.loss, 4);
    expect(value(supConLoss({ temperature: 0.1, baseTemperature: 0.07 }))).toBeCloseTo(d.loss, 4);
    tf.dispose([x, labels]);
  });

  it("noPositive: 'zero' (default) averages over every anchor; 'exclude' leaves out those without a positive", () => {
    const c = golden.supCon.find((s) => s.name === 'one-view/no-positive-zero') as SupConCase;
    const x = tf.tensor2d(c.features as number[][]);
    const labels = tf.tensor1d(c.labels as number[], 'int32');
    const zero = tf.tidy(() => supConLoss({ temperature: 0.1, features: 'embeddings' }).compute({ embeddings: x, labels }).dataSync()[0] as number);
    const exclude = tf.tidy(() => supConLoss({ temperature: 0.1, features: 'embeddings', noPositive: 'exclude' }).compute({ embeddings: x, labels }).dataSync()[0] as number);
    expect(zero).toBeCloseTo(c.loss, 4);
    // Labels [0, 1, 1, 2, 3, 0]: anchors 3 and 4 have no positive, so the excluded mean is 6/4 of the other.
    expect(exclude).toBeCloseTo((zero * 6) / 4, 4);
    tf.dispose([x, labels]);
  });

  it("features: 'embeddings' makes requires ['embeddings'], so CE + SupCon runs on a plain classifier's outputs", () => {
    const sup = supConLoss({ features: 'embeddings', temperature: 0.1 });
    expect(sup.requires).toEqual(['embeddings']);
    const total = sumLosses([{ loss: crossEntropyLoss() }, { loss: sup, weight: 0.5 }]);
    expect([...total.requires].sort()).toEqual(['embeddings', 'logits']);
    const logits = tf.tensor2d([[1, 0], [0, 1], [0.5, 0.5]]);
    const embeddings = tf.tensor2d([[1, 0, 0], [0, 1, 0], [1, 0.1, 0]]);
    const labels = tf.tensor1d([0, 1, 0], 'int32');
    const v = tf.tidy(() => total.compute({ logits, embeddings, labels }).dataSync()[0] as number);
    const ce = tf.tidy(() => crossEntropyLoss().compute({ logits, labels }).dataSync()[0] as number);
    const sc = tf.tidy(() => sup.compute({ embeddings, labels }).dataSync()[0] as number);
    expect(v).toBeCloseTo(ce + 0.5 * sc, 5);
    tf.dispose([logits, embeddings, labels]);
  });

  it('errors: missing features or labels are MISSING_INPUT before any tensor is made', () => {
    const before = tf.memory().numTensors;
    const p = tf.tensor2d([[1, 0], [0, 1]]);
    const n = tf.memory().numTensors;
    expect(() => supConLoss().compute({ projections: p } as never)).toThrow(/MISSING_INPUT|expected labels/);
    expect(() => supConLoss({ features: 'embeddings' }).compute({ projections: p, labels: undefined } as never)).toThrow(/expected embeddings/);
    expect(() => crossEntropyLoss().compute({ logits: p } as never)).toThrow(/expected labels \(int32 \[N\]\) or soft targets/);
    expect(() => focalLoss().compute({ logits: p } as never)).toThrow(/expected labels \(int32 \[N\]\) for focalLoss/);
    expect(() => supConLoss({ features: 'logits' as never })).toThrow(/expected features to be one of "projections", "embeddings"/);
    expect(() => supConLoss({ noPositive: 'skip' as never })).toThrow(/expected noPositive to be one of "zero", "exclude"/);
    expect(() => focalLoss({ classWeights: [1, -1] })).toThrow(/classWeights\[1\]/);
    expect(tf.memory().numTensors).toBe(n);
    p.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
