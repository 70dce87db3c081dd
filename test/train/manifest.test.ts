/** Run manifests: every fit says what produced its numbers, save writes it, and a replay reproduces them. */
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync as readPkg } from 'node:fs';
import { useBackend } from '../../src/backends/index.js';
import { seededRng } from '../../src/core/rng.js';
import type { LabeledData } from '../../src/data/types.js';
import { classWeighted, ldamLoss } from '../../src/losses/index.js';
import { classifier, identityBackbone, linearHead, mlpBackbone } from '../../src/models/index.js';
import { ClassGaussian } from '../../src/synth/index.js';
import { LIBRARY_VERSION, trainer, replayManifest, trainerFromConfig, type RunManifest } from '../../src/train/index.js';

function model(seed: number) {
  const rng = seededRng(seed);
  return classifier({
    backbone: mlpBackbone({ inputDim: 4, hiddenSizes: [6], rng: rng.fork('b'), dropout: 0.1 }),
    head: linearHead({ inputDim: 6, numClasses: 3, rng: rng.fork('h') }),
  });
}

describe('run manifests', () => {
  let data: LabeledData;
  let dir: string;
  beforeAll(async () => {
    await useBackend('cpu');
    const rng = seededRng(3);
    data = { x: tf.tensor2d(Array.from({ length: 60 * 4 }, () => rng.normal()), [60, 4]), y: Int32Array.from({ length: 60 }, (_, i) => (i < 40 ? 0 : i < 52 ? 1 : 2)) };
    dir = mkdtempSync(join(tmpdir(), 'longtail-manifest-'));
  });
  afterAll(() => {
    data.x.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  const build = () => {
    const m = model(1);
    const loss = ldamLoss({ reducer: classWeighted({ beta: 0.99, startEpoch: 1 }) });
    const loop = trainer({
      model: m,
      loss,
      seed: 9,
      epochs: 3,
      batchSize: 8,
      sampler: { kind: 'classBalanced' },
      learningRate: { kind: 'cosine' },
      synthesis: { synthesizer: new ClassGaussian({ numClasses: 3 }), startEpoch: 1 },
      progress: 'none',
    });
    return { m, trainer: loop };
  };

  it('fit returns a manifest (versions, backend, seed, data, config) and save writes it beside the checkpoint', async () => {
    const { m, trainer: loop } = build();
    const h = await loop.fit(data);
    const manifest = h.manifest as RunManifest;
    expect(manifest.format).toBe('longtail-run-manifest');
    expect(manifest.library.version).toBe(JSON.parse(readPkg('package.json', 'utf8')).version);
    expect(LIBRARY_VERSION).toBe(manifest.library.version);
    expect(manifest.tfjs).toBe(tf.version_core);
    expect(manifest.backend['backend']).toBe('cpu');
    expect(manifest.seed).toBe(9);
    expect(manifest.classCounts).toEqual([40, 12, 8]);
    expect(manifest.data.rows).toBe(60);
    expect(manifest.notReplayable).toEqual([]);
    expect((manifest.config['loss'] as { kind: string }).kind).toBe('ldam');
    expect((manifest.config['sampler'] as { kind: string }).kind).toBe('classBalanced');
    expect(manifest.history).toEqual(h.epochs);
    expect(JSON.parse(JSON.stringify(manifest))).toEqual(manifest);
    await loop.save(join(dir, 'run'));
    expect(JSON.parse(readFileSync(join(dir, 'run', 'manifest.json'), 'utf8'))).toEqual(manifest);
    loop.dispose();
    m.dispose();
  });

  it('replayManifest reproduces every logged number; another model or other data is refused', async () => {
    const { m, trainer: loop } = build();
    const h = await loop.fit(data);
    loop.dispose();
    m.dispose();
    const manifest = h.manifest as RunManifest;
    const fresh = model(1);
    const before = tf.memory().numTensors;
    const again = await replayManifest(manifest, { model: fresh, data });
    expect(again.differences).toEqual([]);
    expect(again.reproduced).toBe(true);
    expect(tf.memory().numTensors).toBe(before); // the replay's trainer and synthesizer are freed
    fresh.dispose();
    const other = model(2);
    await expect(replayManifest(manifest, { model: other, data })).rejects.toThrow(/initial weights/);
    other.dispose();
    const shifted = { x: tf.add(data.x, 1) as tf.Tensor2D, y: data.y };
    const third = model(1);
    await expect(replayManifest(manifest, { model: third, data: shifted })).rejects.toThrow(/the run's data/);
    third.dispose();
    shifted.x.dispose();
    const tampered: RunManifest = { ...manifest, history: manifest.history.map((l, e) => (e === 2 ? { ...l, loss: (l['loss'] as number) + 1e-6 } : l)) };
    const fourth = model(1);
    const r = await replayManifest(tampered, { model: fourth, data });
    expect(r.reproduced).toBe(false);
    expect(r.differences).toEqual([expect.stringMatching(/^epoch 2 loss: /)]);
    fourth.dispose();
  });

  it('trainerFromConfig rebuilds the trainer from its JSON config: same numbers; functions and foreign models are refused', async () => {
    const { m, trainer } = build();
    const h = await trainer.fit(data);
    trainer.dispose();
    m.dispose();
    const config = JSON.parse(JSON.stringify((h.manifest as RunManifest).config));
    const fresh = model(1);
    const before = tf.memory().numTensors;
    const again = trainerFromConfig(config, { model: fresh, progress: 'none' });
    const h2 = await again.fit(data);
    expect(h2.epochs).toEqual(h.epochs);
    again.dispose(); // frees the synthesizer it rebuilt too
    expect(tf.memory().numTensors).toBe(before);
    fresh.dispose();
    const other = classifier({ backbone: identityBackbone({ inputDim: 8 }), head: linearHead({ inputDim: 8, numClasses: 4, rng: seededRng(1) }) });
    expect(() => trainerFromConfig(config, { model: other })).toThrow(/a model of the config's architecture/);
    expect(() => trainerFromConfig({ ...config, learningRate: { kind: 'function' } }, { model: other })).toThrow(/architecture|function/);
    expect(() => trainerFromConfig({ ...config, epoch: 3 }, { model: other })).toThrow(/epoch \(did you mean epochs\?\)/);
    other.dispose();
  });

  it('checkpoints saved during fit carry the manifest so far', async () => {
    const m = model(1);
    const path = join(dir, 'during');
    let seen: RunManifest | null = null;
    const loop = trainer({
      model: m,
      loss: ldamLoss(),
      seed: 1,
      epochs: 3,
      batchSize: 8,
      progress: 'none',
      checkpoint: { path, every: 1 },
      callbacks: [{ onEpochBegin: (e: number) => void (e === 2 ? (seen = JSON.parse(readFileSync(join(path, 'manifest.json'), 'utf8')) as RunManifest) : undefined) }],
    });
    const h = await loop.fit(data);
    expect((seen as RunManifest | null)?.stopReason).toBe('running');
    expect((seen as RunManifest | null)?.history).toEqual(h.epochs.slice(0, 2));
    expect(JSON.parse(readFileSync(join(path, 'manifest.json'), 'utf8'))).toEqual(h.manifest);
    loop.dispose();
    m.dispose();
  });

  it('says what cannot be replayed (functions in the config)', async () => {
    const m = model(1);
    const loop = trainer({ model: m, loss: ldamLoss(), seed: 1, epochs: 1, batchSize: 8, learningRate: () => 1e-3, augment: ({ x }) => ({ x: tf.clone(x) }), progress: 'none' });
    const h = await loop.fit(data);
    expect(h.manifest?.notReplayable).toEqual(['augment (a function)', 'learningRate (a function)']);
    const fresh = model(1);
    await expect(replayManifest(h.manifest as RunManifest, { model: fresh, data })).rejects.toThrow(/without functions in its config/);
    fresh.dispose();
    loop.dispose();
    m.dispose();
  });
});

describe('recipe manifests', () => {
  it('a recipe’s history names the recipe and its resolved options in the manifest', async () => {
    await useBackend('cpu');
    const { ltls } = await import('../../src/recipes/index.js');
    const rng = seededRng(5);
    const data = { x: tf.tensor2d(Array.from({ length: 30 * 4 }, () => rng.normal()), [30, 4]), y: Int32Array.from({ length: 30 }, (_, i) => (i < 20 ? 0 : 1)) };
    const run = ltls({ seed: 2, numClasses: 2, featureDim: 4, epochs: 1, batchSize: 8, progress: 'none' });
    const h = await run.fit(data);
    expect(h.manifest?.recipe?.kind).toBe('ltls');
    expect(h.manifest?.recipe?.config).toEqual(JSON.parse(JSON.stringify(run.config)));
    expect(h.manifest?.seed).toBe(2);
    run.dispose();
    data.x.dispose();
  });
});
