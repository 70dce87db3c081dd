import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import golden from '../golden/granularity.json';
import { useBackend } from '../../src/backends/index.js';
import { seededRng } from '../../src/core/rng.js';
import { fromArrays, type LabeledArrays, type LabeledData } from '../../src/data/index.js';
import { crossEntropyLoss } from '../../src/losses/index.js';
import type { EvaluationReport } from '../../src/metrics/report.js';
import { classPrototypes, classifier, linearHead, mlpBackbone, type AuxiliaryHead, type LinearHead } from '../../src/models/index.js';
import {
  FASHION_MNIST_GRANULARITY_SPLIT,
  granularity,
  splitByClasses,
  type GranularityOptions,
  type GranularityRun,
} from '../../src/recipes/granularity.js';
import { backendsUnderTest, expectClose, expectNoLeak } from '../../src/testing/index.js';
import { trainer } from '../../src/train/trainer.js';
import { expectError } from '../helpers/errors.js';
import { plainCrossEntropy, standardizedSubsetArrays } from '../helpers/fmnist.js';

// ---------------------------------------------------------------------------------------------------
// Maths: the recipe's full path (offset labels, prior over target + auxiliary, mask, loss, masked head)
// against a naive plain-JS loop and PyTorch golden values (scripts/golden/granularity.py).
// ---------------------------------------------------------------------------------------------------

const C = golden.numClasses;
const A = golden.numAuxiliaryClasses;

/** Mean Gran_LT loss, naive loops: −log softmax(z + log π + silenced·(−3e4))_y over all samples. */
function naiveLoss(rows: number[][], labels: number[], counts: number[], mask: boolean[][]): number {
  const total = counts.reduce((a, b) => a + b, 0);
  let sum = 0;
  rows.forEach((x, i) => {
    const y = labels[i] as number;
    const z: number[] = [];
    for (let j = 0; j < C + A; j++) {
      let v = golden.bias[j] as number;
      for (let d = 0; d < x.length; d++) v += (x[d] as number) * ((golden.kernel[d] as number[])[j] as number);
      v += Math.log((counts[j] as number) / total + 1e-12);
      if (!(mask[y] as boolean[])[j]) v += -3e4;
      z.push(v);
    }
    const m = Math.max(...z);
    const lse = m + Math.log(z.reduce((s, v) => s + Math.exp(v - m), 0));
    sum += lse - (z[y] as number);
  });
  return sum / rows.length;
}

function maskOf(neighbors: number[][], auxIgnoresAux: boolean): boolean[][] {
  const m = Array.from({ length: C + A }, () => new Array<boolean>(C + A).fill(true));
  neighbors.forEach((list, t) =>
    list.forEach((a) => {
      (m[t] as boolean[])[C + a] = false;
      (m[C + a] as boolean[])[t] = false;
    }),
  );
  if (auxIgnoresAux) for (let a = C; a < C + A; a++) for (let b = C; b < C + A; b++) if (a !== b) (m[a] as boolean[])[b] = false;
  return m;
}

const allRows = [...golden.targetX, ...golden.auxX];
const allLabels = [...golden.targetY, ...golden.auxY.map((a) => a + C)];

