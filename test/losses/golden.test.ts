import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/backends/index.js';
import { expectClose, backendsUnderTest } from '../../src/testing/index.js';
import {
  balancedSoftmaxLoss,
  classWeighted,
  crossEntropy,
  crossEntropyLoss,
  effectiveNumberWeights,
  focalCrossEntropy,
  focalLoss,
  ldamCrossEntropy,
  ldamLoss,
  ldamMargins,
  logitAdjustedCrossEntropy,
  logitAdjustedLoss,
  neighborSilencingCrossEntropy,
  neighborSilencingLoss,
  supConLoss,
  supervisedContrastive,
  balancedSoftmaxCrossEntropy,
  type Loss,
} from '../../src/losses/index.js';

interface Case {
  name: string;
  kind: string;
  logits: number[][];
  labels: number[];
  values: number[];
  loss: number;
  grad: number[][];
  options: Record<string, unknown>;
  targets?: number[][];
  reducer?: { beta: number; classCounts: number[] };
  margins?: number[];
}
interface SupConCase {
  name: string;
  features: number[][] | number[][][];
  labels: number[] | null;
  temperature: number;
  baseTemperature: number;
  values: number[];
  weights: number[];
  loss: number;
  grad: unknown;
  contrast?: number[][];
  contrastLabels?: number[] | null;
  contrastGrad?: number[][];
}
const golden = JSON.parse(readFileSync(new URL('../golden/losses.json', import.meta.url), 'utf8')) as {
  cases: Case[];
  supCon: SupConCase[];
  classBalanced: { counts: number[]; beta: number[]; weights: number[][] };
  ldamMargins: { counts: number[]; margins: number[] };
};
const TOL = { rtol: 1e-5, atol: 1e-5 };

function lossFor(c: Case): Loss<'logits'> {
  const reducer = c.reducer ? { reducer: classWeighted(c.reducer) } : {};
  const o = c.options as never;
  switch (c.kind) {
    case 'crossEntropy':
      return crossEntropyLoss({ ...(o as object), ...reducer });
    case 'logitAdjusted':
      return logitAdjustedLoss({ ...(o as object), ...reducer });
    case 'balancedSoftmax':
      return balancedSoftmaxLoss({ ...(o as object), ...reducer });
    case 'ldam':
      return ldamLoss({ ...(o as object), ...reducer });
    case 'focal':
      return focalLoss({ ...(o as object), ...reducer });
    case 'neighborSilencing':
      return neighborSilencingLoss({ ...(o as { mask: boolean[][] }), ...reducer });
    default:
      throw new Error(`unknown kind ${c.kind}`);
  }
}

function kernelFor(c: Case, logits: tf.Tensor2D, labels: tf.Tensor1D, targets: tf.Tensor2D | undefined): tf.Tensor1D {
  const o = { ...(c.options as object), ...(targets ? { targets } : {}) } as never;
  switch (c.kind) {
    case 'crossEntropy':
      return crossEntropy(logits, labels, o);
    case 'logitAdjusted':
      return logitAdjustedCrossEntropy(logits, labels, o);
    case 'balancedSoftmax':
      return balancedSoftmaxCrossEntropy(logits, labels, o);
    case 'ldam':
      return ldamCrossEntropy(logits, labels, o);
    case 'focal':
      return focalCrossEntropy(logits, labels, o);
    case 'neighborSilencing':
      return neighborSilencingCrossEntropy(logits, labels, o);
    default:
      throw new Error(`unknown kind ${c.kind}`);
  }
}

