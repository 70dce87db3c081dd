import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import golden from '../golden/calibration.json';
import { useBackend } from '../../src/backends/index.js';
import { seededRng } from '../../src/core/rng.js';
import { fromArrays, type LabeledData } from '../../src/data/index.js';
import { decoupled, disalignCalibrate, marcCalibrate, type DecoupledOptions, type DecoupledRun } from '../../src/recipes/decoupled.js';
import { backendsUnderTest, expectClose, expectNoLeak } from '../../src/testing/index.js';
import { expectError } from '../helpers/errors.js';
import { plainCrossEntropy, standardizedSubsetArrays } from '../helpers/fmnist.js';

// ---------------------------------------------------------------------------------------------------
// Maths: DisAlign's and MARC's calibration (forward values and gradients) and their GRW-trained second
// stage, vs PyTorch transcriptions of the official modules (scripts/golden/calibration.py) and naive loops.
// ---------------------------------------------------------------------------------------------------

const D = golden.D;
const C = golden.C;
const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));

/** Naive DisAlign: (1 + σ_i α_c) z_ic + σ_i β_c with σ_i = sigmoid(x_i·v + c). */
function naiveDisalign(x: number[][], z: number[][], p: typeof golden.disalign.params): number[][] {
  return x.map((row, i) => {
    const s = sigmoid(row.reduce((a, v, d) => a + v * (p.confidenceKernel[d] as number), p.confidenceBias[0] as number));
    return (z[i] as number[]).map((zc, c) => (1 + s * (p.scale[c] as number)) * zc + s * (p.bias[c] as number));
  });
}

/** Naive MARC: ω_c z_ic + β_c ‖w_c‖. */
function naiveMarc(z: number[][], w: number[][], p: typeof golden.marc.params): number[][] {
  const norms = Array.from({ length: C }, (_, c) => Math.sqrt(w.reduce((a, row) => a + (row[c] as number) ** 2, 0)));
  return z.map((row) => row.map((zc, c) => (p.omega[c] as number) * zc + (p.beta[c] as number) * (norms[c] as number)));
}

/** Naive GRW weights: (n_c/N)^(−ρ), normalized to sum C. */
function naiveGrw(counts: number[], rho: number): number[] {
  const n = counts.reduce((a, v) => a + v, 0);
  const w = counts.map((v) => Math.pow(v / n, -rho));
  const s = w.reduce((a, v) => a + v, 0);
  return w.map((v) => (v * counts.length) / s);
}

