import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/backends/index.js';
import { setFusedCrossEntropy } from '../../src/backends/softmax-ce.js';
import { seededRng } from '../../src/core/rng.js';
import { crossEntropyLoss, focalLoss } from '../../src/losses/index.js';
import { classifier, linearHead, mlpBackbone } from '../../src/models/index.js';
import { createHeadStep, headStepPlan, type HeadStepMode } from '../../src/train/head-step.js';
import { optimizerFromConfig, setHostUpdates } from '../../src/train/optimizers.js';
import { setGemmKernelEnabled } from '../../src/core/wasm-gemm.js';
import { trainer } from '../../src/train/index.js';
import { instanceSampler } from '../../src/samplers/index.js';
import { backendsUnderTest, expectNoLeak } from '../../src/testing/index.js';

const D = 12;
const C = 7;
const B = 40;
const STEPS = 6;

function batches(): { x: Float32Array; labels: Int32Array }[] {
  const rng = seededRng('head-step:data');
  return Array.from({ length: STEPS }, () => ({
    x: Float32Array.from({ length: B * D }, () => rng.normal()),
    labels: Int32Array.from({ length: B }, () => rng.int(C)),
  }));
}

function model(bias = true) {
  return classifier({ head: linearHead({ inputDim: D, numClasses: C, rng: seededRng('head-step:model'), bias }) });
}

const SPEC = { kind: 'adam' as const, learningRate: 0.01, weightDecay: 5e-4 };
const SGD = { kind: 'sgd' as const, learningRate: 0.1, momentum: 0.9, weightDecay: 5e-4 };
type Spec = typeof SPEC | typeof SGD;

/** The generic path: Trainer.step with the unfused loss and optimizer (tfjs ops, tape). */
function reference(labelSmoothing: number, bias: boolean, spec: Spec): { losses: number[]; weights: number[][] } {
  const ce = setFusedCrossEntropy(false);
  const up = setHostUpdates(false);
  try {
    const m = model(bias);
    const loop = trainer({ model: m, loss: crossEntropyLoss({ labelSmoothing }), seed: 0, epochs: 1, batchSize: B, optimizer: spec, progress: 'none' });
    const losses = batches().map(({ x, labels }) => tf.tidy(() => loop.step(tf.tensor2d(x, [B, D]), labels).loss));
    const weights = m.trainableVariables.map((v) => Array.from(v.dataSync()));
    loop.dispose();
    m.dispose();
    return { losses, weights };
  } finally {
    setFusedCrossEntropy(ce);
    setHostUpdates(up);
  }
}

function viaHeadStep(which: HeadStepMode | 'host (plain loops)', labelSmoothing: number, bias: boolean, spec: Spec): { losses: number[]; weights: number[][] } {
  const mode: HeadStepMode = which === 'matmul' ? 'matmul' : 'host';
  const simd = setGemmKernelEnabled(which !== 'host (plain loops)');
  const m = model(bias);
  const plan = headStepPlan(m, crossEntropyLoss({ labelSmoothing }));
  expect(plan).not.toBeNull();
  const optimizer = optimizerFromConfig(spec);
  const head = createHeadStep({ ...plan!, optimizer, mode });
  expect(head).not.toBeNull();
  const losses = batches().map(({ x, labels }) => {
    const r = head!.step({ x, labels, learningRate: spec.learningRate });
    expect(r.bad).toBe(-1);
    return r.loss;
  });
  const weights = m.trainableVariables.map((v) => Array.from(v.dataSync()));
  head!.dispose();
  optimizer.dispose();
  m.dispose();
  setGemmKernelEnabled(simd);
  return { losses, weights };
}

function expectClose(got: number[], want: number[], label: string, rtol = 1e-6): void {
  const scale = Math.max(...want.map(Math.abs));
  want.forEach((w, i) => {
    expect(Math.abs((got[i] as number) - w) / Math.max(Math.abs(w), 1e-2 * scale), `${label}[${i}]`).toBeLessThanOrEqual(rtol);
  });
}

