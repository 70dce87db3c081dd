import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import golden from '../golden/ltls.json';
import { useBackend } from '../../src/backends/index.js';
import { LongTailError } from '../../src/core/errors.js';
import { seededRng } from '../../src/core/rng.js';
import type { LabeledData } from '../../src/data/index.js';
import { crossEntropyLoss } from '../../src/losses/index.js';
import type { EvaluationReport } from '../../src/metrics/report.js';
import { classifier, linearHead, mlpBackbone, type Classifier } from '../../src/models/index.js';
import { extractFeatures } from '../../src/recipes/features.js';
import { ltls, type LtlsOptions } from '../../src/recipes/ltls.js';
import { backendsUnderTest, expectClose, expectNoLeak } from '../../src/testing/index.js';
import { trainer } from '../../src/train/trainer.js';
import { expectError } from '../helpers/errors.js';
import { standardizedSubset } from '../helpers/fmnist.js';

// ---------------------------------------------------------------------------------------------------
// Maths: moments of the frozen features (vs scikit-learn and a naive loop), top-up counts, the
// no-synthesis equivalence with a plain CE head, and extractFeatures vs a naive MLP loop.
// ---------------------------------------------------------------------------------------------------

const D = golden.D;
const C = golden.counts.length;

/** Naive per-class mean of the golden features. */
function naiveMean(c: number): number[] {
  const sum = new Array<number>(D).fill(0);
  let n = 0;
  golden.labels.forEach((y, i) => {
    if (y !== c) return;
    n++;
    (golden.features[i] as number[]).forEach((v, d) => (sum[d] = (sum[d] as number) + v));
  });
  return sum.map((s) => s / n);
}

function poolCounts(pool: { labels: Int32Array } | null): number[] {
  const counts = new Array<number>(C).fill(0);
  for (const y of pool?.labels ?? []) counts[y] = (counts[y] as number) + 1;
  return counts;
}

