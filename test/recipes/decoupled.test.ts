import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import golden from '../golden/decoupled.json';
import { useBackend } from '../../src/backends/index.js';
import { seededRng } from '../../src/core/rng.js';
import { fromArrays, type LabeledData } from '../../src/data/index.js';
import { crossEntropyLoss } from '../../src/losses/index.js';
import type { EvaluationReport } from '../../src/metrics/report.js';
import { cnnBackbone, classifier, linearHead, mlpBackbone, tauNormalize } from '../../src/models/index.js';
import { DEFAULT_TAU_GRID, decoupled, type DecoupledMethod, type DecoupledOptions, type DecoupledRun } from '../../src/recipes/decoupled.js';
import { backendsUnderTest, expectClose, expectNoLeak } from '../../src/testing/index.js';
import { trainer } from '../../src/train/trainer.js';
import { expectError } from '../helpers/errors.js';
import { plainCrossEntropy, standardizedSubsetArrays } from '../helpers/fmnist.js';

// ---------------------------------------------------------------------------------------------------
// Maths: τ-normalization and the τ search (vs PyTorch pnorm + scikit-learn balanced accuracy and a naive
// loop), LWS steps (vs torch autograd and a naive loop), cRT's frozen backbone and re-initialised head.
// ---------------------------------------------------------------------------------------------------

const D = golden.D;
const C = golden.C;

/** Naive τ-norm: column j of W [D, C] divided by its L2 norm to the power τ. */
function naiveTauNorm(w: number[][], tau: number): number[][] {
  const norms = Array.from({ length: C }, (_, j) => Math.sqrt(w.reduce((s, row) => s + (row[j] as number) ** 2, 0)));
  return w.map((row) => row.map((v, j) => v / Math.pow(norms[j] as number, tau)));
}

/** Naive mean cross-entropy of s ⊙ (xW + b) and its gradient with respect to s. */
function naiveLws(x: number[][], y: number[], w: number[][], b: number[], s: number[]): { loss: number; grad: number[] } {
  let loss = 0;
  const grad = new Array<number>(C).fill(0);
  x.forEach((row, i) => {
    const raw = Array.from({ length: C }, (_, j) => row.reduce((acc, v, d) => acc + v * ((w[d] as number[])[j] as number), b[j] as number));
    const z = raw.map((r, j) => r * (s[j] as number));
    const m = Math.max(...z);
    const e = z.map((v) => Math.exp(v - m));
    const sum = e.reduce((a, v) => a + v, 0);
    loss += m + Math.log(sum) - (z[y[i] as number] as number);
    raw.forEach((r, j) => (grad[j] = (grad[j] as number) + (((e[j] as number) / sum - (j === y[i] ? 1 : 0)) * r) / x.length));
  });
  return { loss: loss / x.length, grad };
}