describe('headStepPlan', () => {
  it('accepts a linear head on features with plain cross-entropy, and nothing else', () => {
    const m = model();
    expect(headStepPlan(m, crossEntropyLoss({ labelSmoothing: 0.1 }))?.labelSmoothing).toBe(0.1);
    expect(headStepPlan(m, focalLoss({ gamma: 2 }))).toBeNull();
    const mlp = classifier({ backbone: mlpBackbone({ inputDim: D, hiddenSizes: [5, 4], rng: seededRng(1) }), head: linearHead({ inputDim: 4, numClasses: C, rng: seededRng(2) }) });
    expect(headStepPlan(mlp, crossEntropyLoss())?.hidden.map((l) => l.kernel.shape)).toEqual([[D, 5], [5, 4]]);
    const dropout = classifier({ backbone: mlpBackbone({ inputDim: D, hiddenSizes: [5], dropout: 0.1, rng: seededRng(1) }), head: linearHead({ inputDim: 5, numClasses: C, rng: seededRng(2) }) });
    const bn = classifier({ backbone: mlpBackbone({ inputDim: D, hiddenSizes: [5], batchNorm: true, rng: seededRng(1) }), head: linearHead({ inputDim: 5, numClasses: C, rng: seededRng(2) }) });
    const wide = classifier({ backbone: mlpBackbone({ inputDim: 784, hiddenSizes: [256], rng: seededRng(1) }), head: linearHead({ inputDim: 256, numClasses: C, rng: seededRng(2) }) });
    expect(headStepPlan(dropout, crossEntropyLoss())).toBeNull();
    expect(headStepPlan(bn, crossEntropyLoss())).toBeNull();
    expect(headStepPlan(wide, crossEntropyLoss())).toBeNull();
    [m, mlp, dropout, bn, wide].forEach((x) => x.dispose());
  });

  it('rejects unknown options and misfitting variables before any step', () => {
    const m = model();
    const plan = headStepPlan(m, crossEntropyLoss())!;
    const optimizer = optimizerFromConfig(SPEC);
    expect(() => createHeadStep({ ...plan, optimizer, lr: 1 } as never)).toThrow(/UNKNOWN_OPTION|among/);
    expect(() => createHeadStep({ ...plan, optimizer, bias: tf.variable(tf.zeros([C + 1])) })).toThrow(/bias/);
    expect(() => createHeadStep({ ...plan, optimizer, labelSmoothing: 1 })).toThrow(/labelSmoothing/);
    optimizer.dispose();
    m.dispose();
  });
});