describe.each(backendsUnderTest())('ltls maths (%s)', (backend) => {
  let features: LabeledData;
  beforeAll(async () => {
    await useBackend(backend);
    features = { x: tf.tensor2d(golden.features), y: Int32Array.from(golden.labels) };
  });

  const small = (extra: Partial<LtlsOptions> = {}): LtlsOptions => ({ seed: 3, numClasses: C, featureDim: D, epochs: 1, batchSize: 16, progress: 'none', ...extra });

  it('fits the class Gaussians of the frozen features (Ledoit–Wolf by default) and tops every class up to n_max', async () => {
    const run = ltls(small());
    expect(run.synthesized).toBeNull();
    await run.fit(features);
    for (let c = 0; c < C; c++) {
      const g = run.synthesizer.distribution(c);
      const want = golden.classes[c] as (typeof golden.classes)[number];
      expectClose(Array.from(g.mean), want.mean, { rtol: 1e-5, atol: 1e-6, name: `mean ${c} vs NumPy` });
      expectClose(Array.from(g.mean), naiveMean(c), { rtol: 1e-5, atol: 1e-6, name: `mean ${c} vs naive` });
      expectClose(Array.from(g.covariance), want.ledoitWolf, { rtol: 1e-4, atol: 1e-6, name: `Ledoit–Wolf covariance ${c} vs scikit-learn` });
      expectClose(g.shrinkage, want.ledoitWolfShrinkage, { rtol: 1e-4, atol: 1e-6 });
    }
    expect(Array.from(run.synthesized ?? [])).toEqual(golden.topUpToMax);
    const state = run.trainer.state();
    expect(poolCounts(state.pool)).toEqual(golden.topUpToMax);
    expect(state.pool?.shape).toEqual([golden.topUpToMax.reduce((a, b) => a + b, 0), D]);
    run.dispose();
  });

  it('exposes every covariance option and top-up policy', async () => {
    const shrunk = ltls(small({ gaussian: { covariance: 'shrinkage', shrinkage: 0.2 } }));
    await shrunk.fit(features);
    for (let c = 0; c < C; c++) {
      expectClose(Array.from(shrunk.synthesizer.distribution(c).covariance), (golden.classes[c] as (typeof golden.classes)[number]).shrunk02, { rtol: 1e-4, atol: 1e-6 });
    }
    expect(shrunk.config['gaussian']).toMatchObject({ covariance: 'shrinkage', shrinkage: 0.2 });
    shrunk.dispose();
    const full = ltls(small({ gaussian: { covariance: 'full' }, topUp: { kind: 'ratio', ratio: 0.4 } }));
    await full.fit(features);
    expectClose(Array.from(full.synthesizer.distribution(0).covariance), golden.classes[0]?.full as number[], { rtol: 1e-4, atol: 1e-6 });
    expect(Array.from(full.synthesized ?? [])).toEqual(golden.topUpRatio04);
    expect(poolCounts(full.trainer.state().pool)).toEqual(golden.topUpRatio04);
    full.dispose();
  });

  it('with nothing to synthesize it is exactly the plain cross-entropy linear head', async () => {
    const run = ltls(small({ epochs: 3, batchSize: 8, topUp: { kind: 'ratio', ratio: 0 } }));
    await run.fit(features);
    const head = classifier({ head: linearHead({ inputDim: D, numClasses: C, rng: seededRng(3).fork('ltls:head') }) });
    const ce = trainer({ model: head, loss: crossEntropyLoss(), seed: 3, epochs: 3, batchSize: 8, optimizer: { kind: 'adam', learningRate: 1e-3, weightDecay: 5e-4 }, progress: 'none' });
    await ce.fit(features);
    const a = run.logits(features.x);
    const b = ce.logits(features.x);
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    [a, b].forEach((t) => t.dispose());
    ce.dispose();
    head.dispose();
    run.dispose();
  });

  it('extractFeatures equals a naive loop over the MLP weights, for a Backbone, a Model and a function', async () => {
    const rng = seededRng(11);
    const backbone = mlpBackbone({ inputDim: 6, hiddenSizes: [5], rng });
    const model = classifier({ backbone, head: linearHead({ inputDim: 5, numClasses: 2, rng }) });
    const values = Array.from({ length: 7 }, (_, i) => Array.from({ length: 6 }, (_, j) => Math.sin(i * 6 + j) * 2));
    const x = tf.tensor2d(values);
    const [kernel, bias] = backbone.variables.map((v) => Array.from(v.dataSync()));
    const naive = values.map((row) =>
      Array.from({ length: 5 }, (_, k) => Math.max(0, row.reduce((s, v, d) => s + v * ((kernel as number[])[d * 5 + k] as number), (bias as number[])[k] as number))),
    );
    await expectNoLeak(() => {
      for (const batchSize of [1, 3, 512]) {
        const f = extractFeatures(backbone, x, { batchSize });
        expect(f.shape).toEqual([7, 5]);
        expectClose(f, naive, { rtol: 1e-5, atol: 1e-6, name: `batchSize ${batchSize}` });
        f.dispose();
      }
      const viaModel = extractFeatures(model, x, { batchSize: 2 });
      expectClose(viaModel, naive, { rtol: 1e-5, atol: 1e-6 });
      viaModel.dispose();
      const viaFn = extractFeatures((xb) => tf.mul(backbone.apply(xb, 'eval'), 2) as tf.Tensor2D, x, { batchSize: 4 });
      expectClose(viaFn, naive.map((r) => r.map((v) => 2 * v)), { rtol: 1e-5, atol: 1e-6 });
      viaFn.dispose();
    });
    x.dispose();
    model.dispose();
  });
});

// ---------------------------------------------------------------------------------------------------
// The recipe on the shipped long-tailed Fashion-MNIST subset: an MLP encoder trained briefly with CE and
// frozen; then the ltls head vs a plain CE linear head on the same frozen features.
// ---------------------------------------------------------------------------------------------------

const SEEDS = [0, 1, 2];
const ENCODER_EPOCHS = 6;
const HEAD_EPOCHS = 10;
const BATCH = 128;
const OPTIMIZER = { kind: 'adam', learningRate: 1e-3, weightDecay: 5e-4 } as const;