describe.each(backendsUnderTest())('decoupled maths (%s)', (backend) => {
  let data: LabeledData;
  beforeAll(async () => {
    await useBackend(backend);
    data = { x: tf.tensor2d(golden.features), y: Int32Array.from(golden.labels) };
  });

  /** A linear model (identity backbone) holding the golden head after a stage 1 that cannot move it. */
  const linear = (extra: Partial<DecoupledOptions>): DecoupledRun => {
    const run = decoupled({ seed: 0, numClasses: C, inputDim: D, hiddenSizes: [], epochs: 1, batchSize: 64, optimizer: { kind: 'sgd', learningRate: 1e-12 }, progress: 'none', ...extra });
    tf.tidy(() => {
      run.model.linearHead.kernel.assign(tf.tensor2d(golden.kernel));
      run.model.linearHead.bias?.assign(tf.tensor1d(golden.bias));
    });
    return run;
  };

  it('tauNormalize: w_j / ‖w_j‖^τ per class column, vs PyTorch pnorm and a naive loop', async () => {
    const w = tf.tensor2d(golden.kernel);
    await expectNoLeak(() => {
      for (const [tau, want] of Object.entries(golden.normalized)) {
        const out = tauNormalize(w, { tau: Number(tau) });
        expectClose(out, want, { rtol: 1e-5, atol: 1e-6, name: `τ=${tau} vs PyTorch` });
        expectClose(out, naiveTauNorm(golden.kernel, Number(tau)), { rtol: 1e-5, atol: 1e-6, name: `τ=${tau} vs naive` });
        out.dispose();
      }
      const same = tauNormalize(w, { tau: 0 });
      expect(Array.from(same.dataSync())).toEqual(Array.from(w.dataSync()));
      const unit = tauNormalize(w, { tau: 1 });
      const norms = tf.norm(unit, 'euclidean', 0);
      expectClose(norms, new Array(C).fill(1), { rtol: 1e-6 });
      norms.dispose();
      same.dispose();
      unit.dispose();
    });
    w.dispose();
  });

  it('τ-norm: searches τ over 0, 0.1, …, 2 by validation balanced accuracy, drops the bias as the official code', async () => {
    expect(DEFAULT_TAU_GRID).toEqual(golden.grid.map((t) => Math.round(t * 10) / 10));
    const run = linear({ method: 'tauNorm' });
    await run.fit(data, { validation: data });
    expect(run.completedStages).toBe(2);
    expect(run.tauSearch.map((c) => c.tau)).toEqual(DEFAULT_TAU_GRID);
    expectClose(run.tauSearch.map((c) => c.balancedAccuracy), golden.balancedAccuracyDrop, { rtol: 1e-9, atol: 1e-9 });
    expect(run.tau).toBe(golden.bestTauDrop);
    // The head now holds W̃ for the chosen τ, and no bias.
    expectClose(run.model.linearHead.kernel, naiveTauNorm(golden.kernel, golden.bestTauDrop), { rtol: 1e-5, atol: 1e-6 });
    expect(Array.from(run.model.linearHead.bias?.dataSync() ?? [])).toEqual(new Array(C).fill(0));
    expect(run.trainer).toBe(run.representationTrainer);
    expect(run.classifierTrainer).toBeNull();
    run.dispose();

    const keep = linear({ method: 'tauNorm', tauNormBias: 'keep' });
    await keep.fit(data, { validation: data });
    expectClose(keep.tauSearch.map((c) => c.balancedAccuracy), golden.balancedAccuracyKeep, { rtol: 1e-9, atol: 1e-9 });
    expect(keep.tau).toBe(golden.bestTauKeep);
    expectClose(keep.model.linearHead.bias as tf.Tensor, golden.bias, { rtol: 1e-6 });
    keep.dispose();

    // A fixed τ skips the search (no validation needed).
    const fixed = linear({ method: 'tauNorm', tau: 0.5 });
    await fixed.fit(data);
    expect(fixed.tauSearch).toEqual([]);
    expect(fixed.tau).toBe(0.5);
    expectClose(fixed.model.linearHead.kernel, golden.normalized['0.5'], { rtol: 1e-5, atol: 1e-6 });
    fixed.dispose();
  });

  it('LWS: logits f_j·(w_j·x + b_j); only the scale learns (vs torch autograd and a naive loop)', async () => {
    const run = linear({ method: 'lws', stage2: { optimizer: { kind: 'sgd', learningRate: golden.lws.learningRate }, learningRate: { kind: 'constant' } } });
    const x = tf.tensor2d(golden.lws.x);
    const y = Int32Array.from(golden.lws.labels);
    expect(Array.from(run.scales() ?? [])).toEqual(new Array(C).fill(1));
    const first = naiveLws(golden.lws.x, golden.lws.labels, golden.kernel, golden.bias, new Array(C).fill(1));
    expectClose(first.loss, golden.lws.losses[0] as number, { rtol: 1e-5, name: 'naive vs torch' });
    expectClose(first.grad, golden.lws.grads[0] as number[], { rtol: 1e-5, atol: 1e-7, name: 'naive grad vs torch' });
    const trainer = run.classifierTrainer as NonNullable<DecoupledRun['classifierTrainer']>;
    for (let step = 0; step < 2; step++) {
      const result = trainer.step(x, y);
      expectClose(result.loss, golden.lws.losses[step] as number, { rtol: 1e-5, name: `loss ${step}` });
      expectClose(Array.from(run.scales() ?? []), golden.lws.scales[step] as number[], { rtol: 1e-5, atol: 1e-6, name: `scales ${step}` });
    }
    // The head is frozen: only the scale moved.
    expectClose(run.model.linearHead.kernel, golden.kernel, { rtol: 0, atol: 0 });
    // The steps above drove stage 2's trainer without `fit`, so read its (the rebalanced model's) logits.
    const logits = trainer.logits(x);
    const s = golden.lws.scales[1] as number[];
    const raw = golden.lws.x.map((row) => Array.from({ length: C }, (_, j) => s[j]! * row.reduce((a, v, d) => a + v * golden.kernel[d]![j]!, golden.bias[j]!)));
    expectClose(logits, raw, { rtol: 1e-5, atol: 1e-6 });
    logits.dispose();
    x.dispose();
    run.dispose();
  });

  it('cRT: the backbone (weights and batch-norm statistics) is frozen in stage 2, the head re-initialised from the seed', async () => {
    const rng = seededRng(4);
    const backbone = mlpBackbone({ inputDim: D, hiddenSizes: [6], batchNorm: true, rng });
    const run = decoupled({ seed: 4, numClasses: C, backbone, epochs: 2, batchSize: 8, stage2: { epochs: 2, optimizer: { kind: 'sgd', learningRate: 1e-12 } }, progress: 'none' });
    await run.representationTrainer.fit(data); // stage 1 alone
    expect(run.completedStages).toBe(1);
    const afterStage1 = backbone.variables.map((v) => Array.from(v.dataSync()));
    const history = await run.fit(data); // stage 1 is done: only stage 2 runs
    expect(history.epochs.map((l) => l['stage'])).toEqual([1, 1, 2, 2]);
    expect(run.completedStages).toBe(2);
    expect(run.trainer).toBe(run.classifierTrainer);
    expect(backbone.variables.map((v) => Array.from(v.dataSync()))).toEqual(afterStage1);
    // lr 1e-12 leaves the re-initialised head where the seed put it.
    const fresh = linearHead({ inputDim: 6, numClasses: C, rng: seededRng(4).fork('decoupled:cRT-head') });
    expectClose(run.model.linearHead.kernel, fresh.kernel, { rtol: 1e-6, atol: 1e-9 });
    fresh.dispose();
    // Stage 2 has no state: the frozen backbone's weights and statistics and the fixed head never move in
    // a forward pass (stage 1's classifier keeps its batch-norm statistics as state).
    expect(run.model.stateVariables).toEqual([]);
    expect(run.model.classifier.stateVariables?.length).toBe(2);
    run.dispose();
  });

  it('LWS, DisAlign and MARC: stage 2 trains only the scale or calibration, and has no state', () => {
    for (const method of ['lws', 'disalign', 'marc'] as const) {
      const run = decoupled({ seed: 1, numClasses: C, inputDim: D, hiddenSizes: [6], method, epochs: 1, batchSize: 8, progress: 'none' });
      expect(run.model.stateVariables).toEqual([]);
      expect(run.model.trainableVariables.every((v) => !run.model.linearHead.variables.includes(v))).toBe(true);
      expect(run.model.variables.slice(-run.model.trainableVariables.length)).toEqual(run.model.trainableVariables);
      run.dispose();
    }
  });
});

