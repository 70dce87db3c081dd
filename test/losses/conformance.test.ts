import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import {
  balancedSoftmaxLoss,
  classWeighted,
  crossEntropyLoss,
  defineLoss,
  focalLoss,
  generalizedReweighting,
  ladeLoss,
  ldamLoss,
  logitAdjustedLoss,
  neighborSilencingLoss,
  silencingMask,
  sumLosses,
  supConLoss,
  supervisedContrastive,
  bclLoss,
  learnableCentres,
  pacoLoss,
  type Loss,
  type LossInputs,
} from '../../src/losses/index.js';
import { checkLossConformance, expectLossConformance, LOSS_CHECKS } from '../../src/testing/index.js';
import { seededRng } from '../../src/core/rng.js';

const counts = [40, 12, 3, 1, 0];
function makeInputs(seed: number): () => LossInputs<'logits' | 'projections'> {
  return () => {
    const rng = seededRng(seed);
    const labels = Array.from({ length: 6 }, () => rng.int(5));
    return {
      logits: tf.tensor2d(Array.from({ length: 6 }, () => Array.from({ length: 5 }, () => rng.normal() * 2))),
      projections: tf.tensor3d(Array.from({ length: 6 }, () => Array.from({ length: 2 }, () => Array.from({ length: 4 }, () => rng.normal())))),
      labels: tf.tensor1d(labels, 'int32'),
      targets: tf.tensor2d(labels.map((y) => Array.from({ length: 5 }, (_, j) => (j === y ? 0.8 : 0.05)))),
      ctx: { classCounts: counts, epoch: 4, step: 40, totalEpochs: 10 },
    };
  };
}

const library: Loss[] = [
  crossEntropyLoss(),
  crossEntropyLoss({ labelSmoothing: 0.1, reducer: classWeighted({ beta: 0.99 }) }),
  logitAdjustedLoss({ classCounts: counts }),
  logitAdjustedLoss({ tau: 0.5 }),
  balancedSoftmaxLoss({ classCounts: counts }),
  ldamLoss({ classCounts: counts, reducer: classWeighted({ beta: 0.9999, startEpoch: 3 }) }),
  focalLoss({ gamma: 0.5 }),
  supConLoss({ temperature: 0.1 }),
  supConLoss({ mode: 'simclr', temperature: 0.2, baseTemperature: 0.2 }),
  bclLoss({ temperature: 0.1 }),
  bclLoss({ temperature: 0.07, classAveraging: false, noPositive: 'exclude' }),
  pacoLoss({ alpha: 0.05, temperature: 0.2 }),
  pacoLoss({ alpha: 0.5, temperature: 0.1, baseTemperature: 0.07, logitAdjusted: true, labelSmoothing: 0.1 }),
  pacoLoss({ alpha: 0.05, logitAdjusted: true, classCounts: counts, reducer: classWeighted({ beta: 0.99 }) }),
  neighborSilencingLoss({ classCounts: counts, mask: silencingMask({ numClasses: 5, neighbors: [[3, 4], [4], []] }) }),
  ladeLoss({ classCounts: counts }),
  ladeLoss({ alpha: 0.5, remineLambda: 0.2, reducer: generalizedReweighting({ rho: 1.2 }) }),
  crossEntropyLoss({ reducer: generalizedReweighting({ rho: 1, classCounts: counts }) }),
  sumLosses([
    { loss: crossEntropyLoss(), weight: 1 },
    { loss: supConLoss({ temperature: 0.1 }), weight: { kind: 'linear', startEpoch: 0, endEpoch: 8, from: 0, to: 1 } },
  ]),
];