describe.each(backendsUnderTest())('DisAlign and MARC maths (%s)', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it('disalignCalibrate: values and gradients vs the official DisAlignLinear (torch autograd) and a naive loop', async () => {
    await expectNoLeak(() => {
      const x = tf.tensor2d(golden.x);
      const z = tf.tensor2d(golden.logits);
      const g = tf.tensor2d(golden.G);
      const p = golden.disalign.params;
      const params = [tf.tensor1d(p.scale), tf.tensor1d(p.bias), tf.tensor1d(p.confidenceKernel), tf.tensor1d(p.confidenceBias)] as const;
      const f = (...a: tf.Tensor[]): tf.Tensor2D => disalignCalibrate(z, x, { scale: a[0] as tf.Tensor, bias: a[1] as tf.Tensor, confidenceKernel: a[2] as tf.Tensor, confidenceBias: a[3] as tf.Tensor });
      const out = f(...params);
      expectClose(out, golden.disalign.out, { rtol: 1e-5, atol: 1e-5, name: 'vs torch' });
      expectClose(out, naiveDisalign(golden.x, golden.logits, p), { rtol: 1e-5, atol: 1e-5, name: 'vs naive' });
      const grads = tf.grads((...a: tf.Tensor[]) => tf.sum(tf.mul(f(...a), g)))([...params]);
      grads.forEach((gr, i) => expectClose(gr, golden.disalign.grads[i] as number[], { rtol: 1e-4, atol: 1e-5, name: `grad ${i}` }));
      tf.dispose([x, z, g, out, ...params, ...grads]);
    });
  });

  it('marcCalibrate: values and gradients vs the official MARCLinear (torch autograd) and a naive loop', async () => {
    await expectNoLeak(() => {
      const z = tf.tensor2d(golden.logits);
      const w = tf.tensor2d(golden.kernel);
      const g = tf.tensor2d(golden.G);
      const p = golden.marc.params;
      const omega = tf.tensor1d(p.omega);
      const beta = tf.tensor1d(p.beta);
      const out = marcCalibrate(z, w, { omega, beta });
      expectClose(out, golden.marc.out, { rtol: 1e-5, atol: 1e-5, name: 'vs torch' });
      expectClose(out, naiveMarc(golden.logits, golden.kernel, p), { rtol: 1e-5, atol: 1e-5, name: 'vs naive' });
      const grads = tf.grads((o: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(marcCalibrate(z, w, { omega: o, beta: b }), g)))([omega, beta]);
      grads.forEach((gr, i) => expectClose(gr, golden.marc.grads[i] as number[], { rtol: 1e-4, atol: 1e-5, name: `grad ${i}` }));
      tf.dispose([z, w, g, omega, beta, out, ...grads]);
    });
  });

  /** A linear model (identity backbone) holding the golden head; stage 1 cannot move it (lr 1e-12). */
  const linear = (extra: Partial<DecoupledOptions>): DecoupledRun => {
    const run = decoupled({
      seed: 0,
      numClasses: C,
      inputDim: D,
      hiddenSizes: [],
      epochs: 1,
      batchSize: 64,
      optimizer: { kind: 'sgd', learningRate: 1e-12 },
      stage2: { epochs: 2, optimizer: { kind: 'sgd', learningRate: golden.learningRate }, learningRate: { kind: 'constant' } },
      progress: 'none',
      ...extra,
    });
    tf.tidy(() => {
      run.model.linearHead.kernel.assign(tf.tensor2d(golden.kernel));
      run.model.linearHead.bias?.assign(tf.tensor1d(golden.bias));
    });
    return run;
  };

  it('DisAlign stage 2: GRW loss (ρ = 1.2, counts of the training data) and two SGD steps vs torch; the head and backbone stay frozen', async () => {
    expectClose(naiveGrw(golden.counts, golden.rho), golden.grwWeights, { rtol: 1e-12, name: 'naive GRW weights' });
    const data: LabeledData = { x: tf.tensor2d(golden.x), y: Int32Array.from(golden.labels) };
    await expectNoLeak(async () => {
      const run = linear({ method: 'disalign' });
      const d = run.model.disalign as NonNullable<DecoupledRun['model']['disalign']>;
      // The official initial values (α = 1, β = 0, v = 0.1), c from the seed in U(±1/√D); pinned for the golden.
      const init = run.calibration() as Record<string, Float32Array>;
      expect(Array.from(init['scale'] ?? [])).toEqual([1, 1, 1, 1]);
      expect(Array.from(init['bias'] ?? [])).toEqual([0, 0, 0, 0]);
      expectClose(init['confidenceKernel'] ?? [], new Array(D).fill(0.1), { rtol: 1e-7 });
      expect(Math.abs(init['confidenceBias']?.[0] as number)).toBeLessThanOrEqual(1 / Math.sqrt(D));
      tf.tidy(() => d.confidenceBias.assign(tf.tensor1d([golden.disalign.confidenceBias0])));
      const history = await run.fit(data);
      expect(history.epochs.map((l) => l['stage'])).toEqual([1, 2, 2]);
      expectClose(history.epochs.slice(1).map((l) => l['loss'] as number), golden.disalign.steps.losses, { rtol: 1e-5, name: 'losses' });
      const after = run.calibration() as Record<string, Float32Array>;
      const want = golden.disalign.steps.states[1] as number[][];
      ['scale', 'bias', 'confidenceKernel', 'confidenceBias'].forEach((k, i) => expectClose(after[k] ?? [], want[i] as number[], { rtol: 1e-4, atol: 1e-6, name: k }));
      expectClose(run.model.linearHead.kernel, golden.kernel, { rtol: 0, atol: 0 });
      // Inference: the calibrated logits of the learned parameters.
      const logits = run.logits(data.x);
      const p = { scale: Array.from(after['scale'] ?? []), bias: Array.from(after['bias'] ?? []), confidenceKernel: Array.from(after['confidenceKernel'] ?? []), confidenceBias: Array.from(after['confidenceBias'] ?? []) };
      expectClose(logits, naiveDisalign(golden.x, golden.logits, p), { rtol: 1e-5, atol: 1e-5 });
      logits.dispose();
      run.dispose();
    });
    data.x.dispose();
  });

  it('MARC stage 2: GRW loss and two SGD steps on ω, β vs torch; explicit grw.classCounts are used as given', async () => {
    const data: LabeledData = { x: tf.tensor2d(golden.x), y: Int32Array.from(golden.labels) };
    await expectNoLeak(async () => {
      const run = linear({ method: 'marc' });
      expect(run.calibration()).toEqual({ omega: Float32Array.of(1, 1, 1, 1), beta: Float32Array.of(0, 0, 0, 0) });
      const history = await run.fit(data);
      expectClose(history.epochs.slice(1).map((l) => l['loss'] as number), golden.marc.steps.losses, { rtol: 1e-5, name: 'losses' });
      const after = run.calibration() as Record<string, Float32Array>;
      const want = golden.marc.steps.states[1] as number[][];
      expectClose(after['omega'] ?? [], want[0] as number[], { rtol: 1e-4, atol: 1e-6, name: 'omega' });
      expectClose(after['beta'] ?? [], want[1] as number[], { rtol: 1e-4, atol: 1e-6, name: 'beta' });
      const logits = run.logits(data.x);
      expectClose(logits, naiveMarc(golden.logits, golden.kernel, { omega: Array.from(after['omega'] ?? []), beta: Array.from(after['beta'] ?? []) }), { rtol: 1e-5, atol: 1e-5 });
      logits.dispose();
      run.dispose();
      // The same counts given explicitly give the same first loss; other counts give another.
      const given = linear({ method: 'marc', grw: { classCounts: golden.counts }, stage2: { epochs: 1, optimizer: { kind: 'sgd', learningRate: golden.learningRate }, learningRate: { kind: 'constant' } } });
      const h1 = await given.fit(data);
      expectClose(h1.epochs[1]?.['loss'] as number, golden.marc.steps.losses[0] as number, { rtol: 1e-5 });
      given.dispose();
      const flat = linear({ method: 'marc', grw: { exponent: 0 }, stage2: { epochs: 1, optimizer: { kind: 'sgd', learningRate: golden.learningRate }, learningRate: { kind: 'constant' } } });
      const h2 = await flat.fit(data);
      expect(Math.abs((h2.epochs[1]?.['loss'] as number) - (golden.marc.steps.losses[0] as number))).toBeGreaterThan(1e-3);
      flat.dispose();
    });
    data.x.dispose();
  });
});