// ---------------------------------------------------------------------------------------------------
// The recipe on the shipped long-tailed Fashion-MNIST subset. The balanced test set is split per class:
// 50 images for validation (the τ search), 150 for testing.
// ---------------------------------------------------------------------------------------------------

const SEEDS = [0, 1, 2];
const STAGE1 = 8;
const STAGE2 = 4;
const BATCH = 128;
const HIDDEN = 64;
// The recipe's defaults otherwise: SGD (momentum 0.9, lr 0.1, weight decay 5e-4), cosine decay per stage.
const OPTIMIZER = { kind: 'sgd', learningRate: 0.1, momentum: 0.9, weightDecay: 5e-4 } as const;

describe('decoupled on the Fashion-MNIST-LT subset (wasm)', () => {
  let train: LabeledData;
  let validation: LabeledData;
  let test: LabeledData;

  beforeAll(async () => {
    await useBackend('wasm');
    const arrays = await standardizedSubsetArrays();
    train = fromArrays(arrays.train);
    const te = arrays.test;
    const seen = new Int32Array(10);
    const valRows: number[] = [];
    const testRows: number[] = [];
    te.y.forEach((y, i) => ((seen[y] = (seen[y] as number) + 1) <= 50 ? valRows : testRows).push(i));
    const all = fromArrays(te);
    const pick = (rows: number[]): LabeledData => ({ x: tf.tidy(() => tf.gather(all.x, rows)), y: Int32Array.from(rows, (i) => te.y[i] as number) });
    validation = pick(valRows);
    test = pick(testRows);
    all.x.dispose();
  });

  const recipe = (seed: number, method: DecoupledMethod): DecoupledRun =>
    decoupled({ seed, numClasses: 10, inputDim: 784, hiddenSizes: [HIDDEN], method, epochs: STAGE1, batchSize: BATCH, stage2: { epochs: STAGE2 }, progress: 'none' });

  /** Plain cross-entropy, instance sampling: the same MLP, batch size, optimizer and cosine decay for STAGE1 + STAGE2 epochs. */
  async function plainCE(seed: number): Promise<number> {
    return plainCrossEntropy({ train, test, rng: seededRng(seed).fork('decoupled:model'), hidden: HIDDEN, numClasses: 10, trainer: { seed, epochs: STAGE1 + STAGE2, batchSize: BATCH, optimizer: OPTIMIZER, learningRate: { kind: 'cosine' } } });
  }

  it('cRT, τ-norm and LWS each beat plain cross-entropy on balanced accuracy for each of 3 seeds, and free everything', async () => {
    const table: string[] = [];
    for (const seed of SEEDS) {
      const ce = await plainCE(seed);
      const scores: Record<string, number> = {};
      for (const method of ['cRT', 'lws'] as const) {
        await expectNoLeak(async () => {
          const run = recipe(seed, method);
          await run.fit(train);
          scores[method] = run.evaluate(test).balancedAccuracy;
          run.dispose();
          run.dispose();
        });
        expect(scores[method], `seed ${seed}: ${method} ${scores[method]} vs CE ${ce} (${STAGE1 + STAGE2} epochs)`).toBeGreaterThan(ce);
      }
      // τ-norm trains nothing after stage 1, and stage 1 is plain CE: its own stage-1 model is the baseline.
      let stage1 = 0;
      await expectNoLeak(async () => {
        const run = recipe(seed, 'tauNorm');
        await run.representationTrainer.fit(train);
        stage1 = run.evaluate(test).balancedAccuracy;
        await run.fit(train, { validation });
        scores['tauNorm'] = run.evaluate(test).balancedAccuracy;
        expect(run.tau).toBeGreaterThan(0);
        run.dispose();
      });
      expect(scores['tauNorm'], `seed ${seed}: τ-norm ${scores['tauNorm']} vs CE ${stage1} (${STAGE1} epochs)`).toBeGreaterThan(stage1);
      table.push(`seed ${seed}: CE ${ce.toFixed(3)} cRT ${scores['cRT']?.toFixed(3)} LWS ${scores['lws']?.toFixed(3)} | CE(${STAGE1}) ${stage1.toFixed(3)} τ-norm ${scores['tauNorm']?.toFixed(3)}`);
    }
    console.log(table.join('\n'));
  }, 180_000);

  it('is deterministic: the same seed gives the same report and scales', async () => {
    const once = async (): Promise<{ report: EvaluationReport; scales: Float32Array | null }> => {
      const run = decoupled({ seed: 9, numClasses: 10, inputDim: 784, hiddenSizes: [16], method: 'lws', epochs: 2, batchSize: BATCH, stage2: { epochs: 1 }, progress: 'none' });
      await run.fit(train);
      const out = { report: run.evaluate(test), scales: run.scales() };
      run.dispose();
      return out;
    };
    const a = await once();
    const b = await once();
    expect(b.report.perClass).toEqual(a.report.perClass);
    expect(b.report.ece).toBe(a.report.ece);
    expect(b.scales).toEqual(a.scales);
    expect(Array.from(a.scales ?? []).some((v) => v !== 1)).toBe(true);
  }, 60_000);

  it('runs with a CNN backbone on images, batch-norm statistics frozen in stage 2', async () => {
    const rows = Array.from({ length: 64 }, (_, i) => i * 20);
    const images: LabeledData = { x: tf.tidy(() => tf.reshape(tf.gather(train.x, rows), [64, 28, 28, 1])), y: Int32Array.from(rows, (i) => train.y[i] as number) };
    await expectNoLeak(async () => {
      const backbone = cnnBackbone({ inputShape: [28, 28, 1], channels: [4, 8], rng: seededRng(1) });
      const run = decoupled({ seed: 1, numClasses: 10, backbone, method: 'cRT', epochs: 1, batchSize: 32, stage2: { epochs: 1 }, progress: 'none' });
      await run.representationTrainer.fit(images);
      const afterStage1 = backbone.variables.map((v) => Array.from(v.dataSync()));
      const history = await run.fit(images);
      expect(history.epochs).toHaveLength(2);
      expect(backbone.variables.map((v) => Array.from(v.dataSync()))).toEqual(afterStage1);
      expect(run.evaluate(images).numClasses).toBe(10);
      run.dispose();
    });
    images.x.dispose();
  }, 60_000);

  it('frees the data', () => {
    [train, validation, test].forEach((d) => d.x.dispose());
  });
});

