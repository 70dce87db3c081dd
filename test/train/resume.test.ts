/**
 * Abort and resume at any point: an abort is honoured within one step whatever the epoch size, and a run
 * aborted mid-epoch, continued in the same process or through save → new trainer → load, ends
 * bit-identical to the uninterrupted run (plain trainer with dropout, augmentation and synthesis, and the
 * ltls recipe).
 */
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/backends/index.js';
import { seededRng } from '../../src/core/rng.js';
import { blobData } from '../helpers/blobs.js';
import type { LabeledData } from '../../src/data/types.js';
import { crossEntropyLoss } from '../../src/losses/index.js';
import { classifier, linearHead, mlpBackbone } from '../../src/models/index.js';
import { ltls } from '../../src/recipes/index.js';
import { ClassGaussian } from '../../src/synth/index.js';
import { backendsUnderTest } from '../../src/testing/index.js';
import { trainer, type Callback, type TrainerConfig } from '../../src/train/index.js';

function blobs(counts: readonly number[], seed: number): LabeledData {
  return blobData(counts, { seed, dim: 8, shift: 2.5, wrap: true });
}

function mlp(seed: number) {
  const rng = seededRng(seed);
  return classifier({
    backbone: mlpBackbone({ inputDim: 8, hiddenSizes: [16], rng: rng.fork('backbone'), dropout: 0.2 }),
    head: linearHead({ inputDim: 16, numClasses: 4, rng: rng.fork('head') }),
  });
}

/** Dropout, an augmentation that draws normals (so the Box–Muller spare matters) and a synthetic pool. */
function config(extra: Record<string, unknown> = {}): TrainerConfig {
  const model = mlp(1);
  return {
    model,
    loss: crossEntropyLoss(),
    seed: 11,
    epochs: 3,
    batchSize: 32,
    optimizer: { kind: 'adam', learningRate: 0.01, weightDecay: 5e-4 },
    progress: 'none',
    augment: ({ x, rng }) => ({ x: tf.add(x, tf.mul(tf.scalar(rng.normal()), 0.05)) }),
    synthesis: { synthesizer: new ClassGaussian({ numClasses: 4 }), startEpoch: 1 },
    ...extra,
  } as TrainerConfig;
}

function weights(cfg: TrainerConfig): number[][] {
  return cfg.model.variables.map((v) => Array.from(v.dataSync()));
}

function disposeRun(cfg: TrainerConfig, loop: { dispose(): void }): void {
  loop.dispose();
  cfg.model.dispose();
  cfg.synthesis?.synthesizer.dispose?.();
}

/** Aborts right after global step `at` (from a batch callback, so the abort lands between two steps). */
function abortAfter(at: number, controller: AbortController): Callback {
  return { onBatchEnd: (step) => (step === at ? controller.abort() : undefined) };
}

