/** Keras habits: `restoreBestWeights` in early stopping and a stratified, seeded `validationSplit`. */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/backends/index.js';
import { seededRng } from '../../src/core/rng.js';
import { blobData } from '../helpers/blobs.js';
import type { LabeledData } from '../../src/data/types.js';
import { crossEntropyLoss } from '../../src/losses/index.js';
import { classifier, linearHead, mlpBackbone } from '../../src/models/index.js';
import { trainer, earlyStopping, type Callback, type TrainerConfig } from '../../src/train/index.js';

function blobs(counts: readonly number[], seed: number): LabeledData {
  return blobData(counts, { seed, dim: 4, shift: 2, wrap: false });
}

function config(extra: Partial<TrainerConfig> = {}): TrainerConfig {
  const rng = seededRng(2);
  const model = classifier({
    backbone: mlpBackbone({ inputDim: 4, hiddenSizes: [8], rng: rng.fork('b'), batchNorm: true }),
    head: linearHead({ inputDim: 8, numClasses: 3, rng: rng.fork('h') }),
  });
  return { model, loss: crossEntropyLoss(), seed: 4, epochs: 10, batchSize: 16, progress: 'none', ...extra } as TrainerConfig;
}

const weights = (cfg: TrainerConfig): number[][] => cfg.model.variables.map((v) => Array.from(v.dataSync()));

describe('Keras habits', () => {
  let data: LabeledData;
  beforeAll(async () => {
    await useBackend('cpu');
    data = blobs([60, 20, 8], 1);
  });
  afterAll(() => data.x.dispose());

  it('restoreBestWeights puts back the best epoch’s weights (batch-norm statistics included) when it stops', async () => {
    // The training loss falls every epoch, so with mode 'max' the best epoch is the first one.
    const snapshots: number[][][] = [];
    let cfg: TrainerConfig;
    const record: Callback = { onEpochEnd: () => void snapshots.push(weights(cfg)) };
    cfg = config({ callbacks: [record, earlyStopping({ monitor: 'loss', mode: 'max', patience: 1, restoreBestWeights: true })] });
    const loop = trainer(cfg);
    const before = tf.memory().numTensors;
    const h = await loop.fit(data);
    expect(h.stopReason).toBe('callback');
    // Keras' patience: one epoch without improvement (epoch 1) stops training.
    expect(h.epochs).toHaveLength(2);
    expect(h.message).toBe('early stopping: loss did not improve for 1 epoch');
    expect(weights(cfg)).toEqual(snapshots[0]);
    expect(weights(cfg)).not.toEqual(snapshots[1]);
    expect(tf.memory().numTensors).toBe(before + 2 * cfg.model.trainableVariables.length); // Adam's slots only
    loop.dispose();
    cfg.model.dispose();

    // Without it, the last epoch's weights stay.
    const plain = config({ callbacks: [earlyStopping({ monitor: 'loss', mode: 'max', patience: 1 })] });
    const t2 = trainer(plain);
    await t2.fit(data);
    expect(weights(plain)).not.toEqual(snapshots[0]);
    t2.dispose();
    plain.model.dispose();
    expect(() => earlyStopping({ monitor: 'loss', mode: 'max', restoreBestWeight: true } as never)).toThrow(/did you mean restoreBestWeights\?/);
    expect(() => earlyStopping({ monitor: 'loss', mode: 'max', restore_best_weights: true } as never)).toThrow(/did you mean restoreBestWeights\?/);
    // A monitor that is never logged would silently disable early stopping: refused at the first epoch.
    const typo = config({ callbacks: [earlyStopping({ monitor: 'val_loss', mode: 'min' })] });
    const t3 = trainer(typo);
    await expect(t3.fit(data)).rejects.toThrow(/expected earlyStopping's monitor among the logged metrics epoch, loss, learningRate. Received: monitor="val_loss"/);
    t3.dispose();
    typo.model.dispose();
  });

  it('validationSplit holds out a stratified, seeded part: every class on both sides, the same split every call', async () => {
    const seen: number[] = [];
    const cfg = config({ epochs: 2, callbacks: [{ onTrainBegin: (info) => void seen.push(info.stepsPerEpoch) }] });
    const loop = trainer(cfg);
    const before = tf.memory().numTensors;
    const h = await loop.fit(data, { validationSplit: 0.25 });
    expect(h.epochs[1]?.['valBalancedAccuracy']).toBeGreaterThan(0);
    // 88 rows: 15 + 5 + 2 held out (stratified), 66 train → 5 steps of 16.
    expect(seen).toEqual([Math.ceil(66 / 16)]);
    expect(Array.from(loop.classCounts ?? [])).toEqual([45, 15, 6]);
    expect(tf.memory().numTensors).toBe(before + 2 * cfg.model.trainableVariables.length);
    await expect(loop.fit(data, { validationSplit: 0.25, validation: data })).rejects.toThrow(/one of validation and validationSplit/);
    await expect(loop.fit(data, { validationSplit: 1 })).rejects.toThrow(/validationSplit in \(0, 1\)/);
    loop.dispose();
    cfg.model.dispose();
  });
});