// ---------------------------------------------------------------------------------------------------
// Bad input: LongTailError with a stable code and a pinned message, before any tensor is made.
// ---------------------------------------------------------------------------------------------------

describe('decoupled bad input', () => {
  const base = { seed: 0, numClasses: 3, inputDim: 4, progress: 'none' } as const;

  it('options', () => {
    expectError(() => decoupled({ ...base, method: 'lsw' as 'lws' }), 'INVALID_OPTION', 'expected method to be one of "cRT", "tauNorm", "lws", "disalign", "marc". Received: method="lsw"');
    expectError(() => decoupled({ seed: 0, numClasses: 3 }), 'MISSING_INPUT', 'expected inputDim (for the default MLP) or a backbone. Received: neither');
    expectError(() => decoupled({ ...base, stage2: { epochs: 0 } }), 'INVALID_OPTION', 'expected stage2.epochs >= 1. Received: stage2.epochs=0');
    expectError(() => decoupled({ ...base, method: 'tauNorm', tau: Number.NaN }), 'INVALID_OPTION', 'expected tau to be a finite number. Received: tau=NaN');
    expectError(() => decoupled({ ...base, method: 'tauNorm', tauGrid: [] }), 'INVALID_OPTION', 'expected tauGrid to be a non-empty array of numbers. Received: tauGrid=[]');
    expectError(() => decoupled({ ...base, method: 'cRT', tau: 1 }), 'INVALID_OPTION', 'expected tau, tauGrid and tauNormBias only with method "tauNorm". Received: method="cRT"');
    expectError(() => decoupled({ ...base, method: 'tauNorm', tauNormBias: 'scale' as 'keep' }), 'INVALID_OPTION', 'expected tauNormBias to be one of "drop", "keep". Received: tauNormBias="scale"');
    expectError(() => decoupled({ ...base, hiddenSizes: [0] }), 'INVALID_OPTION', 'expected hiddenSizes to be an array of positive integers. Received: hiddenSizes=[0]');
    expectError(() => decoupled({ ...base, stage2: { sampler: { kind: 'uniform' } as never } }), 'UNKNOWN_KIND', 'expected a sampler kind, one of classBalanced, instance, mPerClass, power, progressive, squareRoot. Received: kind="uniform"');
  });

  it('τ-norm without validation data, data of the wrong shape, use after dispose', async () => {
    const run = decoupled({ ...base, method: 'tauNorm', epochs: 1 });
    const data: LabeledData = { x: tf.zeros([3, 4]), y: Int32Array.from([0, 1, 2]) };
    await expect(run.fit(data)).rejects.toMatchObject({ code: 'MISSING_INPUT', message: 'expected fit(train, { validation }) for the τ search (or a fixed tau option). Received: validation=undefined' });
    expect(run.completedStages).toBe(0);
    const wide: LabeledData = { x: tf.zeros([3, 5]), y: Int32Array.from([0, 1, 2]) };
    await expect(run.fit(wide, { validation: data })).rejects.toMatchObject({ code: 'SHAPE_MISMATCH', message: 'expected train.x of shape [N, 4]. Received: train.x.shape=[3, 5]' });
    await expect(run.fit(data, { validation: wide })).rejects.toMatchObject({ code: 'SHAPE_MISMATCH', message: 'expected validation.x of shape [N, 4]. Received: validation.x.shape=[3, 5]' });
    run.dispose();
    expect(() => run.evaluate(data)).toThrow('expected a live decoupled run. Received: a decoupled run after dispose()');
    const vector = tf.zeros([3]);
    expect(() => tauNormalize(vector as unknown as tf.Tensor2D, { tau: 1 })).toThrow('expected kernel of rank 2 [D, C]. Received: kernel.shape=[3]');
    vector.dispose();
    data.x.dispose();
    wide.x.dispose();
  });
});
