import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRng } from '../../src/core/rng.js';
import { blobData } from '../helpers/blobs.js';
import { LongTailError } from '../../src/core/errors.js';
import { useBackend } from '../../src/backends/index.js';
import { classifier, identityBackbone, linearHead, mlpBackbone } from '../../src/models/index.js';
import { crossEntropyLoss, defineLoss, supConLoss } from '../../src/losses/index.js';
import { ClassGaussian } from '../../src/synth/index.js';
import { trainer, earlyStopping, type TrainerBaseConfig, type TrainerConfig } from '../../src/train/index.js';
import type { Loss } from '../../src/losses/types.js';
import type { LabeledData } from '../../src/data/types.js';
import type { Sampler } from '../../src/samplers/types.js';
import { samplerFromConfig } from '../../src/samplers/index.js';
import { backendsUnderTest } from '../../src/testing/index.js';

function data(counts: readonly number[], seed: number): LabeledData {
  return blobData(counts, { seed, dim: 8, shift: 2.5, wrap: true });
}

function mlp(seed: number) {
  const rng = seededRng(seed);
  return classifier({
    backbone: mlpBackbone({ inputDim: 8, hiddenSizes: [16], rng: rng.fork('backbone'), dropout: 0.1 }),
    head: linearHead({ inputDim: 16, numClasses: 4, rng: rng.fork('head') }),
  });
}

function config(overrides: Partial<TrainerBaseConfig> & { loss?: Loss } = {}): TrainerConfig {
  return {
    model: mlp(1),
    seed: 7,
    epochs: 4,
    batchSize: 32,
    optimizer: { kind: 'adam', learningRate: 0.01, weightDecay: 5e-4 },
    progress: 'none',
    ...overrides,
    loss: overrides.loss ?? crossEntropyLoss(),
  };
}

const COUNTS = [200, 60, 20, 6];

