/**
 * Models outside the trainer: config round trips, weights + JSON export, and the tf.LayersModel form,
 * each checked by comparing eval-mode logits with the original model's.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/backends/index.js';
import { LongTailError } from '../../src/core/errors.js';
import { seededRng } from '../../src/core/rng.js';
import {
  auxiliaryHead,
  cnnBackbone,
  cosineHead,
  classifier,
  exportModel,
  frozenBackbone,
  functionBackbone,
  importModel,
  linearHead,
  loadModel,
  lwsHead,
  mlpBackbone,
  modelFromConfig,
  saveModel,
  tauNormalizedHead,
  toLayersModel,
  type Model,
} from '../../src/models/index.js';

function logitsOf(model: Model, x: tf.Tensor): number[] {
  return tf.tidy(() => Array.from(model.forward(x, 'eval').logits.dataSync()));
}

/** Weights that differ from any fresh initialisation, and moved batch-norm statistics. */
function perturb(model: Model, seed: number): void {
  const rng = seededRng(seed);
  for (const v of model.variables) v.assign(tf.tensor(Float32Array.from({ length: v.size }, () => 0.5 + rng.normal() * 0.3), v.shape));
}

const builders: [string, () => Model, number[]][] = [
  ['mlp + linear', () => classifier({ backbone: mlpBackbone({ inputDim: 5, hiddenSizes: [7, 6], rng: seededRng(1), dropout: 0.3 }), head: linearHead({ inputDim: 6, numClasses: 4, rng: seededRng(2) }) }), [3, 5]],
  ['mlp with batch norm + auxiliary', () => classifier({ backbone: mlpBackbone({ inputDim: 5, hiddenSizes: [6], rng: seededRng(1), batchNorm: true }), head: auxiliaryHead({ head: linearHead({ inputDim: 6, numClasses: 6, rng: seededRng(2) }), numAuxiliaryClasses: 2 }) }), [3, 5]],
  ['head only (identity)', () => classifier({ head: linearHead({ inputDim: 5, numClasses: 3, rng: seededRng(2), bias: false }) }), [3, 5]],
  ['frozen mlp with batch norm + lws', () => classifier({ backbone: frozenBackbone({ backbone: mlpBackbone({ inputDim: 5, hiddenSizes: [6], rng: seededRng(1), batchNorm: true }) }), head: lwsHead({ head: linearHead({ inputDim: 6, numClasses: 4, rng: seededRng(2) }) }) }), [3, 5]],
  ['frozen mlp + tauNormalized (bias kept)', () => classifier({ backbone: frozenBackbone({ backbone: mlpBackbone({ inputDim: 5, hiddenSizes: [6], rng: seededRng(1) }) }), head: tauNormalizedHead({ head: linearHead({ inputDim: 6, numClasses: 4, rng: seededRng(2) }), tau: 0.7, bias: 'keep' }) }), [3, 5]],
  ['cnn + cosine', () => classifier({ backbone: cnnBackbone({ inputShape: [8, 8, 1], channels: [2], rng: seededRng(1), batchNorm: true }), head: cosineHead({ inputDim: 2, numClasses: 3, rng: seededRng(2) }) }), [2, 8, 8, 1]],
];

describe('model export', () => {
  let dir: string;
  beforeAll(async () => {
    await useBackend('cpu');
    dir = mkdtempSync(join(tmpdir(), 'longtail-model-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  for (const [name, build, shape] of builders) {
    it(`${name}: config round trip, exportModel/importModel and saveModel/loadModel give the same logits`, async () => {
      const model = build();
      perturb(model, 3);
      const x = tf.randomNormal(shape, 0, 1, 'float32', 4);
      const expected = logitsOf(model, x);
      const before = tf.memory().numTensors;
      const twin = modelFromConfig({ kind: model.kind, config: model.config as never });
      expect(twin.config).toEqual(model.config);
      expect(twin.variables.map((v) => v.shape)).toEqual(model.variables.map((v) => v.shape));
      twin.dispose();
      const copy = importModel(exportModel(model));
      expect(logitsOf(copy, x)).toEqual(expected);
      copy.dispose();
      await saveModel(model, join(dir, name));
      const loaded = await loadModel(join(dir, name));
      expect(logitsOf(loaded, x)).toEqual(expected);
      loaded.dispose();
      expect(tf.memory().numTensors).toBe(before);
      model.dispose();
      x.dispose();
    });
  }

  it('toLayersModel predicts what the model predicts, and round-trips through tf.io', async () => {
    for (const [name, build, shape] of builders.slice(0, 3)) {
      const model = build();
      perturb(model, 5);
      const x = tf.randomNormal(shape, 0, 1, 'float32', 6);
      const expected = logitsOf(model, x);
      const layers = toLayersModel(model);
      const got = tf.tidy(() => Array.from((layers.predict(x) as tf.Tensor).dataSync()));
      got.forEach((v, i) => expect(v, name).toBeCloseTo(expected[i] as number, 4));
      let saved: tf.io.ModelArtifacts | null = null;
      await layers.save(tf.io.withSaveHandler(async (artifacts) => {
        saved = artifacts;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }));
      const reloaded = await tf.loadLayersModel(tf.io.fromMemory(saved as unknown as tf.io.ModelArtifacts));
      const again = tf.tidy(() => Array.from((reloaded.predict(x) as tf.Tensor).dataSync()));
      expect(again).toEqual(got);
      layers.dispose();
      reloaded.dispose();
      model.dispose();
      x.dispose();
    }
  });

  it('says what cannot be exported and rejects foreign or corrupt artifacts before building anything', async () => {
    const wrapped = classifier({ backbone: functionBackbone({ fn: (x: tf.Tensor) => tf.clone(x) as tf.Tensor2D, outputDim: 4, inputShape: [4] }), head: linearHead({ inputDim: 4, numClasses: 2, rng: seededRng(0) }) });
    const e = (() => {
      try {
        importModel(exportModel(wrapped));
      } catch (err) {
        return err as LongTailError;
      }
      return null;
    })();
    expect(e?.code).toBe('UNKNOWN_KIND');
    expect(e?.message).toMatch(/it wraps your own code/);
    const cos = builders[3]?.[1]() as Model;
    expect(() => toLayersModel(cos)).toThrow(/expected a linear head/);
    cos.dispose();
    const artifact = exportModel(wrapped);
    expect(() => importModel({ ...artifact, format: 'x' as 'longtail-model' })).toThrow(/longtail-model version 1/);
    const mlp = builders[0]?.[1]() as Model;
    const art = exportModel(mlp);
    const before = tf.memory().numTensors;
    expect(() => importModel({ ...art, weights: art.weights.slice(1) })).toThrow(/weight arrays for this architecture/);
    expect(tf.memory().numTensors).toBe(before);
    await saveModel(mlp, join(dir, 'cut'));
    const bin = await readFile(join(dir, 'cut', 'weights.bin'));
    writeFileSync(join(dir, 'cut', 'weights.bin'), bin.subarray(0, 10));
    await expect(loadModel(join(dir, 'cut'))).rejects.toThrow(/CRC-32/);
    const flipped = Uint8Array.from(bin, (b, i) => (i === 5 ? b ^ 0x40 : b));
    writeFileSync(join(dir, 'cut', 'weights.bin'), flipped);
    await expect(loadModel(join(dir, 'cut'))).rejects.toMatchObject({ code: 'INVALID_DATA' });
    mlp.dispose();
    wrapped.dispose();
  });
});
