/**
 * The recipe config round trip: recipeFromConfig(run.config) rebuilds a run whose fit on the same data
 * gives the same history numbers, for each of the five recipes; configs that cannot be rebuilt throw
 * before any tensor is made; nothing leaks.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LongTailError } from '../../src/core/errors.js';
import { seededRng } from '../../src/core/rng.js';
import type { LabeledData } from '../../src/data/types.js';
import { mlpBackbone } from '../../src/models/backbones.js';
import { recipeFromConfig } from '../../src/recipes/config.js';
import { decoupled, granularity, ltls, sau, synLt } from '../../src/recipes/index.js';
import type { RecipeRun } from '../../src/recipes/types.js';
import type { History } from '../../src/train/trainer.js';
import { blobData } from '../helpers/blobs.js';

let train: LabeledData;
let auxiliary: LabeledData;

beforeAll(() => {
  train = blobData([60, 20, 8], { seed: 1, dim: 4, shift: 3, wrap: true });
  auxiliary = blobData([10, 10], { seed: 2, dim: 4, shift: 2, wrap: true });
});

afterAll(() => {
  train.x.dispose();
  auxiliary.x.dispose();
});

const quiet = { progress: 'none' } as const;

/** Fits `make()`'s run, rebuilds it from its config (through JSON), fits again; both histories must match. */
async function roundTrip(make: () => RecipeRun, overrides: Record<string, unknown> = {}): Promise<{ first: History; second: History }> {
  const before = tf.memory().numTensors;
  const run = make();
  const first = await run.fit(train);
  const config = JSON.parse(JSON.stringify(run.config)) as Record<string, unknown>;
  run.dispose();
  const again = recipeFromConfig(config, { ...quiet, ...overrides });
  expect(JSON.parse(JSON.stringify(again.config))).toEqual(config);
  const second = await again.fit(train);
  again.dispose();
  expect(tf.memory().numTensors).toBe(before);
  expect(first.epochs.length).toBeGreaterThan(0);
  expect(second.epochs).toEqual(first.epochs);
  expect(second.manifest?.recipe).toEqual(first.manifest?.recipe);
  return { first, second };
}

describe('recipeFromConfig: the same run from run.config', () => {
  it('ltls', async () => {
    await roundTrip(() => ltls({ seed: 3, numClasses: 3, featureDim: 4, epochs: 2, batchSize: 32, ...quiet }));
  });

  it('decoupled (LWS, a user MLP backbone rebuilt from its config)', async () => {
    const { first } = await roundTrip(() =>
      decoupled({ seed: 4, numClasses: 3, method: 'lws', backbone: mlpBackbone({ inputDim: 4, hiddenSizes: [6], rng: seededRng(0) }), epochs: 1, batchSize: 32, stage2: { epochs: 1 }, ...quiet }),
    );
    expect(first.epochs.map((l) => l['stage'])).toEqual([1, 2]);
  });

  it('granularity (neighbours picked after a one-epoch warm-up)', async () => {
    await roundTrip(() => granularity({ seed: 5, numClasses: 3, auxiliary, hiddenSizes: [6], epochs: 2, batchSize: 32, neighborSelection: { warmupEpochs: 1 }, ...quiet }), { auxiliary });
  });

  it('synLt', async () => {
    await roundTrip(() => synLt({ seed: 6, numClasses: 3, inputDim: 4, hiddenSizes: [6], epochs: 2, synthesisStart: 1, batchSize: 32, matching: { steps: 1, sinkhornIterations: 5 }, ...quiet }));
  });

  it('sau (a synthesizer spec)', async () => {
    await roundTrip(() =>
      sau({
        seed: 7,
        numClasses: 3,
        inputShape: [4],
        imageShape: [2, 2, 1],
        synthesizer: { kind: 'latentSmote', config: { k: 2 } },
        augmentation: 'none',
        hiddenSizes: [6],
        projectionHiddenSizes: [6],
        projectionDim: 4,
        epochs: 1,
        batchSize: 32,
        ...quiet,
      }),
    );
  });
});

describe('recipeFromConfig: configs that cannot be rebuilt', () => {
  it('names what must come back through overrides (MISSING_INPUT), an unknown kind, an unknown key', () => {
    const before = tf.memory().numTensors;
    const run = granularity({ seed: 0, numClasses: 3, auxiliary, hiddenSizes: [4], epochs: 2, neighborSelection: { warmupEpochs: 1 }, ...quiet });
    const config = run.config;
    run.dispose();
    expect(config['external']).toEqual(['auxiliary']);
    const missing = (): unknown => recipeFromConfig(config);
    expect(missing).toThrow(LongTailError);
    expect(missing).toThrow(/expected overrides\.auxiliary .*Received: overrides\.auxiliary=undefined/);
    try {
      missing();
    } catch (e) {
      expect((e as LongTailError).code).toBe('MISSING_INPUT');
    }
    expect(() => recipeFromConfig({ ...config, kind: 'ltl' }, { auxiliary })).toThrow(/expected a recipe kind, one of .*Received: kind="ltl"/);
    const typo = (): unknown => recipeFromConfig({ ...config, tua: 1 }, { auxiliary });
    expect(typo).toThrow(/did you mean tau\?/);
    expect(() => recipeFromConfig({ ...config, epochs: 0 }, { auxiliary })).toThrow(/epochs/);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a user synthesizer instance, synthetic data and a wrapped backbone are external', () => {
    const run = ltls({ seed: 0, numClasses: 3, featureDim: 4, encoder: (x) => tf.reshape(x, [-1, 4]) as tf.Tensor2D, ...quiet });
    expect(run.config['external']).toEqual(['encoder']);
    expect(() => recipeFromConfig(run.config)).toThrow(/expected overrides\.encoder/);
    run.dispose();
  });

  it('a backbone spec that cannot be rebuilt frees nothing it did not build', () => {
    const before = tf.memory().numTensors;
    expect(() => recipeFromConfig({ kind: 'synLt', seed: 0, numClasses: 2, backbone: { kind: 'mlp', config: { inputDim: 2, hiddenSizes: [2] } }, epochz: 1 })).toThrow(/did you mean epochs\?/);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('replayManifest on a recipe manifest', () => {
  it('rebuilds the recipe from manifest.recipe, reproduces every stage, and reports a changed config', async () => {
    const { replayManifest } = await import('../../src/train/replay.js');
    const before = tf.memory().numTensors;
    const run = decoupled({ seed: 8, numClasses: 3, inputDim: 4, hiddenSizes: [6], method: 'cRT', epochs: 1, batchSize: 32, stage2: { epochs: 1 }, ...quiet });
    const history = await run.fit(train);
    run.dispose();
    const manifest = history.manifest;
    if (manifest === undefined) throw new Error('no manifest');
    expect(manifest.recipe?.kind).toBe('decoupled');
    expect(manifest.history).toEqual(history.epochs);
    const same = await replayManifest(manifest, { data: train });
    expect(same.differences).toEqual([]);
    expect(same.reproduced).toBe(true);
    const recipe = manifest.recipe as NonNullable<typeof manifest.recipe>;
    const changed = { ...manifest, recipe: { ...recipe, config: { ...recipe.config, seed: 9 } } };
    const other = await replayManifest(changed, { data: train });
    expect(other.reproduced).toBe(false);
    expect(other.differences.some((d) => d.startsWith('epoch 0 loss'))).toBe(true);
    await expect(replayManifest(manifest, { data: train, model: run.model })).rejects.toThrow(/no model for a recipe's manifest/);
    expect(tf.memory().numTensors).toBe(before);
  });
});