// ---------------------------------------------------------------------------------------------------
// On the shipped long-tailed Fashion-MNIST subset: each method at least matches plain cross-entropy with
// the same budget, and runs are deterministic.
// ---------------------------------------------------------------------------------------------------

const SEEDS = [0, 1];
const STAGE1 = 8;
const STAGE2 = 4;
const BATCH = 128;
const HIDDEN = 64;
const OPTIMIZER = { kind: 'sgd', learningRate: 0.1, momentum: 0.9, weightDecay: 5e-4 } as const;

describe('DisAlign and MARC on the Fashion-MNIST-LT subset (wasm)', () => {
  let train: LabeledData;
  let test: LabeledData;

  beforeAll(async () => {
    await useBackend('wasm');
    const arrays = await standardizedSubsetArrays();
    train = fromArrays(arrays.train);
    test = fromArrays(arrays.test);
  });

  it('each beats plain cross-entropy on balanced accuracy for each of 2 seeds, and frees everything', async () => {
    const table: string[] = [];
    for (const seed of SEEDS) {
      const ce = await plainCrossEntropy({ train, test, rng: seededRng(seed).fork('decoupled:model'), hidden: HIDDEN, numClasses: 10, trainer: { seed, epochs: STAGE1 + STAGE2, batchSize: BATCH, optimizer: OPTIMIZER, learningRate: { kind: 'cosine' } } });
      const scores: Record<string, number> = {};
      for (const method of ['disalign', 'marc'] as const) {
        await expectNoLeak(async () => {
          const run = decoupled({ seed, numClasses: 10, inputDim: 784, hiddenSizes: [HIDDEN], method, epochs: STAGE1, batchSize: BATCH, stage2: { epochs: STAGE2 }, progress: 'none' });
          await run.fit(train);
          scores[method] = run.evaluate(test).balancedAccuracy;
          run.dispose();
          run.dispose();
        });
        expect(scores[method], `seed ${seed}: ${method} ${scores[method]} vs CE ${ce}`).toBeGreaterThan(ce);
      }
      table.push(`seed ${seed}: CE ${ce.toFixed(3)} DisAlign ${scores['disalign']?.toFixed(3)} MARC ${scores['marc']?.toFixed(3)}`);
    }
    console.log(table.join('\n'));
  }, 180_000);

  it('is deterministic: the same seed gives the same report and calibration', async () => {
    for (const method of ['disalign', 'marc'] as const) {
      const once = async (): Promise<{ balanced: number; perClass: unknown; calibration: unknown }> => {
        const run = decoupled({ seed: 9, numClasses: 10, inputDim: 784, hiddenSizes: [16], method, epochs: 2, batchSize: BATCH, stage2: { epochs: 1 }, progress: 'none' });
        await run.fit(train);
        const report = run.evaluate(test);
        const out = { balanced: report.balancedAccuracy, perClass: report.perClass, calibration: run.calibration() };
        run.dispose();
        return out;
      };
      const a = await once();
      const b = await once();
      expect(b).toEqual(a);
    }
  }, 60_000);

  it('frees the data', () => {
    [train, test].forEach((d) => d.x.dispose());
  });
});

