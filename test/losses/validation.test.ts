import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toConfig } from '../../src/core/registry.js';
import {
  classWeighted,
  crossEntropy,
  crossEntropyLoss,
  effectiveNumberWeights,
  focalCrossEntropy,
  focalLoss,
  ldamMargins,
  logitAdjustedCrossEntropy,
  logitAdjustedLoss,
  lossRegistry,
  neighborSilencingCrossEntropy,
  postHocAdjust,
  silencingMask,
  sumLosses,
  supConLoss,
  supervisedContrastive,
} from '../../src/losses/index.js';
import { expectError } from '../helpers/errors.js';


describe('bad input is a LongTailError thrown before any tensor is made', () => {
  let logits: tf.Tensor2D;
  let labels: tf.Tensor1D;
  beforeAll(async () => {
    await tf.setBackend('cpu');
    logits = tf.tensor2d([[1, 2, 3], [0, 0, 1], [2, 1, 0], [1, 1, 1]]);
    labels = tf.tensor1d([0, 2, 1, 0], 'int32');
  });
  afterAll(() => tf.dispose([logits, labels]));

  it('DTYPE_MISMATCH: float labels', () => {
    const f = tf.tensor1d([0, 2, 1, 0]);
    expectError(() => crossEntropy(logits, f as tf.Tensor1D), 'DTYPE_MISMATCH', "expected labels of dtype int32 (e.g. tf.tensor1d(values, 'int32')). Received: labels.dtype=float32");
    f.dispose();
  });

  it('LABEL_OUT_OF_RANGE: too large and negative', () => {
    const big = tf.tensor1d([0, 3, 1, 0], 'int32');
    const neg = tf.tensor1d([0, 1, -1, 0], 'int32');
    expectError(() => crossEntropy(logits, big), 'LABEL_OUT_OF_RANGE', 'expected labels in [0, 3). Received: labels[1]=3');
    expectError(() => focalCrossEntropy(logits, neg), 'LABEL_OUT_OF_RANGE', 'expected labels in [0, 3). Received: labels[2]=-1');
    // validate: false skips the value check (hot loops).
    const out = crossEntropy(logits, big, { validate: false });
    expect(out.shape).toEqual([4]);
    tf.dispose([big, neg, out]);
  });

  it('SHAPE_MISMATCH: labels, targets, class counts, masks, contrast features', () => {
    const short = tf.tensor1d([0, 1, 2], 'int32');
    expectError(() => crossEntropy(logits, short), 'SHAPE_MISMATCH', 'expected labels.shape[0] equal to logits.shape[0] = 4. Received: labels.shape[0]=3');
    const targets = tf.zeros([4, 2]) as tf.Tensor2D;
    expectError(() => crossEntropy(logits, labels, { targets }), 'SHAPE_MISMATCH', 'expected targets.shape = [4, 3] (the logits shape). Received: targets.shape=[4, 2]');
    expectError(
      () => logitAdjustedCrossEntropy(logits, labels, { classCounts: [1, 2] }),
      'SHAPE_MISMATCH',
      'expected classCounts.length equal to the number of classes = 3. Received: classCounts.length=2',
    );
    expectError(
      () => neighborSilencingCrossEntropy(logits, labels, { classCounts: [1, 2, 3], mask: [[true, true, true]] }),
      'SHAPE_MISMATCH',
      'expected mask.length = 3 (the number of classes). Received: mask.length=1',
    );
    const feats = tf.zeros([4, 2, 5]) as tf.Tensor3D;
    const protos = tf.zeros([3, 4]) as tf.Tensor2D;
    expectError(
      () => supervisedContrastive(feats, { labels, contrast: { features: protos } }),
      'SHAPE_MISMATCH',
      'expected contrast.features.shape[1] equal to the feature size = 5. Received: contrast.features.shape[1]=4',
    );
    const flat = tf.zeros([4]);
    expectError(() => supervisedContrastive(flat as unknown as tf.Tensor2D), 'SHAPE_MISMATCH', 'expected features of rank 2 or 3. Received: features.shape=[4]');
    tf.dispose([short, targets, feats, protos, flat]);
  });

  it('INVALID_OPTION: temperature, β, negative counts, τ, γ, smoothing, masks', () => {
    const feats = tf.zeros([4, 3]) as tf.Tensor2D;
    expectError(() => supervisedContrastive(feats, { labels, temperature: 0 }), 'INVALID_OPTION', 'expected temperature > 0. Received: temperature=0');
    expectError(() => supConLoss({ baseTemperature: -1 }), 'INVALID_OPTION', 'expected baseTemperature > 0. Received: baseTemperature=-1');
    expectError(() => classWeighted({ beta: 1 }), 'INVALID_OPTION', 'expected beta in [0, 1). Received: beta=1');
    expectError(() => effectiveNumberWeights([1, 2], { beta: -0.1 }), 'INVALID_OPTION', 'expected beta in [0, 1). Received: beta=-0.1');
    expectError(
      () => logitAdjustedLoss({ classCounts: [3, -1, 2] }),
      'INVALID_OPTION',
      'expected every classCounts entry to be a finite number >= 0. Received: classCounts[1]=-1',
    );
    expectError(() => logitAdjustedLoss({ tau: Number.POSITIVE_INFINITY }), 'INVALID_OPTION', 'expected tau to be a finite number. Received: tau=Infinity');
    expectError(() => postHocAdjust(logits, { classCounts: [1, 1, 1], tau: Number.NaN }), 'INVALID_OPTION', 'expected tau to be a finite number. Received: tau=NaN');
    expectError(() => focalLoss({ gamma: -1 }), 'INVALID_OPTION', 'expected gamma >= 0. Received: gamma=-1');
    expectError(() => crossEntropyLoss({ labelSmoothing: 1 }), 'INVALID_OPTION', 'expected labelSmoothing in [0, 1). Received: labelSmoothing=1');
    expectError(() => logitAdjustedCrossEntropy(logits, labels, { classCounts: [0, 0, 0] }), 'INVALID_OPTION', 'expected classCounts with a positive total. Received: sum(classCounts)=0');
    expectError(() => ldamMargins([0, 0]), 'INVALID_OPTION', 'expected classCounts with at least one count > 0. Received: classCounts=[0, 0]');
    expectError(
      () => neighborSilencingCrossEntropy(logits, labels, { classCounts: [1, 2, 3], mask: [[true, true, true], [true, false, true], [true, true, true]] }),
      'INVALID_OPTION',
      'expected mask[1][1] = true (a class competes with itself). Received: mask[1][1]=false',
    );
    expectError(
      () => silencingMask({ numClasses: 3, neighbors: [[0]] }),
      'INVALID_OPTION',
      'expected neighbors[0] entries to be auxiliary class indices in [1, 3). Received: neighbors[0]=[0]',
    );
    expectError(() => sumLosses([]), 'INVALID_OPTION', 'expected a non-empty array of { loss, weight } parts. Received: parts=[]');
    feats.dispose();
  });

  it('MISSING_INPUT: class counts and epochs that nobody gave', () => {
    const loss = logitAdjustedLoss();
    expectError(
      () => loss.compute({ logits, labels }),
      'MISSING_INPUT',
      'expected classCounts in the logitAdjusted options or in ctx.classCounts. Received: classCounts=undefined',
    );
    const drw = crossEntropyLoss({ reducer: classWeighted({ classCounts: [1, 2, 3], startEpoch: 5 }) });
    expect(() => drw.compute({ logits, labels })).toThrow('expected ctx.epoch for a DRW schedule (startEpoch=5). Received: ctx.epoch=undefined');
    const sched = sumLosses([{ loss: crossEntropyLoss(), weight: { kind: 'switch', epoch: 2, before: 0, after: 1 } }]);
    expect(() => sched.compute({ logits, labels })).toThrow('expected ctx.epoch for a scheduled loss weight. Received: ctx.epoch=undefined');
    expect(() => crossEntropy(undefined as unknown as tf.Tensor2D, labels)).toThrow('expected logits to be a tf.Tensor. Received: logits=undefined');
  });

  it('DISPOSED: a disposed input', () => {
    const gone = tf.tensor2d([[1, 2, 3]]);
    gone.dispose();
    expectError(() => crossEntropy(gone, labels), 'DISPOSED', 'expected a live tensor logits. Received: logits after dispose()');
  });

  it('UNKNOWN_KIND from the registry; function schedules are not serialisable', () => {
    expectError(
      () => lossRegistry.fromConfig({ kind: 'nope', config: {} }),
      'UNKNOWN_KIND',
      'expected a loss kind, one of balancedSoftmax, bcl, crossEntropy, focal, lade, ldam, logitAdjusted, neighborSilencing, paco, sum, supCon. Received: kind="nope"',
    );
    const s = sumLosses([{ loss: crossEntropyLoss(), weight: () => 1 }]);
    expectError(
      () => lossRegistry.fromConfig(toConfig(s)),
      'INVALID_OPTION',
      'expected parts[0].weight to be serialisable (a schedule function cannot be rebuilt from config). Received: parts[0].weight={"kind":"function"}',
    );
  });
});