describe('ltls on the Fashion-MNIST-LT subset (wasm)', () => {
  let train: LabeledData;
  let test: LabeledData;
  const encoders = new Map<number, Classifier>();

  beforeAll(async () => {
    await useBackend('wasm');
    ({ train, test } = await standardizedSubset());
  });

  /** An MLP 784-64 trained briefly with cross-entropy: the frozen encoder. */
  async function encoder(seed: number): Promise<Classifier> {
    const cached = encoders.get(seed);
    if (cached !== undefined) return cached;
    const rng = seededRng(seed).fork('encoder');
    const model = classifier({
      backbone: mlpBackbone({ inputDim: 784, hiddenSizes: [64], rng: rng.fork('backbone') }),
      head: linearHead({ inputDim: 64, numClasses: 10, rng: rng.fork('head') }),
    });
    const loop = trainer({ model, loss: crossEntropyLoss(), seed, epochs: ENCODER_EPOCHS, batchSize: BATCH, optimizer: OPTIMIZER, progress: 'none' });
    await loop.fit(train);
    loop.dispose();
    encoders.set(seed, model);
    return model;
  }

  it('beats a step-matched cross-entropy linear head on the same frozen features for each of 3 seeds, and frees everything', async () => {
    const gains: number[] = [];
    const lines: string[] = [];
    for (const seed of SEEDS) {
      const enc = await encoder(seed);
      const fTrain: LabeledData = { x: extractFeatures(enc, train.x), y: train.y };
      const fTest: LabeledData = { x: extractFeatures(enc, test.x), y: test.y };
      let ours = 0;
      let synthetic = 0;
      await expectNoLeak(async () => {
        const run = ltls({ seed, numClasses: 10, featureDim: 64, epochs: HEAD_EPOCHS, batchSize: BATCH, optimizer: OPTIMIZER, progress: 'none' });
        await run.fit(fTrain);
        ours = run.evaluate(fTest).balancedAccuracy;
        // Every class topped up to n_max = 600.
        expect(Array.from(run.synthesized ?? [])).toEqual([0, 241, 385, 471, 523, 554, 573, 584, 590, 594]);
        synthetic = Array.from(run.synthesized ?? []).reduce((a, b) => a + b, 0);
        run.dispose();
        run.dispose(); // idempotent
        expect(() => run.evaluate(fTest)).toThrow(/after dispose/);
      });
      // Plain CE: the same linear head (same initial weights), batch size and optimizer, real features only,
      // and as many optimizer steps: an ltls epoch also runs over the 4,515 synthetic features.
      const steps = HEAD_EPOCHS * Math.ceil((train.y.length + synthetic) / BATCH);
      const ceEpochs = Math.ceil(steps / Math.ceil(train.y.length / BATCH));
      const head = classifier({ head: linearHead({ inputDim: 64, numClasses: 10, rng: seededRng(seed).fork('ltls:head') }) });
      const ce = trainer({ model: head, loss: crossEntropyLoss(), seed, epochs: ceEpochs, batchSize: BATCH, optimizer: OPTIMIZER, progress: 'none' });
      await ce.fit(fTrain);
      const base = ce.evaluate(fTest).balancedAccuracy;
      ce.dispose();
      head.dispose();
      fTrain.x.dispose();
      fTest.x.dispose();
      gains.push(ours - base);
      lines.push(`seed ${seed}: CE head (${ceEpochs} epochs) ${base.toFixed(3)} ltls (${HEAD_EPOCHS} epochs) ${ours.toFixed(3)}`);
      expect(ours, `seed ${seed}: ltls ${ours} vs CE head ${base}`).toBeGreaterThan(base);
    }
    console.log(lines.join('\n'));
    // A mean gain above 3 points: the top-up, not noise (the test prints each seed's scores above).
    expect(gains.reduce((a, b) => a + b, 0) / gains.length).toBeGreaterThan(0.03);
  }, 120_000);

  it('with an encoder, fit/evaluate take images and give the same report as on extracted features; same seed, same report', async () => {
    const enc = await encoder(0);
    const opts = { seed: 7, numClasses: 10, epochs: 3, batchSize: BATCH, progress: 'none' } as const;
    let reports: EvaluationReport[] = [];
    await expectNoLeak(async () => {
      reports = [];
      for (let i = 0; i < 2; i++) {
        const run = ltls({ ...opts, encoder: enc });
        expect(run.config['featureDim']).toBe(64);
        await run.fit(train);
        reports.push(run.evaluate(test));
        run.dispose();
      }
    });
    const fTrain: LabeledData = { x: extractFeatures(enc, train.x), y: train.y };
    const fTest: LabeledData = { x: extractFeatures(enc, test.x), y: test.y };
    const onFeatures = ltls({ ...opts, featureDim: 64 });
    await onFeatures.fit(fTrain);
    const r = onFeatures.evaluate(fTest);
    onFeatures.dispose();
    const other = ltls({ ...opts, seed: 8, featureDim: 64 });
    await other.fit(fTrain);
    const r8 = other.evaluate(fTest);
    other.dispose();
    fTrain.x.dispose();
    fTest.x.dispose();
    const [a, b] = reports as [EvaluationReport, EvaluationReport];
    expect(b.perClass).toEqual(a.perClass);
    expect(b.ece).toBe(a.ece);
    expect(r.perClass).toEqual(a.perClass);
    expect(r.ece).toBe(a.ece);
    expect(r8.ece).not.toBe(a.ece);
  }, 60_000);

  it('frees the cached encoders', () => {
    for (const m of encoders.values()) m.dispose();
    encoders.clear();
    train.x.dispose();
    test.x.dispose();
  });
});