describe.each(backendsUnderTest())('granularity maths (%s)', (backend) => {
  let train: LabeledData;
  let auxiliary: LabeledData;
  beforeAll(async () => {
    await useBackend(backend);
    train = { x: tf.tensor2d(golden.targetX), y: Int32Array.from(golden.targetY) };
    auxiliary = { x: tf.tensor2d(golden.auxX), y: Int32Array.from(golden.auxY) };
  });

  /** A linear recipe at the golden weights; one full-batch epoch at lr 1e-12 logs the loss at those weights. */
  async function lossAtGoldenWeights(extra: Partial<GranularityOptions>): Promise<{ loss: number; run: GranularityRun }> {
    const run = granularity({
      seed: 0,
      numClasses: C,
      auxiliary,
      hiddenSizes: [],
      epochs: 1,
      batchSize: 64,
      optimizer: { kind: 'sgd', learningRate: 1e-12 },
      progress: 'none',
      ...extra,
    });
    const inner = (run.model.classifierHead as AuxiliaryHead).inner as LinearHead;
    tf.tidy(() => {
      inner.kernel.assign(tf.tensor2d(golden.kernel));
      inner.bias?.assign(tf.tensor1d(golden.bias));
    });
    const history = await run.fit(train);
    return { loss: history.epochs[0]?.['loss'] as number, run };
  }

  it('hand-given neighbours: the Gran_LT loss with the prior over target + auxiliary data', async () => {
    const { loss, run } = await lossAtGoldenWeights({ neighbors: golden.handNeighbors });
    expect(Array.from(run.trainer.classCounts ?? [])).toEqual(golden.counts);
    expect(run.mask).toEqual(golden.handMask);
    expect(run.mask).toEqual(maskOf(golden.handNeighbors, false));
    expectClose(loss, golden.lossHand, { rtol: 1e-5, name: 'loss vs PyTorch' });
    expectClose(loss, naiveLoss(allRows, allLabels, golden.counts, maskOf(golden.handNeighbors, false)), { rtol: 1e-5, name: 'loss vs naive' });
    // Masked inference: target rows only, arg-max over targets even where an auxiliary row is larger.
    const test = tf.tensor2d(golden.testX);
    const logits = run.trainer.logits(test);
    expect(logits.shape).toEqual([golden.testX.length, C]);
    expectClose(logits, golden.testTargetLogits, { rtol: 1e-5, atol: 1e-5 });
    expect(Array.from(run.predict(test))).toEqual(golden.testPredictions);
    expect(golden.testUnmaskedPredictions.some((p) => p >= C)).toBe(true);
    logits.dispose();
    test.dispose();
    run.dispose();
  });

  it('auxiliary samples ignoring all other auxiliary classes', async () => {
    const { loss, run } = await lossAtGoldenWeights({ neighbors: golden.handNeighbors, auxiliaryIgnoresAuxiliary: true });
    expectClose(loss, golden.lossHandAuxIgnoresAux, { rtol: 1e-5 });
    expectClose(loss, naiveLoss(allRows, allLabels, golden.counts, maskOf(golden.handNeighbors, true)), { rtol: 1e-5 });
    run.dispose();
  });

  it('prototype neighbours (input means, cosine, more for rarer classes) and their loss', async () => {
    const { loss, run } = await lossAtGoldenWeights({ neighborSelection: { encoder: 'inputs' } });
    expect(run.neighbors).toEqual(golden.selectedNeighbors);
    expectClose(loss, golden.lossSelected, { rtol: 1e-5 });
    run.dispose();
    // A user encoder that only rescales the inputs gives the same cosine ranking.
    const scaled = await lossAtGoldenWeights({ neighborSelection: { encoder: (x) => tf.mul(x, 3) as tf.Tensor2D } });
    expect(scaled.run.neighbors).toEqual(golden.selectedNeighbors);
    scaled.run.dispose();
    // Nothing silenced is the plain balanced softmax over C + A classes (Gran_LT's `unmask`).
    const open = await lossAtGoldenWeights({ neighbors: [[], [], []] });
    expectClose(open.loss, golden.lossUnmasked, { rtol: 1e-5 });
    open.run.dispose();
  });

  it('its prototypes are the Gran_LT class means (models/encode classPrototypes), and a function encoder picks as the inputs do', async () => {
    const x = tf.tensor2d(allRows);
    await expectNoLeak(() => {
      const { means } = classPrototypes(x, Int32Array.from(allLabels), { numClasses: C + A });
      expectClose(means, golden.prototypes, { rtol: 1e-6, atol: 1e-6 });
      means.dispose();
    });
    x.dispose();
    // The same features through a user function (batched by extractFeatures) give the golden choice.
    const { run } = await lossAtGoldenWeights({ neighborSelection: { encoder: (xb: tf.Tensor) => tf.mul(xb, 1) as tf.Tensor2D } });
    expect(run.neighbors).toEqual(golden.selectedNeighbors);
    run.dispose();
  });

  it('a function encoder that returns other than [B, d] fails fit with SHAPE_MISMATCH, before training, leaking nothing', async () => {
    const run = granularity({ seed: 0, numClasses: C, auxiliary, hiddenSizes: [], epochs: 1, batchSize: 64, progress: 'none', neighborSelection: { encoder: (xb: tf.Tensor) => tf.reshape(xb, [-1]) as unknown as tf.Tensor2D } });
    const before = tf.memory().numTensors;
    const n = golden.targetX.length + golden.auxX.length;
    await expect(run.fit(train)).rejects.toThrow(`expected encoded features of shape [${n}, d]. Received: shape=[${n * (golden.targetX[0] as number[]).length}]`);
    expect(tf.memory().numTensors).toBe(before);
    expect(run.neighbors).toBeNull();
    run.dispose();
  });
});