for (const backend of backendsUnderTest()) {
  describe(`Trainer on ${backend}`, () => {
    let train: LabeledData;
    let test: LabeledData;
    beforeAll(async () => {
      await useBackend(backend);
      train = data(COUNTS, 1);
      test = data([50, 50, 50, 50], 2);
    });
    afterAll(() => {
      train.x.dispose();
      test.x.dispose();
    });

    it('trains: loss goes down, evaluate reports overall, balanced and shot groups', async () => {
      const cfg = config();
      const loop = trainer(cfg);
      const history = await loop.fit(train, { validation: test });
      expect(history.stopReason).toBe('completed');
      expect(history.epochs).toHaveLength(4);
      const first = history.epochs[0]?.['loss'] as number;
      const last = history.epochs[3]?.['loss'] as number;
      expect(last).toBeLessThan(first * 0.7);
      const report = loop.evaluate(test);
      expect(report.top1).toBeGreaterThan(0.6);
      expect(report.perClass).toHaveLength(4);
      expect(report.trainCounts).toEqual(COUNTS);
      expect(report.groups?.many.accuracy).toBeGreaterThan(0.8);
      expect(history.epochs[3]?.['valBalancedAccuracy']).toBeCloseTo(report.balancedAccuracy, 6);
      const predicted = loop.predict(test.x);
      const logits = loop.logits(test.x);
      const argMax = tf.tidy(() => tf.argMax(logits, 1));
      expect(Array.from(predicted)).toEqual(Array.from(argMax.dataSync()));
      tf.dispose([logits, argMax]);
      loop.dispose();
      cfg.model.dispose();
    });

    it('is deterministic: the same seed gives identical weights and history', async () => {
      const run = async () => {
        const cfg = config({ epochs: 2 });
        const loop = trainer(cfg);
        const history = await loop.fit(train);
        const weights = cfg.model.variables.map((v) => Array.from(v.dataSync()));
        loop.dispose();
        cfg.model.dispose();
        return { history, weights };
      };
      const a = await run();
      const b = await run();
      expect(a.history).toEqual(b.history);
      expect(a.weights).toEqual(b.weights);
      const cfg = config({ epochs: 2, seed: 8 });
      const other = trainer(cfg);
      const h = await other.fit(train);
      expect(h.epochs[1]?.['loss']).not.toBe(a.history.epochs[1]?.['loss']);
      other.dispose();
      cfg.model.dispose();
    });

    it('resumes bit-identically from a checkpoint', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'longtail-ck-'));
      try {
        const straightCfg = config({ epochs: 4 });
        const straight = trainer(straightCfg);
        const full = await straight.fit(train);
        const expected = straightCfg.model.variables.map((v) => Array.from(v.dataSync()));

        const firstCfg = config({ epochs: 4 });
        const first = trainer(firstCfg);
        const stopAfter2 = { onEpochEnd: (e: number, _l: unknown, control: { stop(r: string): void }) => (e === 1 ? control.stop('pause') : undefined) };
        const firstCfg2 = { ...firstCfg, callbacks: [stopAfter2] };
        first.dispose();
        const paused = trainer(firstCfg2);
        const h1 = await paused.fit(train);
        expect(h1.stopReason).toBe('callback');
        expect(paused.epoch).toBe(2);
        await paused.save(dir);

        const resumedCfg = config({ epochs: 4, model: mlp(99) }); // different init: load must overwrite it
        const resumed = trainer(resumedCfg);
        await resumed.load(dir);
        expect(resumed.epoch).toBe(2);
        const h2 = await resumed.fit(train);
        const got = resumedCfg.model.variables.map((v) => Array.from(v.dataSync()));
        expect(got).toEqual(expected);
        expect(h2.epochs.map((l) => l['loss'])).toEqual(full.epochs.map((l) => l['loss']));
        for (const t of [straight, paused, resumed]) t.dispose();
        for (const m of [straightCfg.model, firstCfg.model, resumedCfg.model]) m.dispose();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('keeps tf.memory().numTensors flat across epochs and frees its state on dispose', async () => {
      const cfg = config({ epochs: 5 });
      const before = tf.memory().numTensors;
      const counts: number[] = [];
      const loop = trainer({ ...cfg, callbacks: [{ onEpochEnd: () => void counts.push(tf.memory().numTensors) }] });
      await loop.fit(train, { validation: test });
      // Epoch 1 creates the optimizer slots; afterwards the count must not move.
      expect(new Set(counts.slice(1)).size).toBe(1);
      loop.dispose();
      loop.dispose();
      expect(tf.memory().numTensors).toBe(before);
      cfg.model.dispose();
    });

    it('stops cleanly after the current step when aborted', async () => {
      const cfg = config({ epochs: 3 });
      const controller = new AbortController();
      let steps = 0;
      const loop = trainer({
        ...cfg,
        callbacks: [{ onBatchEnd: () => (++steps === 3 ? controller.abort() : undefined) }],
      });
      const before = tf.memory().numTensors;
      const history = await loop.fit(train, { signal: controller.signal });
      expect(history.stopReason).toBe('aborted');
      expect(steps).toBe(3);
      expect(history.epochs).toHaveLength(0);
      expect(loop.epoch).toBe(0);
      loop.dispose();
      expect(tf.memory().numTensors).toBeLessThanOrEqual(before);
      cfg.model.dispose();
    });

    it('a NaN loss stops with NON_FINITE naming epoch and step, weights untouched', async () => {
      let calls = 0;
      const nanLoss = defineLoss({
        kind: 'nanAfter',
        config: {},
        requires: ['logits'],
        terms: ({ logits }) => ({
          ce: { kind: 'perSample', values: tf.tidy(() => tf.mul(tf.sum(tf.square(logits), 1), ++calls > 5 ? NaN : 1)) as tf.Tensor1D },
        }),
      });
      const cfg = config({ loss: nanLoss, epochs: 2 });
      const loop = trainer(cfg);
      let weights: number[][] = [];
      const t2 = trainer({ ...cfg, callbacks: [{ onBatchEnd: () => void (weights = cfg.model.variables.map((v) => Array.from(v.dataSync()))) }] });
      loop.dispose();
      const err = await t2.fit(train).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LongTailError);
      expect((err as LongTailError).code).toBe('NON_FINITE');
      expect((err as LongTailError).message).toBe('expected a finite loss and gradients. Received: loss=NaN at epoch 0 step 5; weights were not updated');
      expect(cfg.model.variables.map((v) => Array.from(v.dataSync()))).toEqual(weights);
      t2.dispose();
      cfg.model.dispose();
    });

    it('step() runs one synchronous update for custom loops', () => {
      const cfg = config();
      const loop = trainer(cfg);
      const x = tf.slice(train.x, 0, 16);
      const before = tf.memory().numTensors;
      const r1 = loop.step(x, train.y.subarray(0, 16));
      let r = r1;
      for (let i = 0; i < 20; i++) r = loop.step(x, train.y.subarray(0, 16));
      expect(r.loss).toBeLessThan(r1.loss);
      expect(Object.keys(r.terms)).toEqual(['crossEntropy']);
      expect(tf.memory().numTensors - before).toBeLessThanOrEqual(cfg.model.trainableVariables.length * 2);
      x.dispose();
      loop.dispose();
      cfg.model.dispose();
    });

    it('a custom objective drives the same loop: CE as an objective equals the CE loss path', async () => {
      const ce = crossEntropyLoss();
      const viaLoss = config({ epochs: 2 });
      const a = trainer(viaLoss);
      const ha = await a.fit(train);
      const viaObjectiveModel = mlp(1);
      const seenFlags: number[] = [];
      const b = trainer({
        ...config({ epochs: 2, model: viaObjectiveModel }),
        loss: undefined,
        objective: ({ model, x, labels, syntheticFlags }) => {
          seenFlags.push(syntheticFlags.length);
          return { crossEntropy: ce.compute({ logits: model.forward(x as tf.Tensor, 'train').logits, labels }) };
        },
      });
      const hb = await b.fit(train);
      expect(hb.epochs.map((l) => l['loss'])).toEqual(ha.epochs.map((l) => l['loss']));
      expect(seenFlags[0]).toBe(32);
      for (const t of [a, b]) t.dispose();
      viaLoss.model.dispose();
      viaObjectiveModel.dispose();
    });

    it('synthesis tops classes up to n_max and synthetic latents go through the head only', async () => {
      const rng = seededRng(3);
      const model = classifier({ backbone: identityBackbone({ inputDim: 8 }), head: linearHead({ inputDim: 8, numClasses: 4, rng }) });
      const seen: number[] = [];
      const base = samplerFromConfig({ kind: 'instance' });
      const spy: Sampler = { kind: 'spy', config: {}, batches: (labels, ctx) => (seen.push(labels.length), base.batches(labels, ctx)) };
      const synthesizer = new ClassGaussian({ numClasses: 4, covariance: 'shrinkage', shrinkage: 0.5 });
      const loop = trainer({ ...config({ model, epochs: 2, sampler: spy }), synthesis: { synthesizer, source: 'inputs' } });
      await loop.fit(train);
      expect(seen).toEqual([800, 800]);
      loop.dispose();
      synthesizer.dispose();
      model.dispose();
    });
  });
}