for (const backend of backendsUnderTest()) {
  describe(`head step on ${backend}`, () => {
    beforeAll(async () => {
      await useBackend(backend);
    });
    afterAll(() => {
      setFusedCrossEntropy(true);
      setHostUpdates(true);
    });

    for (const mode of ['host', 'host (plain loops)', 'matmul'] as const) {
      for (const [labelSmoothing, bias] of [[0, true], [0.1, false]] as const) {
        it(`${mode} mode (labelSmoothing ${labelSmoothing}, bias ${bias}) follows Trainer.step's unfused trajectory`, () => {
          // SGD + momentum is linear in the gradients: losses agree to 1e-6; the weights after 6 steps to
          // 5e-6 (the unfused float32 loss composition's own gradient rounding reaches ~3e-5 relative on
          // entries where p − q cancels; see test/backends/softmax-ce.test.ts).
          const ref = reference(labelSmoothing, bias, SGD);
          const got = viaHeadStep(mode, labelSmoothing, bias, SGD);
          expectClose(got.losses, ref.losses, 'losses');
          got.weights.forEach((w, k) => expectClose(w, ref.weights[k] as number[], `variable ${k}`, 5e-6));
          // Adam divides each coordinate by its own gradient scale, so float32 rounding differences of
          // gradients near 0 (summation order of the two matmuls) reach ~1e-5 of a weight in 6 steps.
          const refAdam = reference(labelSmoothing, bias, SPEC);
          const gotAdam = viaHeadStep(mode, labelSmoothing, bias, SPEC);
          expectClose(gotAdam.losses, refAdam.losses, 'Adam losses');
          gotAdam.weights.forEach((w, k) => expectClose(w, refAdam.weights[k] as number[], `Adam variable ${k}`, 5e-5));
        });
      }
    }

    it('dense ReLU layers + head (MLP) follow Trainer.step\'s unfused trajectory, without leaks', async () => {
      const make = () => classifier({ backbone: mlpBackbone({ inputDim: D, hiddenSizes: [9, 6], rng: seededRng('mlp') }), head: linearHead({ inputDim: 6, numClasses: C, rng: seededRng('mlp:head') }) });
      const viaTrainer = (spec: Spec) => {
        const ce = setFusedCrossEntropy(false);
        const up = setHostUpdates(false);
        try {
          const m = make();
          const loop = trainer({ model: m, loss: crossEntropyLoss(), seed: 0, epochs: 1, batchSize: B, optimizer: spec, progress: 'none' });
          const losses = batches().map(({ x, labels }) => tf.tidy(() => loop.step(tf.tensor2d(x, [B, D]), labels).loss));
          const weights = m.trainableVariables.map((v) => Array.from(v.dataSync()));
          loop.dispose();
          m.dispose();
          return { losses, weights };
        } finally {
          setFusedCrossEntropy(ce);
          setHostUpdates(up);
        }
      };
      const viaStack = (spec: Spec, mode: HeadStepMode) => {
        const m = make();
        const optimizer = optimizerFromConfig(spec);
        const plan = headStepPlan(m, crossEntropyLoss())!;
        expect(plan.hidden.length).toBe(2);
        const h = createHeadStep({ ...plan, optimizer, mode })!;
        expect(h.mode).toBe(mode);
        const losses = batches().map(({ x, labels }) => {
          const r = h.step({ x, labels, learningRate: spec.learningRate });
          expect(r.bad).toBe(-1);
          return r.loss;
        });
        const weights = m.trainableVariables.map((v) => Array.from(v.dataSync()));
        h.dispose();
        optimizer.dispose();
        m.dispose();
        return { losses, weights };
      };
      for (const [spec, rtol] of [[SGD, 5e-6], [SPEC, 5e-5]] as const) {
        const ref = viaTrainer(spec);
        for (const mode of ['host', 'matmul'] as const) {
          const got = viaStack(spec, mode);
          expectClose(got.losses, ref.losses, `${spec.kind} ${mode} losses`);
          got.weights.forEach((w, k) => expectClose(w, ref.weights[k] as number[], `${spec.kind} ${mode} variable ${k}`, rtol));
        }
      }
      const m = make();
      const optimizer = optimizerFromConfig(SPEC);
      const [first] = batches();
      for (const mode of ['host', 'matmul'] as const) {
        const h = createHeadStep({ ...headStepPlan(m, crossEntropyLoss())!, optimizer, mode })!;
        h.step({ x: first!.x, labels: first!.labels, learningRate: 0.01 });
        await expectNoLeak(() => {
          for (let i = 0; i < 3; i++) h.step({ x: first!.x, labels: first!.labels, learningRate: 0.01 });
        });
        h.dispose();
      }
      optimizer.dispose();
      m.dispose();
    });

    it('host mode with more classes than features (weight gradient along classes) matches the matmul mode', () => {
      const run = (mode: HeadStepMode) => {
        const m = classifier({ head: linearHead({ inputDim: 3, numClasses: 9, rng: seededRng('wide') }) });
        const optimizer = optimizerFromConfig(SGD);
        const h = createHeadStep({ ...headStepPlan(m, crossEntropyLoss())!, optimizer, mode })!;
        const rng = seededRng('wide:data');
        const losses = [0, 1, 2].map(() => h.step({ x: Float32Array.from({ length: 30 * 3 }, () => rng.normal()), labels: Int32Array.from({ length: 30 }, () => rng.int(9)), learningRate: 0.1 }).loss);
        const weights = m.trainableVariables.map((v) => Array.from(v.dataSync()));
        h.dispose();
        optimizer.dispose();
        m.dispose();
        return { losses, weights };
      };
      const host = run('host');
      const mm = run('matmul');
      expectClose(host.losses, mm.losses, 'losses');
      host.weights.forEach((w, k) => expectClose(w, mm.weights[k] as number[], `variable ${k}`, 5e-6));
    });

    it('a non-finite batch changes nothing; steps leak no tensor; rows select the batch', async () => {
      const m = model();
      const optimizer = optimizerFromConfig(SPEC);
      const head = createHeadStep({ ...headStepPlan(m, crossEntropyLoss())!, optimizer, mode: 'host' })!;
      const [first] = batches();
      const x = Float32Array.from(first!.x);
      x[3] = NaN;
      const before = m.trainableVariables.map((v) => Array.from(v.dataSync()));
      expect(head.step({ x, labels: first!.labels, learningRate: 0.01 }).bad).toBe(-2);
      expect(m.trainableVariables.map((v) => Array.from(v.dataSync()))).toEqual(before);
      expect(optimizer.saveState([...m.trainableVariables]).step).toBe(0);
      for (const mode of ['host', 'matmul'] as const) {
        const h = createHeadStep({ ...headStepPlan(m, crossEntropyLoss())!, optimizer, mode })!;
        h.step({ x: first!.x, labels: first!.labels, learningRate: 0.01 });
        await expectNoLeak(() => {
          for (let i = 0; i < 3; i++) h.step({ x: first!.x, labels: first!.labels, learningRate: 0.01 });
        });
        h.dispose();
      }
      // rows: the same batch addressed inside a larger matrix gives the same step as the copied rows.
      const twin = model();
      const twinOpt = optimizerFromConfig(SPEC);
      const a = createHeadStep({ ...headStepPlan(twin, crossEntropyLoss())!, optimizer: twinOpt, mode: 'host' })!;
      const big = new Float32Array((B + 5) * D);
      big.set(first!.x, 5 * D);
      const rows = Int32Array.from({ length: B }, (_, i) => i + 5);
      const la = a.step({ x: big, rows, labels: first!.labels, learningRate: 0.01 }).loss;
      const fresh = model();
      const freshOpt = optimizerFromConfig(SPEC);
      const b = createHeadStep({ ...headStepPlan(fresh, crossEntropyLoss())!, optimizer: freshOpt, mode: 'host' })!;
      const lb = b.step({ x: first!.x, labels: first!.labels, learningRate: 0.01 }).loss;
      expect(la).toBe(lb);
      expect(Array.from(twin.trainableVariables[0]!.dataSync())).toEqual(Array.from(fresh.trainableVariables[0]!.dataSync()));
      [head, a, b].forEach((h) => h.dispose());
      [optimizer, twinOpt, freshOpt].forEach((o) => o.dispose());
      [m, twin, fresh].forEach((x) => x.dispose());
    });

    it('fit reads its inputs through a host view (no copy) and trains bit-identically to the step on a copied array', async () => {
      const n = 3 * B + 7;
      const rng = seededRng('head-step:fit');
      const xs = Float32Array.from({ length: n * D }, () => rng.normal());
      const ys = Int32Array.from({ length: n }, () => rng.int(C));
      for (const hidden of [[], [9]]) {
        const build = () => (hidden.length === 0 ? model() : classifier({ backbone: mlpBackbone({ inputDim: D, hiddenSizes: hidden, rng: seededRng(3) }), head: linearHead({ inputDim: 9, numClasses: C, rng: seededRng(4) }) }));
        const viaFit = build();
        const x = tf.tensor2d(xs, [n, D]);
        const loop = trainer({ model: viaFit, loss: crossEntropyLoss(), seed: 5, epochs: 2, batchSize: B, optimizer: SPEC, progress: 'none' });
        const history = await loop.fit({ x, y: ys });
        const byHand = build();
        const optimizer = optimizerFromConfig(SPEC);
        const head = createHeadStep({ ...headStepPlan(byHand, crossEntropyLoss())!, optimizer })!;
        const root = seededRng(5);
        const epochLosses: number[] = [];
        for (let epoch = 0; epoch < 2; epoch++) {
          let sum = 0;
          for (const rows of instanceSampler().batches(ys, { epoch, totalEpochs: 2, batchSize: B, rng: root.fork(`epoch:${epoch}`).fork('sampler') })) {
            const r = head.step({ x: Float32Array.from(xs), rows, labels: Int32Array.from(rows, (i) => ys[i] as number), learningRate: SPEC.learningRate });
            sum += r.loss * rows.length;
          }
          epochLosses.push(sum / n);
        }
        expect(history.epochs.map((e) => e['loss'])).toEqual(epochLosses);
        viaFit.trainableVariables.forEach((v, k) => expect(Array.from(v.dataSync())).toEqual(Array.from(byHand.trainableVariables[k]!.dataSync())));
        head.dispose();
        [loop, optimizer, viaFit, byHand, x].forEach((o) => o.dispose());
      }
    });
  });
}