// ---------------------------------------------------------------------------------------------------
// The recipe on the shipped long-tailed Fashion-MNIST subset, split by FASHION_MNIST_GRANULARITY_SPLIT.
// ---------------------------------------------------------------------------------------------------

const EPOCHS = 12;
const BATCH = 128;
const SEEDS = [0, 1, 2];
const OPTIMIZER = { kind: 'adam', learningRate: 1e-3, weightDecay: 5e-4 } as const;

describe('granularity on the Fashion-MNIST-LT subset (wasm)', () => {
  let train: LabeledData;
  let auxiliary: LabeledData;
  let test: LabeledData;
  const reports = new Map<number, { report: EvaluationReport; neighbors: number[][] | null }>();

  beforeAll(async () => {
    await useBackend('wasm');
    const arrays = await standardizedSubsetArrays();
    const tr = splitByClasses(arrays.train);
    const te = splitByClasses(arrays.test);
    train = fromArrays(tr.target);
    auxiliary = fromArrays(tr.auxiliary);
    test = fromArrays(te.target);
  });

  const recipe = (seed: number, extra: Partial<GranularityOptions> = {}): GranularityRun =>
    granularity({ seed, numClasses: 6, auxiliary, epochs: EPOCHS, batchSize: BATCH, optimizer: OPTIMIZER, progress: 'none', ...extra });

  /** Plain cross-entropy on the target classes only: same MLP 784-256, same epochs, batch and optimizer. */
  async function plainCE(seed: number): Promise<number> {
    return plainCrossEntropy({ train, test, rng: seededRng(seed), hidden: 256, numClasses: 6, trainer: { seed, epochs: EPOCHS, batchSize: BATCH, optimizer: OPTIMIZER } });
  }

  it('beats plain cross-entropy on target balanced accuracy for each of 3 seeds, and frees everything', async () => {
    const gains: number[] = [];
    for (const seed of SEEDS) {
      let report: EvaluationReport | undefined;
      await expectNoLeak(async () => {
        const run = recipe(seed);
        expect(run.neighbors).toBeNull();
        await run.fit(train);
        report = run.evaluate(test);
        reports.set(seed, { report, neighbors: run.neighbors });
        run.dispose();
        run.dispose(); // idempotent
        expect(() => run.evaluate(test)).toThrow(/after dispose/);
      });
      const ce = await plainCE(seed);
      const ours = (report as EvaluationReport).balancedAccuracy;
      gains.push(ours - ce);
      expect(ours, `seed ${seed}: granularity ${ours} vs CE ${ce}`).toBeGreaterThan(ce);
    }
    expect(gains.reduce((a, b) => a + b, 0) / gains.length).toBeGreaterThan(0.01);
    // Warm-up neighbours: one for the most frequent target (T-shirt), kMax = 2 for the rarest (Bag).
    const neighbors = reports.get(0)?.neighbors as number[][];
    expect(neighbors).toHaveLength(6);
    expect(neighbors[0]).toHaveLength(1);
    expect(neighbors[5]).toHaveLength(2);
    for (const list of neighbors) for (const a of list) expect(a >= 0 && a < 4).toBe(true);
  }, 120_000);

  it('is deterministic: the same seed gives the same neighbours and report', async () => {
    const once = async (): Promise<{ report: EvaluationReport; neighbors: number[][] | null }> => {
      const run = recipe(5, { epochs: 4 });
      await run.fit(train);
      const out = { report: run.evaluate(test), neighbors: run.neighbors };
      run.dispose();
      return out;
    };
    const a = await once();
    const b = await once();
    expect(a.neighbors).not.toBeNull();
    expect(b.neighbors).toEqual(a.neighbors);
    expect(b.report.balancedAccuracy).toBe(a.report.balancedAccuracy);
    expect(b.report.perClass).toEqual(a.report.perClass);
    expect(b.report.ece).toBe(a.report.ece);
  }, 60_000);

  it('the warm-up neighbours are loss state: a run resumed past the warm-up from a checkpoint continues bit-identically', async () => {
    const straight = recipe(7, { epochs: 4 });
    await straight.fit(train);
    const controller = new AbortController();
    // Abort inside epoch 3 (after the neighbours were picked before epoch 2).
    const stopAt = 2 * Math.ceil((train.y.length + auxiliary.y.length) / BATCH) + 3;
    let steps = 0;
    const run2 = recipe(7, { epochs: 4, callbacks: [{ onBatchEnd: () => { if (++steps === stopAt) controller.abort(); } }] });
    await run2.fit(train, { signal: controller.signal });
    const state = run2.trainer.state();
    expect(state.position?.epoch).toBe(2);
    expect(Object.keys(state.lossStates ?? {})).toEqual(['granularity:neighbors']);
    expect(run2.neighbors).toEqual(straight.neighbors);
    run2.dispose();
    const resumed = recipe(7, { epochs: 4 });
    expect(resumed.neighbors).toBeNull();
    resumed.trainer.restore(state);
    expect(resumed.neighbors).toEqual(straight.neighbors);
    await resumed.fit(train);
    const weights = (r: GranularityRun): number[] => r.model.variables.flatMap((v) => Array.from(v.dataSync()));
    expect(weights(resumed)).toEqual(weights(straight));
    straight.dispose();
    resumed.dispose();
  }, 60_000);

  it('masked inference: predictions never name an auxiliary class, even on auxiliary images', async () => {
    const run = recipe(1, { epochs: 4, neighbors: FASHION_MNIST_GRANULARITY_SPLIT.neighbors.map((l) => [...l]) });
    await run.fit(train);
    const pred = run.predict(auxiliary.x);
    expect(pred.length).toBe(auxiliary.y.length);
    expect(Math.max(...pred)).toBeLessThan(6);
    const [evalCols, trainCols, unmasked] = tf.tidy(() => {
      const e = run.model.forward(auxiliary.x, 'eval').logits;
      const t = run.model.forward(auxiliary.x, 'train').logits;
      return [e.shape[1], t.shape[1], Array.from(tf.argMax(t, 1).dataSync())];
    });
    expect([evalCols, trainCols]).toEqual([6, 10]);
    // The unmasked head does name auxiliary classes for many auxiliary images: the mask is what stops it.
    expect(unmasked.filter((p) => p >= 6).length).toBeGreaterThan(auxiliary.y.length / 4);
    const report = run.evaluate(test);
    expect(report.numClasses).toBe(6);
    run.dispose();
  }, 60_000);

  describe('bad input: pinned errors before any tensor is made', () => {
    const base = (): GranularityOptions => ({ seed: 0, numClasses: 6, auxiliary, progress: 'none' });

    it('neighbour indices out of range, or a list per class missing', () => {
      expectError(
        () => granularity({ ...base(), neighbors: [[4], [], [], [], [], []] }),
        'INVALID_OPTION',
        'expected neighbors[0] entries to be auxiliary class indices in [0, 4). Received: neighbors[0]=[4]',
      );
      expectError(
        () => granularity({ ...base(), neighbors: [[], [], [-1], [], [], []] }),
        'INVALID_OPTION',
        'expected neighbors[2] entries to be auxiliary class indices in [0, 4). Received: neighbors[2]=[-1]',
      );
      expectError(() => granularity({ ...base(), neighbors: [[0], [1]] }), 'SHAPE_MISMATCH', 'expected neighbors.length = numClasses = 6. Received: neighbors.length=2');
      expectError(
        () => granularity({ ...base(), neighbors: [[], [], [], [], [], []], neighborSelection: { k: 2 } }),
        'INVALID_OPTION',
        'expected either neighbors or neighborSelection, not both. Received: neighborSelection={"k":2}',
      );
    });

    it('auxiliary data with a different feature shape', async () => {
      const images: LabeledData = { x: tf.zeros([2, 28, 28, 1]), y: Int32Array.from([0, 1]) };
      expectError(
        () => granularity({ ...base(), auxiliary: images }),
        'SHAPE_MISMATCH',
        'expected auxiliary.x of shape [N, D] for the default MLP (flatten images, or pass a backbone). Received: auxiliary.x.shape=[N, 28, 28, 1]',
      );
      const backbone = mlpBackbone({ inputDim: 784, hiddenSizes: [8], rng: seededRng(0) });
      expectError(
        () => granularity({ ...base(), auxiliary: images, backbone }),
        'SHAPE_MISMATCH',
        'expected auxiliary samples of shape [784] (backbone.inputShape). Received: auxiliary.x.shape=[N, 28, 28, 1]',
      );
      backbone.dispose();
      images.x.dispose();
      // Target data that does not match the auxiliary data fails at fit, before concatenation.
      const narrow: LabeledData = { x: tf.zeros([3, 783]), y: Int32Array.from([0, 1, 2]) };
      const run = granularity({ ...base(), epochs: 3 });
      const before = tf.memory().numTensors;
      await expect(run.fit(narrow)).rejects.toThrow(
        "expected train samples of the auxiliary samples' shape [784]. Received: train.x.shape=[N, 783]",
      );
      expect(tf.memory().numTensors).toBe(before);
      run.dispose();
      narrow.x.dispose();
    });

    it('labels: target labels beyond C at fit, auxiliary labels beyond A, an empty auxiliary class', async () => {
      const run = granularity({ ...base(), epochs: 3 });
      const bad: LabeledData = { x: tf.zeros([2, 784]), y: Int32Array.from([0, 6]) };
      await expect(run.fit(bad)).rejects.toMatchObject({ code: 'LABEL_OUT_OF_RANGE', message: 'expected train.y (target classes) in [0, 6). Received: train.y (target classes)[1]=6' });
      run.dispose();
      bad.x.dispose();
      expectError(
        () => granularity({ ...base(), numAuxiliaryClasses: 3 }),
        'LABEL_OUT_OF_RANGE',
        'expected auxiliary.y in [0, 3). Received: auxiliary.y[1359]=3'.replace('1359', String(auxiliary.y.indexOf(3))),
      );
      expectError(
        () => granularity({ ...base(), numAuxiliaryClasses: 5 }),
        'EMPTY_CLASS',
        'expected at least one sample of every auxiliary class. Received: no sample of auxiliary class 4',
      );
    });

    it('options: seed, auxiliary, warm-up length, encoder, optimizer; use after dispose', () => {
      expectError(() => granularity({ ...base(), seed: undefined as unknown as number }), 'INVALID_OPTION', 'expected seed to be an integer. Received: seed=undefined');
      expectError(
        () => granularity({ ...base(), auxiliary: undefined as unknown as LabeledData }),
        'MISSING_INPUT',
        'expected auxiliary as { x: Tensor, y: Int32Array } (labels in [0, A)). Received: auxiliary=undefined',
      );
      expectError(
        () => granularity({ ...base(), epochs: 2 }),
        'INVALID_OPTION',
        'expected neighborSelection.warmupEpochs < epochs (2). Received: neighborSelection.warmupEpochs=2',
      );
      expectError(
        () => granularity({ ...base(), neighborSelection: { encoder: 'pixels' as 'inputs' } }),
        'INVALID_OPTION',
        'expected neighborSelection.encoder to be "warmup", "inputs" or a function. Received: neighborSelection.encoder="pixels"',
      );
      expectError(() => granularity({ ...base(), neighborSelection: { k: 2, kMax: 1 } }), 'INVALID_OPTION', 'expected neighborSelection.kMax >= 2. Received: neighborSelection.kMax=1');
      expectError(() => granularity({ ...base(), optimizer: { kind: 'adam', learningRate: 0 } }), 'INVALID_OPTION', 'expected learningRate > 0. Received: learningRate=0');
      expectError(() => granularity({ ...base(), tau: Number.NaN }), 'INVALID_OPTION', 'expected tau to be a finite number. Received: tau=NaN');
      const run = granularity({ ...base(), epochs: 3 });
      run.dispose();
      expectError(() => run.evaluate(test), 'DISPOSED', 'expected a live granularity run. Received: a granularity run after dispose()');
    });
  });
});

describe('splitByClasses', () => {
  it('renumbers targets and auxiliary classes in split order and drops nothing of theirs', () => {
    const data: LabeledArrays = { x: Uint8Array.from([0, 10, 20, 30, 40, 50, 60, 70, 80, 90]), sampleShape: [1], y: Int32Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]) };
    const { target, auxiliary } = splitByClasses(data);
    expect(Array.from(target.y)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(Array.from(target.x)).toEqual([0, 10, 20, 30, 50, 80]);
    expect(Array.from(auxiliary.y)).toEqual([0, 1, 2, 3]);
    expect(Array.from(auxiliary.x)).toEqual([40, 60, 70, 90]);
    expect(FASHION_MNIST_GRANULARITY_SPLIT.targets.map((c) => c.name)).toEqual(['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Sandal', 'Bag']);
    expect(FASHION_MNIST_GRANULARITY_SPLIT.auxiliary.map((c) => c.name)).toEqual(['Coat', 'Shirt', 'Sneaker', 'Ankle boot']);
    expect(() => splitByClasses(data, { targets: [{ label: 1, name: 'a' }], auxiliary: [{ label: 1, name: 'b' }], neighbors: [[]] })).toThrow(
      'expected each class in one place of the split. Received: label=1',
    );
  });
});
