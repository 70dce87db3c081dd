/**
 * The trainer's guards and its one loss path: gradients checked as well as the loss, labels checked the
 * same in `step` and `fit`, no batch of one through batch norm, validation checked up front, nothing
 * leaked by a failing step, unknown options rejected, and the epoch's step count including synthesis.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/backends/index.js';
import { rejection, thrown } from '../helpers/errors.js';
import { seededRng } from '../../src/core/rng.js';
import { blobData } from '../helpers/blobs.js';
import type { LabeledData } from '../../src/data/types.js';
import { classWeighted, crossEntropyLoss, defineLoss, ldamLoss, sumLosses, type Loss } from '../../src/losses/index.js';
import { classifier, linearHead, mlpBackbone } from '../../src/models/index.js';
import { ClassGaussian } from '../../src/synth/index.js';
import { trainer, type Callback, type TrainerConfig } from '../../src/train/index.js';

const COUNTS = [60, 20, 8, 3];

function dataOf(counts: readonly number[], seed: number): LabeledData {
  return blobData(counts, { seed, dim: 6, shift: 2, wrap: false });
}

function model(options: { batchNorm?: boolean; seed?: number } = {}) {
  const rng = seededRng(options.seed ?? 1);
  return classifier({
    backbone: mlpBackbone({ inputDim: 6, hiddenSizes: [8], rng: rng.fork('b'), batchNorm: options.batchNorm ?? false }),
    head: linearHead({ inputDim: 8, numClasses: 4, rng: rng.fork('h') }),
  });
}

function config(extra: Partial<TrainerConfig> & { loss?: Loss } = {}): TrainerConfig {
  return { model: model(), seed: 3, epochs: 2, batchSize: 16, progress: 'none', ...extra, loss: extra.loss ?? crossEntropyLoss() } as TrainerConfig;
}



function weights(cfg: TrainerConfig): number[][] {
  return cfg.model.variables.map((v) => Array.from(v.dataSync()));
}

describe('trainer guards and the one loss path', () => {
  let train: LabeledData;
  beforeAll(async () => {
    await useBackend('cpu');
    train = dataOf(COUNTS, 1); // 91 samples: at batch 45 the last batch holds one sample
  });
  afterAll(() => train.x.dispose());

  it('trainer.step reports what loss.compute gives on the same batch; before fit, with the loss’s own counts', () => {
    const loss = ldamLoss({ classCounts: COUNTS, reducer: classWeighted({ beta: 0.999 }) });
    const cfg = config({ loss, optimizer: { kind: 'sgd', learningRate: 1e-9 } });
    const loop = trainer(cfg);
    const x = tf.slice(train.x, 0, 32);
    const labels = train.y.subarray(0, 32);
    const logits = cfg.model.forward(x, 'train').logits;
    const expected = loss.compute({ logits, labels: tf.tensor1d(labels, 'int32') });
    const value = expected.dataSync()[0] as number;
    const step = loop.step(x, labels);
    expect(step.loss).toBeCloseTo(value, 5);
    tf.dispose([x, logits, expected]);
    loop.dispose();
    cfg.model.dispose();
  });

  it('a loss and sumLosses([{ loss }]) train to the same history', async () => {
    const run = async (loss: Loss) => {
      const cfg = config({ loss });
      const loop = trainer(cfg);
      const h = await loop.fit(train);
      loop.dispose();
      cfg.model.dispose();
      return h.epochs.map((l) => l['loss']);
    };
    const plain = ldamLoss({ reducer: classWeighted({ beta: 0.999 }), classCounts: COUNTS });
    expect(await run(sumLosses([{ loss: plain }]))).toEqual(await run(plain));
  });

  it('a finite loss with a NaN gradient never reaches the weights; NON_FINITE names the variable', () => {
    // sqrt(0·z): value 0, gradient 0.5/sqrt(0)·0 = NaN.
    const nanGrad = defineLoss({
      kind: 'nanGrad',
      config: {},
      requires: ['logits'],
      terms: ({ logits }) => ({ l: { kind: 'perSample', values: tf.sum(tf.sqrt(tf.mul(logits, 0)), 1) as tf.Tensor1D } }),
    });
    const cfg = config({ loss: nanGrad, model: model({ batchNorm: true }) });
    const loop = trainer(cfg);
    const before = weights(cfg);
    const numTensors = tf.memory().numTensors;
    const x = tf.slice(train.x, 0, 8);
    const e = thrown(() => loop.step(x, train.y.subarray(0, 8)));
    expect(e.code).toBe('NON_FINITE');
    expect(e.message).toMatch(/^expected a finite loss and gradients. Received: a non-finite gradient of variable 0 \(.*, shape \[6, 8\]\) with loss=0 at epoch 0 step 0; weights were not updated$/);
    expect(weights(cfg)).toEqual(before); // batch-norm statistics included
    expect(loop.globalStep).toBe(0);
    x.dispose();
    expect(tf.memory().numTensors).toBe(numTensors);
    loop.dispose();
    cfg.model.dispose();
  });

  it('step checks labels exactly as fit does: no truncated floats', () => {
    const cfg = config();
    const loop = trainer(cfg);
    const x = tf.slice(train.x, 0, 2);
    expect(thrown(() => loop.step(x, [0.7, 1.2])).code).toBe('LABEL_OUT_OF_RANGE');
    const floats = tf.tensor1d([0, 1]);
    expect(thrown(() => loop.step(x, floats as tf.Tensor1D)).code).toBe('DTYPE_MISMATCH');
    expect(thrown(() => loop.step(x, [0, 4])).message).toBe('expected labels in [0, 4). Received: labels[1]=4');
    expect(thrown(() => loop.step(x, [0])).code).toBe('SHAPE_MISMATCH');
    expect(loop.step(x, [0, 1]).loss).toBeGreaterThan(0);
    tf.dispose([x, floats]);
    loop.dispose();
    cfg.model.dispose();
  });

  it('a last batch of one sample never reaches batch norm (dropLast auto); "none" trains it as drawn', async () => {
    const cfg = config({ model: model({ batchNorm: true }), batchSize: 45 });
    const loop = trainer(cfg);
    const h = await loop.fit(train);
    expect(h.stopReason).toBe('completed');
    expect(loop.globalStep).toBe(4); // 2 epochs × (45, 45; the batch of one is left out)
    loop.dispose();
    cfg.model.dispose();
    const asDrawn = config({ model: model({ batchNorm: true }), batchSize: 45, dropLast: 'none' });
    const t2 = trainer(asDrawn);
    const e = await rejection(t2.fit(train));
    expect(e.message).toMatch(/more than 1 value per channel for batch norm/);
    t2.dispose();
    asDrawn.model.dispose();
  });

  it('with synthesis and batch norm, a batch whose real part is one sample trains on its synthetic part', async () => {
    const make = (dropLast: 'auto' | 'none') =>
      config({
        model: model({ batchNorm: true }),
        batchSize: 4,
        epochs: 2,
        dropLast,
        synthesis: { synthesizer: new ClassGaussian({ numClasses: 4 }) },
      });
    // As drawn, such a batch reaches batch norm and fails: the situation does arise with these settings.
    const asDrawn = make('none');
    const t1 = trainer(asDrawn);
    expect((await rejection(t1.fit(train))).message).toMatch(/more than 1 value per channel for batch norm/);
    t1.dispose();
    asDrawn.model.dispose();
    asDrawn.synthesis?.synthesizer.dispose?.();
    const cfg = make('auto');
    const loop = trainer(cfg);
    const h = await loop.fit(train);
    expect(h.stopReason).toBe('completed');
    loop.dispose();
    cfg.model.dispose();
    cfg.synthesis?.synthesizer.dispose?.();
  });

  it('validation data are checked when fit starts, before any training', async () => {
    const cfg = config();
    const loop = trainer(cfg);
    const before = weights(cfg);
    const wide = { x: tf.zeros([4, 7]), y: Int32Array.from([0, 1, 2, 3]) };
    const e = await rejection(loop.fit(train, { validation: wide }));
    expect(e.code).toBe('SHAPE_MISMATCH');
    expect(e.message).toBe('expected validation.x rows of shape [6] (the training rows). Received: validation.x.shape=[4, 7]');
    expect(weights(cfg)).toEqual(before);
    expect(loop.globalStep).toBe(0);
    wide.x.dispose();
    loop.dispose();
    cfg.model.dispose();
  });

  it('an error anywhere inside a step leaks no tensor: loss, augment, objective, synthesizer', async () => {
    const boom = (): never => {
      throw new Error('boom');
    };
    const throwingLoss = defineLoss({
      kind: 'throwsAfterOps',
      config: {},
      requires: ['logits'],
      terms: ({ logits }) => {
        tf.softmax(tf.mul(logits, 2));
        return boom();
      },
    });
    const brokenSynth = (): ClassGaussian => {
      const inner = new ClassGaussian({ numClasses: 4 });
      return Object.assign(inner, { sample: boom });
    };
    const cases: [string, () => Record<string, unknown>][] = [
      ['loss', () => ({ loss: throwingLoss })],
      ['augment', () => ({ augment: ({ x }: { x: tf.Tensor }) => (tf.mul(x, 2), boom()) })],
      ['objective', () => ({ loss: undefined, objective: ({ model, x }: { model: TrainerConfig['model']; x: tf.Tensor | null }) => (model.forward(x as tf.Tensor, 'train'), boom()) }) as Partial<TrainerConfig>],
      ['synthesizer', () => ({ synthesis: { synthesizer: brokenSynth() } })],
    ];
    for (const [name, extra] of cases) {
      const baseline = tf.memory().numTensors;
      const cfg = { ...config(), ...extra() } as TrainerConfig;
      const loop = trainer(cfg);
      const x = tf.slice(train.x, 0, 8);
      // step() trains on the batch it is given: no augmentation, no synthesis.
      if (name === 'loss' || name === 'objective') expect(() => loop.step(x, train.y.subarray(0, 8)), name).toThrow('boom');
      x.dispose();
      await expect(loop.fit(train), name).rejects.toThrow('boom');
      loop.dispose();
      cfg.model.dispose();
      cfg.synthesis?.synthesizer.dispose?.();
      expect(tf.memory().numTensors, name).toBe(baseline);
    }
  });

  it('rejects unknown option keys with the nearest valid one', async () => {
    const cfg = config();
    const e = thrown(() => trainer({ ...cfg, epoch: 1 } as unknown as TrainerConfig));
    expect(e.code).toBe('UNKNOWN_OPTION');
    expect(e.message).toMatch(/^expected trainer config to be among .*\. Received: epoch \(did you mean epochs\?\)$/);
    expect(thrown(() => trainer({ ...cfg, checkpoint: { path: 'x', evry: 2 } } as unknown as TrainerConfig)).message).toMatch(/did you mean every\?/);
    const loop = trainer(cfg);
    const f = await rejection(loop.fit(train, { validaton: train } as unknown as { validation: LabeledData }));
    expect(f.message).toMatch(/Received: validaton \(did you mean validation\?\)/);
    expect(thrown(() => loop.predict(train.x, { batchsize: 3 } as unknown as { batchSize: number })).message).toMatch(/did you mean batchSize\?/);
    loop.dispose();
    cfg.model.dispose();
  });

  it('announces steps per epoch including the synthetic pool', async () => {
    const announced: number[] = [];
    let ran = 0;
    const cb: Callback = {
      onTrainBegin: (info) => void announced.push(info.stepsPerEpoch),
      onBatchEnd: () => void ran++,
    };
    const cfg = config({ epochs: 1, batchSize: 16, callbacks: [cb], synthesis: { synthesizer: new ClassGaussian({ numClasses: 4 }) } });
    const loop = trainer(cfg);
    await loop.fit(train);
    expect(announced).toEqual([Math.ceil((60 * 4) / 16)]);
    expect(ran).toBe(announced[0]);
    loop.dispose();
    cfg.model.dispose();
    cfg.synthesis?.synthesizer.dispose?.();
  });
});

describe('what a newcomer gets wrong', () => {
  let train: LabeledData;
  beforeAll(async () => {
    await useBackend('cpu');
    train = dataOf(COUNTS, 2);
  });
  afterAll(() => train.x.dispose());

  it('two fits at once, data disposed mid-fit, a loss given by name, callbacks not in an array, a misspelled hook', async () => {
    const cfg = config({ epochs: 2 });
    const loop = trainer(cfg);
    const first = loop.fit(train);
    await expect(loop.fit(train)).rejects.toThrow(/expected one fit at a time on a trainer/);
    await first;
    expect(loop.globalStep).toBe(2 * Math.ceil(91 / 16));
    loop.dispose();
    const copy = { x: tf.clone(train.x), y: train.y };
    const t2 = trainer(config({ epochs: 3, callbacks: [{ onBatchEnd: (s: number) => void (s === 2 ? copy.x.dispose() : undefined) }] }));
    await expect(t2.fit(copy)).rejects.toMatchObject({ code: 'DISPOSED' });
    t2.dispose();
    const base = { model: cfg.model, seed: 1, epochs: 1, batchSize: 8 };
    expect(thrown(() => trainer({ ...base, loss: 'crossEntropy' } as unknown as TrainerConfig)).message).toMatch(/^expected loss to be a Loss object/);
    expect(thrown(() => trainer({ ...base, loss: crossEntropyLoss(), callbacks: {} } as unknown as TrainerConfig)).message).toMatch(/^expected callbacks to be an array/);
    expect(thrown(() => trainer({ ...base, loss: crossEntropyLoss(), callbacks: [() => 1] } as unknown as TrainerConfig)).message).toMatch(/not a function/);
    const hook = thrown(() => trainer({ ...base, loss: crossEntropyLoss(), callbacks: [{ onEpochEnds: () => 1 }] } as unknown as TrainerConfig));
    expect(hook.code).toBe('UNKNOWN_OPTION');
    expect(hook.message).toMatch(/Received: onEpochEnds \(did you mean onEpochEnd\?\)$/);
    expect(thrown(() => trainer({ ...base, loss: crossEntropyLoss(), learningRate: 0.05 } as unknown as TrainerConfig)).message).toMatch(/the base rate goes in optimizer/);
    cfg.model.dispose();
  });

  it('labels as a tensor, or under another name, get a message that says what to pass', async () => {
    const cfg = config();
    const loop = trainer(cfg);
    const yt = tf.tensor1d(train.y, 'int32');
    expect((await rejection(loop.fit({ x: train.x, y: yt } as unknown as LabeledData))).message).toBe(
      'expected data.y to be an Int32Array of labels (from a tensor: Int32Array.from(await y.data())). Received: data.y="a tf.Tensor"',
    );
    const renamed = await rejection(loop.fit({ x: train.x, labels: train.y } as unknown as LabeledData));
    expect(renamed.code).toBe('UNKNOWN_OPTION');
    expect(renamed.message).toMatch(/Received: labels \(did you mean y\?\)$/);
    yt.dispose();
    loop.dispose();
    cfg.model.dispose();
  });
});