describe('loss conformance suite', () => {
  it.each(library.map((l, i) => [`${l.kind}#${i}`, l] as const))('%s passes every check on every backend', async (_n, loss) => {
    await expectLossConformance(loss as Loss<'logits' | 'projections'>, { inputs: makeInputs(7) });
  });

  it('bclLoss with learnable centres passes every check (the registry given the centres back)', async () => {
    const centres = learnableCentres({ numClasses: 5, dim: 4, rng: seededRng(2) });
    const loss = bclLoss({ temperature: 0.1, centres: () => centres });
    const registry = { fromConfig: () => bclLoss({ temperature: 0.1, centres: () => centres }) as Loss };
    await expectLossConformance(loss as Loss<'logits' | 'projections'>, { inputs: makeInputs(7), registry });
    centres.dispose();
  });

  it('reports every check and catches a broken loss', async () => {
    const good = await checkLossConformance(crossEntropyLoss() as Loss<'logits' | 'projections'>, { inputs: makeInputs(1), backends: ['cpu'] });
    expect(good.map((r) => r.check)).toEqual(LOSS_CHECKS.filter((c) => c !== 'backendsAgree'));
    // Leaks a tensor, mutates nothing, is not registered, and has a NaN gradient at 0.
    const kept: tf.Tensor[] = [];
    const broken = defineLoss({
      kind: 'brokenForTest',
      config: {},
      requires: ['logits'],
      terms: ({ logits }) => {
        kept.push(tf.keep(tf.ones([1])));
        return { sqrt: { kind: 'perSample', values: tf.sum(tf.sqrt(tf.abs(tf.mul(logits, 0))), 1) as tf.Tensor1D } };
      },
    });
    const results = await checkLossConformance(broken as Loss<'logits' | 'projections'>, { inputs: makeInputs(1), backends: ['cpu'] });
    const failed = results.filter((r) => !r.ok).map((r) => r.check);
    // Its NaN gradient also stops the trainer's step (NON_FINITE), so trainerStep fails too.
    expect(failed).toEqual(['finiteGradients', 'noLeak', 'configRoundTrip', 'trainerStep']);
    await expect(expectLossConformance(broken as Loss<'logits' | 'projections'>, { inputs: makeInputs(1), backends: ['cpu'] })).rejects.toThrow(
      /loss brokenForTest failed 4 conformance check\(s\):\n {2}finiteGradients \[cpu\]: expected finite gradients w.r.t. logits/,
    );
    tf.dispose(kept);
  });

  it('catches a loss whose compute disagrees with the one evaluation path', async () => {
    // A hand-written Loss whose compute doubles its term: trainer and sumLosses evaluate the terms, so
    // both disagree with compute.
    const ce = crossEntropyLoss();
    const twoFaced: Loss<'logits'> = {
      kind: 'crossEntropy',
      config: ce.config,
      requires: ['logits'],
      reducer: ce.reducer,
      terms: (inputs) => ce.terms(inputs),
      compute: (inputs) => tf.tidy(() => tf.mul(ce.compute(inputs), 2)),
    };
    const results = await checkLossConformance(twoFaced as Loss<'logits' | 'projections'>, { inputs: makeInputs(1), backends: ['cpu'] });
    const failed = results.filter((r) => !r.ok);
    expect(failed.map((r) => r.check)).toEqual(['configRoundTrip', 'sumOfOne', 'trainerStep']);
    expect(failed[2]?.message).toMatch(/^expected trainer.step to report compute's [\d.]+ on the same batch. Received: [\d.]+$/);
  });

  it('a user loss built on the functional SupCon with prototypes conforms too', async () => {
    const protos = tf.tensor2d([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]]);
    const protoLabels = tf.tensor1d([0, 1, 2], 'int32');
    const withPrototypes = defineLoss({
      kind: 'supConWithPrototypes',
      config: {},
      requires: ['projections'],
      terms: ({ projections, labels }) => {
        const { values, weights } = supervisedContrastive(projections, { labels, temperature: 0.1, contrast: { features: protos, labels: protoLabels } });
        return { supCon: { kind: 'perSample', values, weights } };
      },
    });
    await expectLossConformance(withPrototypes as Loss<'logits' | 'projections'>, { inputs: makeInputs(3), skip: ['configRoundTrip'] });
    tf.dispose([protos, protoLabels]);
  });
});