describe.each(backendsUnderTest())('golden values from PyTorch (%s)', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it('has every loss kind', () => {
    const kinds = new Set(golden.cases.map((c) => c.kind));
    expect([...kinds].sort()).toEqual(['balancedSoftmax', 'crossEntropy', 'focal', 'ldam', 'logitAdjusted', 'neighborSilencing']);
  });

  it.each(golden.cases.map((c) => [c.name, c] as const))('%s: per-sample values, loss and gradient', (_name, c) => {
    const logits = tf.tensor2d(c.logits);
    const labels = tf.tensor1d(c.labels, 'int32');
    const targets = c.targets ? tf.tensor2d(c.targets) : undefined;
    const loss = lossFor(c);
    const values = kernelFor(c, logits, labels, targets);
    expectClose(values, c.values, { ...TOL, name: `${c.name} values` });
    const inputs = (z: tf.Tensor2D) => ({ logits: z, labels, ...(targets ? { targets } : {}) });
    const { value, grad } = tf.valueAndGrad((z: tf.Tensor) => loss.compute(inputs(z as tf.Tensor2D)))(logits);
    expectClose(value, c.loss, { ...TOL, name: `${c.name} loss` });
    expectClose(grad, c.grad, { ...TOL, name: `${c.name} grad` });
    tf.dispose([logits, labels, targets, values, value, grad]);
  });

  it.each(golden.supCon.map((c) => [c.name, c] as const))('supCon %s: per-anchor values, weights, loss and gradients', (_name, c) => {
    const features = tf.tensor(c.features) as tf.Tensor2D | tf.Tensor3D;
    const labels = c.labels ? tf.tensor1d(c.labels, 'int32') : undefined;
    const contrastFeatures = c.contrast ? tf.tensor2d(c.contrast) : undefined;
    const contrastLabels = c.contrastLabels ? tf.tensor1d(c.contrastLabels, 'int32') : undefined;
    const opts = (f: tf.Tensor, p?: tf.Tensor) => ({
      temperature: c.temperature,
      baseTemperature: c.baseTemperature,
      ...(labels ? { labels } : {}),
      ...(p ? { contrast: { features: p as tf.Tensor2D, ...(contrastLabels ? { labels: contrastLabels } : {}) } } : {}),
    });
    const out = supervisedContrastive(features, opts(features, contrastFeatures));
    expectClose(out.values, c.values, { ...TOL, name: 'values' });
    expectClose(out.weights, c.weights, { rtol: 0, atol: 0, name: 'weights' });
    const reduce = (f: tf.Tensor, p?: tf.Tensor) => {
      const o = supervisedContrastive(f as tf.Tensor3D, opts(f, p));
      return tf.div(tf.sum(tf.mul(o.values, o.weights)), tf.maximum(tf.sum(o.weights), 1)) as tf.Scalar;
    };
    const xs = contrastFeatures ? [features, contrastFeatures] : [features];
    const { value, grads } = tf.valueAndGrads((...a: tf.Tensor[]) => reduce(a[0] as tf.Tensor, a[1]))(xs);
    expectClose(value, c.loss, { ...TOL, name: 'loss' });
    expectClose(grads[0] as tf.Tensor, c.grad, { ...TOL, name: 'grad' });
    if (c.contrastGrad) expectClose(grads[1] as tf.Tensor, c.contrastGrad, { ...TOL, name: 'contrast grad' });
    if (!c.contrast) {
      // The loss object with noPositive: 'exclude' (mean over the anchors that have a positive) gives the
      // same value and gradient; its default 'zero' (SupContrast since 72fd989) is the mean over all anchors.
      const mode = labels ? 'supervised' : 'simclr';
      const loss = supConLoss({ temperature: c.temperature, baseTemperature: c.baseTemperature, mode, noPositive: 'exclude' });
      const r = tf.valueAndGrad((f: tf.Tensor) => loss.compute({ projections: f as tf.Tensor3D, ...(labels ? { labels } : {}) }))(features);
      expectClose(r.value, c.loss, { ...TOL, name: 'object loss' });
      expectClose(r.grad, c.grad, { ...TOL, name: 'object grad' });
      const all = tf.tidy(() => supConLoss({ temperature: c.temperature, baseTemperature: c.baseTemperature, mode }).compute({ projections: features as tf.Tensor3D, ...(labels ? { labels } : {}) }));
      expectClose(all, c.values.reduce((a, b) => a + b, 0) / c.values.length, { ...TOL, name: "object loss, noPositive 'zero'" });
      tf.dispose([r.value, r.grad, all]);
    }
    tf.dispose([features, labels, contrastFeatures, contrastLabels, out.values, out.weights, value, grads]);
  });

  it('effective-number weights and LDAM margins match', () => {
    const cb = golden.classBalanced;
    cb.beta.forEach((beta, i) => expectClose(effectiveNumberWeights(cb.counts, { beta }), cb.weights[i] as number[], { rtol: 1e-12, atol: 1e-12 }));
    expectClose(ldamMargins(golden.ldamMargins.counts, { maxMargin: 0.5 }), golden.ldamMargins.margins, { rtol: 1e-12, atol: 1e-12 });
  });
});