describe('Trainer construction errors', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  it('a loss that needs projections with a model that has none is MISSING_INPUT', () => {
    const cfg = config();
    expect(() => trainer({ ...cfg, loss: supConLoss() } as unknown as TrainerConfig)).toThrowError(
      'expected model classifier to provide projections (required by loss supCon). Received: provides=[logits, embeddings]',
    );
    cfg.model.dispose();
  });

  it('refreshes reset the synthesizer so statistics never accumulate; refresh without reset() is refused', async () => {
    const rng = seededRng(4);
    const model = classifier({ backbone: identityBackbone({ inputDim: 8 }), head: linearHead({ inputDim: 8, numClasses: 4, rng }) });
    const train = data(COUNTS, 1);
    const synthesizer = new ClassGaussian({ numClasses: 4, covariance: 'shrinkage', shrinkage: 0.5 });
    const observed: number[][] = [];
    const loop = trainer({
      ...config({ model, epochs: 3 }),
      synthesis: { synthesizer, source: 'inputs', refreshEvery: 1 },
      callbacks: [{ onEpochEnd: () => void observed.push(Array.from(synthesizer.observedCounts())) }],
    });
    await loop.fit(train);
    expect(observed).toEqual([COUNTS, COUNTS, COUNTS]);
    loop.dispose();
    const noReset = { ...synthesizer, kind: 'noReset', reset: undefined, numClasses: 4 } as unknown as typeof synthesizer;
    expect(() => trainer({ ...config({ model }), synthesis: { synthesizer: noReset, refreshEvery: 2 } })).toThrowError(
      'expected a synthesizer with reset() when synthesis.refreshEvery > 0 (refreshes re-observe moving features). Received: synthesizer noReset without reset()',
    );
    synthesizer.dispose();
    model.dispose();
    train.x.dispose();
  });

  it('needs exactly one of loss and objective', () => {
    const cfg = config();
    expect(() => trainer({ ...cfg, loss: undefined } as unknown as TrainerConfig)).toThrowError(
      'expected exactly one of config.loss and config.objective. Received: neither',
    );
    expect(() => trainer({ ...cfg, objective: () => ({}) } as unknown as TrainerConfig)).toThrowError(
      'expected exactly one of config.loss and config.objective. Received: both',
    );
    cfg.model.dispose();
  });

  it('bad numbers and mismatched data are rejected before any tensor is made', async () => {
    const cfg = config();
    const before = tf.memory().numTensors;
    expect(() => trainer({ ...cfg, epochs: 0 })).toThrowError('expected epochs >= 1. Received: epochs=0');
    expect(() => trainer({ ...cfg, batchSize: 2.5 })).toThrowError('expected batchSize to be an integer. Received: batchSize=2.5');
    expect(tf.memory().numTensors).toBe(before);
    const synthesizer = new ClassGaussian({ numClasses: 3 });
    expect(() => trainer({ ...cfg, synthesis: { synthesizer } })).toThrowError(
      'expected synthesizer classes = model training classes = 4. Received: synthesizer.numClasses=3',
    );
    synthesizer.dispose();
    const loop = trainer(cfg);
    const bad: LabeledData = { x: tf.zeros([3, 8]), y: new Int32Array([0, 4, 1]) };
    await expect(loop.fit(bad)).rejects.toThrowError('expected data.y in [0, 4). Received: data.y[1]=4');
    const short: LabeledData = { x: bad.x, y: new Int32Array([0, 1]) };
    await expect(loop.fit(short)).rejects.toThrowError('expected data.y length = data.x.shape[0] = 3. Received: data.y.length=2');
    bad.x.dispose();
    loop.dispose();
    expect(() => loop.predict(tf.zeros([1, 8]))).toThrowError(/after dispose/);
    cfg.model.dispose();
  });

  it('predict refuses NaN logits (NON_FINITE naming the row) instead of answering class 0, and leaks nothing', () => {
    const cfg = config();
    const loop = trainer(cfg);
    const x = tf.tensor2d([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, NaN, 0, 0, 0, 0, 0, 0, 0], [2, 8]);
    const before = tf.memory().numTensors;
    let thrown: unknown;
    try {
      loop.predict(x);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(LongTailError);
    expect((thrown as LongTailError).code).toBe('NON_FINITE');
    expect((thrown as LongTailError).message).toMatch(/^expected logits without NaN\. Received: logits\[1, 0\]=NaN/);
    expect(tf.memory().numTensors).toBe(before);
    const finiteRow = tf.slice(x, [0, 0], [1, 8]);
    expect(loop.predict(finiteRow)).toHaveLength(1);
    tf.dispose([x, finiteRow]);
    loop.dispose();
    cfg.model.dispose();
  });

  it('early stopping ends training with stopReason callback', async () => {
    const cfg = config({ epochs: 10 });
    const train = data(COUNTS, 1);
    const loop = trainer({ ...cfg, callbacks: [earlyStopping({ monitor: 'loss', mode: 'max', patience: 1 })] });
    const history = await loop.fit(train);
    expect(history.stopReason).toBe('callback');
    expect(history.epochs.length).toBeLessThan(10);
    expect(history.message).toMatch(/early stopping: loss did not improve/);
    loop.dispose();
    cfg.model.dispose();
    train.x.dispose();
  });
});