// ---------------------------------------------------------------------------------------------------
// Bad input: LongTailError with a stable code and a pinned message, before any tensor is made.
// ---------------------------------------------------------------------------------------------------

describe('ltls bad input', () => {
  const base = { seed: 0, numClasses: 3, featureDim: 4, progress: 'none' } as const;

  it('options', () => {
    expectError(() => ltls({ ...base, seed: 0.5 }), 'INVALID_OPTION', 'expected seed to be an integer. Received: seed=0.5');
    expectError(() => ltls({ seed: 0, numClasses: 3 }), 'MISSING_INPUT', 'expected featureDim (or an encoder that declares its width). Received: featureDim=undefined');
    expectError(() => ltls({ ...base, featureDim: 0 }), 'INVALID_OPTION', 'expected featureDim >= 1. Received: featureDim=0');
    expectError(
      () => ltls({ ...base, gaussian: { covariance: 'wishart' as 'full' } }),
      'INVALID_OPTION',
      'expected covariance to be one of "full", "diagonal", "shrinkage", "ledoitWolf", "pooled", "calibrated". Received: covariance="wishart"',
    );
    expectError(() => ltls({ ...base, gaussian: { shrinkage: 2 } }), 'INVALID_OPTION', 'expected shrinkage in [0, 1]. Received: shrinkage=2');
    expectError(() => ltls({ ...base, topUp: { kind: 'ratio', ratio: -1 } }), 'INVALID_OPTION', 'expected ratio >= 0. Received: ratio=-1');
    expectError(() => ltls({ ...base, epochs: 0 }), 'INVALID_OPTION', 'expected epochs >= 1. Received: epochs=0');
    expectError(() => ltls({ ...base, progress: 'bars' as 'bar' }), 'INVALID_OPTION', 'expected progress to be one of "auto", "bar", "epoch", "none". Received: progress="bars"');
    const backbone = mlpBackbone({ inputDim: 6, hiddenSizes: [5], rng: seededRng(0) });
    expectError(() => ltls({ ...base, encoder: backbone }), 'SHAPE_MISMATCH', 'expected featureDim = encoder width = 5. Received: featureDim=4');
    backbone.dispose();
    expectError(() => ltls({ ...base, encoder: 42 as unknown as () => tf.Tensor2D }), 'INVALID_OPTION', 'expected encoder to be a Model, a Backbone or a function x → features. Received: encoder="number"');
  });

  it('data and use after dispose', async () => {
    const run = ltls(base);
    const wide: LabeledData = { x: tf.zeros([2, 5]), y: Int32Array.from([0, 1]) };
    await expect(run.fit(wide)).rejects.toThrow('expected train.x of shape [N, 4]. Received: train.x.shape=[2, 5]');
    const labels: LabeledData = { x: tf.zeros([2, 4]), y: Int32Array.from([0, 3]) };
    await expect(run.fit(labels)).rejects.toMatchObject({ code: 'LABEL_OUT_OF_RANGE', message: 'expected train.y in [0, 3). Received: train.y[1]=3' });
    run.dispose();
    expect(() => run.evaluate(labels)).toThrow(LongTailError);
    expect(() => run.evaluate(labels)).toThrow('expected a live ltls run. Received: a ltls run after dispose()');
    wide.x.dispose();
    labels.x.dispose();
  });

  it('extractFeatures', () => {
    const x = tf.zeros([3, 2]);
    expectError(() => extractFeatures((xb) => xb as tf.Tensor2D, x, { batchSize: 0 }), 'INVALID_OPTION', 'expected batchSize >= 1. Received: batchSize=0');
    expect(() => extractFeatures((xb) => tf.reshape(xb, [-1]) as unknown as tf.Tensor2D, x)).toThrow('expected encoded features of shape [3, d]. Received: shape=[6]');
    x.dispose();
    expectError(() => extractFeatures((xb) => xb as tf.Tensor2D, x), 'DISPOSED', 'expected a live tensor x. Received: a disposed tensor');
  });
});