describe('DisAlign and MARC bad input', () => {
  const base = { seed: 0, numClasses: 3, inputDim: 4, progress: 'none' } as const;

  it('options and shapes: LongTailError before any tensor', async () => {
    const before = tf.memory().numTensors;
    expectError(() => decoupled({ ...base, method: 'cRT', grw: { exponent: 1 } }), 'INVALID_OPTION', 'expected grw only with method "disalign" or "marc". Received: method="cRT"');
    expectError(() => decoupled({ ...base, method: 'marc', grw: { exponent: -1 } }), 'INVALID_OPTION', 'expected grw.exponent >= 0. Received: grw.exponent=-1');
    expectError(() => decoupled({ ...base, method: 'marc', grw: { classCounts: [1, 2] } }), 'SHAPE_MISMATCH', 'expected grw.classCounts of length numClasses = 3. Received: grw.classCounts.length=2');
    expectError(() => decoupled({ ...base, method: 'disalign', grw: { exponnet: 1 } as never }), 'UNKNOWN_OPTION', 'expected decoupled options.grw to be among exponent, classCounts. Received: exponnet (did you mean exponent?)');
    expectError(() => decoupled({ ...base, method: 'disalign', tau: 1 }), 'INVALID_OPTION', 'expected tau, tauGrid and tauNormBias only with method "tauNorm". Received: method="disalign"');
    expect(tf.memory().numTensors).toBe(before);
    const z = tf.zeros([2, 3]) as tf.Tensor2D;
    const x = tf.zeros([3, 4]) as tf.Tensor2D;
    const v = tf.zeros([3]);
    const n = tf.memory().numTensors;
    expectError(() => disalignCalibrate(z, x, { scale: v, bias: v, confidenceKernel: v, confidenceBias: v }), 'SHAPE_MISMATCH', 'expected features of shape [2, C]. Received: features.shape=[3, 4]');
    expectError(() => marcCalibrate(z, x, { omega: v, beta: v }), 'SHAPE_MISMATCH', 'expected kernel of shape [N, 3]. Received: kernel.shape=[3, 4]');
    expect(tf.memory().numTensors).toBe(n);
    tf.dispose([z, x, v]);
  });
});