for (const backend of backendsUnderTest()) {
  describe(`abort and resume on ${backend}`, () => {
    let train: LabeledData;
    let straight: { weights: number[][]; losses: number[]; steps: number };
    let dir: string;

    beforeAll(async () => {
      await useBackend(backend);
      train = blobs([120, 40, 20, 10], 3); // 190 samples: 6 batches per epoch before synthesis
      dir = mkdtempSync(join(tmpdir(), 'longtail-resume-'));
      const cfg = config();
      const loop = trainer(cfg);
      const h = await loop.fit(train);
      straight = { weights: weights(cfg), losses: h.epochs.map((l) => l['loss'] as number), steps: loop.globalStep };
      disposeRun(cfg, loop);
    });

    afterAll(() => {
      train.x.dispose();
      rmSync(dir, { recursive: true, force: true });
    });

    it('honours an abort within one step on an epoch of 6 batches (no yield only every 8 steps)', async () => {
      const cfg = config({ epochs: 400, synthesis: undefined });
      const loop = trainer(cfg);
      const started = Date.now();
      const h = await loop.fit(train, { signal: AbortSignal.timeout(250) });
      expect(h.stopReason).toBe('aborted');
      expect(h.epochs.length).toBeLessThan(400);
      expect(Date.now() - started).toBeLessThan(20_000);
      // An abort from a callback lands before the very next step.
      const controller = new AbortController();
      const cfg2 = config({ epochs: 2, synthesis: undefined, callbacks: [abortAfter(2, controller)] });
      const t2 = trainer(cfg2);
      const h2 = await t2.fit(train, { signal: controller.signal });
      expect(h2.stopReason).toBe('aborted');
      expect(t2.globalStep).toBe(3);
      expect(t2.epoch).toBe(0);
      disposeRun(cfg, loop);
      disposeRun(cfg2, t2);
    });

    for (const at of [2, 6, 9, 17]) {
      it(`aborted after step ${at}: fit again in the same process ends bit-identical`, async () => {
        const before = tf.memory().numTensors;
        const controller = new AbortController();
        const cfg = config({ callbacks: [abortAfter(at, controller)] });
        const loop = trainer(cfg);
        const h1 = await loop.fit(train, { signal: controller.signal });
        expect(h1.stopReason).toBe('aborted');
        expect(loop.globalStep).toBe(at + 1);
        const h2 = await loop.fit(train);
        expect(h2.stopReason).toBe('completed');
        expect(loop.globalStep).toBe(straight.steps);
        expect(h2.epochs.map((l) => l['loss'])).toEqual(straight.losses);
        expect(weights(cfg)).toEqual(straight.weights);
        disposeRun(cfg, loop);
        expect(tf.memory().numTensors).toBe(before);
      });
    }

    for (const at of [3, 10]) {
      it(`aborted after step ${at}: save, a new trainer, load and fit end bit-identical`, async () => {
        const controller = new AbortController();
        const cfg = config({ callbacks: [abortAfter(at, controller)] });
        const loop = trainer(cfg);
        await loop.fit(train, { signal: controller.signal });
        const path = join(dir, `at-${backend}-${at}`);
        await loop.save(path);
        disposeRun(cfg, loop);

        const cfg2 = config({ model: mlp(99) }); // other initial weights: load must overwrite them
        const resumed = trainer(cfg2);
        await resumed.load(path);
        expect(resumed.globalStep).toBe(at + 1);
        const h = await resumed.fit(train);
        expect(h.epochs.map((l) => l['loss'])).toEqual(straight.losses);
        expect(weights(cfg2)).toEqual(straight.weights);
        disposeRun(cfg2, resumed);
      });
    }

    it('a completed trainer refuses to fit again with a clear error, not a silent no-op', async () => {
      const cfg = config({ epochs: 1, synthesis: undefined });
      const loop = trainer(cfg);
      await loop.fit(train);
      await expect(loop.fit(train)).rejects.toThrow(/expected a trainer with epochs left to run. Received: epoch=1 of epochs=1/);
      disposeRun(cfg, loop);
    });

    it('the ltls recipe resumes bit-identically after a mid-epoch abort (same process and through a checkpoint)', async () => {
      const opts = { seed: 3, numClasses: 4, featureDim: 8, epochs: 3, batchSize: 32, progress: 'none' as const };
      const full = ltls(opts);
      await full.fit(train);
      const expected = full.model.variables.map((v) => Array.from(v.dataSync()));
      full.dispose();

      const controller = new AbortController();
      const run = ltls(opts);
      // The recipe builds its trainer's callbacks itself; abort by watching the step count instead (the
      // trainer yields to the event loop after every step, so the abort lands mid-epoch).
      const poll = setInterval(() => (run.trainer.globalStep >= 8 ? controller.abort() : undefined), 0);
      const h1 = await run.fit(train, { signal: controller.signal });
      clearInterval(poll);
      expect(h1.stopReason).toBe('aborted');
      const path = join(dir, `ltls-${backend}`);
      await run.trainer.save(path);
      await run.fit(train);
      expect(run.model.variables.map((v) => Array.from(v.dataSync()))).toEqual(expected);
      run.dispose();

      const again = ltls(opts);
      await again.trainer.load(path);
      await again.fit(train);
      expect(again.model.variables.map((v) => Array.from(v.dataSync()))).toEqual(expected);
      again.dispose();
    });
  });
}
