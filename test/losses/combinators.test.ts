import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import { schedule } from '../../src/core/schedule.js';
import { toConfig } from '../../src/core/registry.js';
import {
  balancedSoftmaxLoss,
  bclLoss,
  pacoLoss,
  classWeighted,
  crossEntropyLoss,
  focalLoss,
  generalizedReweighting,
  ladeLoss,
  ldamLoss,
  logitAdjustedLoss,
  lossRegistry,
  neighborSilencingLoss,
  reducerRegistry,
  silencingMask,
  sumLosses,
  supConLoss,
  sumReducer,
  type Loss,
} from '../../src/losses/index.js';
import { expectClose } from '../../src/testing/index.js';

describe('sumLosses and the registry', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });
  const inputs = () => ({
    logits: tf.tensor2d([[1, 0.5, -1], [0.2, 0.1, 2], [3, -2, 0.5], [0, 0, 0]]),
    projections: tf.tensor3d([[[1, 0], [0.8, 0.3]], [[0, 1], [0.2, 0.9]], [[1, 0.1], [0.9, -0.2]], [[-1, 0], [-0.7, 0.4]]]),
    labels: tf.tensor1d([0, 2, 0, 1], 'int32'),
  });
  const value = (loss: Loss, ctx?: object) =>
    tf.tidy(() => loss.compute({ ...inputs(), ...(ctx ? { ctx } : {}) } as never).dataSync()[0] as number);

  it('is the weighted sum of its parts, logs one reduced term per part, and unions requires', () => {
    const ce = crossEntropyLoss();
    const sc = supConLoss({ temperature: 0.2 });
    const both = sumLosses([
      { loss: ce, weight: 0.5 },
      { loss: sc, weight: 2 },
      { loss: ce, weight: 1 },
    ]);
    expectTypeOf(both).toEqualTypeOf<Loss<'logits' | 'projections'>>();
    expect([...both.requires].sort()).toEqual(['logits', 'projections']);
    expectClose(value(both), 1.5 * value(ce) + 2 * value(sc), { rtol: 1e-6 });
    const names = tf.tidy(() => Object.keys(both.terms(inputs() as never)));
    expect(names).toEqual(['crossEntropy', 'supCon', 'crossEntropy1']);
  });

  it('schedules: functions read step/epoch/totalEpochs, specs read the epoch', () => {
    const ce = crossEntropyLoss();
    const base = value(ce);
    const ramp = sumLosses([{ loss: ce, weight: ({ epoch, totalEpochs }) => epoch / totalEpochs }]);
    expectClose(value(ramp, { step: 0, epoch: 3, totalEpochs: 4 }), 0.75 * base, { rtol: 1e-6 });
    const step = sumLosses([{ loss: ce, weight: { kind: 'switch', epoch: 2, before: 0, after: 3 } }]);
    expect(value(step, { epoch: 1 })).toBe(0);
    expectClose(value(step, { epoch: 2 }), 3 * base, { rtol: 1e-6 });
    // The same schedule type serves learning rates: a multiplicative `step` of a loss weight.
    const decay = sumLosses([{ loss: ce, weight: { kind: 'step', milestones: [2], gamma: 0.5 } }]);
    expectClose(value(decay, { epoch: 3 }), 0.5 * base, { rtol: 1e-6 });
    const at = (e: number) => schedule({ kind: 'linear', startEpoch: 2, endEpoch: 6, from: 1, to: 0 })({ epoch: e, epochFloat: e, step: 0, totalEpochs: 10 });
    expect([at(0), at(3), at(9)]).toEqual([1, 0.75, 0]);
    // The old loss-weight `step` (before/after) is now `switch`: its keys are unknown to `step`.
    expect(() => sumLosses([{ loss: ce, weight: { kind: 'step', epoch: 2, before: 0, after: 3 } as never }])).toThrow(/UNKNOWN|among kind, milestones/);
  });

  it('every loss kind round-trips through lossRegistry with plain-JSON config', () => {
    const counts = [10, 3, 1];
    const mask = silencingMask({ numClasses: 3, neighbors: [[2]] });
    const losses: Loss[] = [
      crossEntropyLoss({ labelSmoothing: 0.1 }),
      logitAdjustedLoss({ classCounts: counts, tau: 0.7 }),
      logitAdjustedLoss(),
      balancedSoftmaxLoss({ classCounts: new Float32Array(counts) }),
      ldamLoss({ classCounts: counts, maxMargin: 0.3, scale: 10, reducer: classWeighted({ beta: 0.999, startEpoch: 2 }) }),
      focalLoss({ gamma: 0.5, reducer: sumReducer(), validate: false }),
      supConLoss({ temperature: 0.1, baseTemperature: 0.1, mode: 'simclr' }),
      neighborSilencingLoss({ classCounts: counts, mask, tau: 0.5 }),
      bclLoss({ temperature: 0.2, classAveraging: false }),
      pacoLoss({ alpha: 0.5, temperature: 0.1, logitAdjusted: true, classCounts: counts }),
      ladeLoss({ classCounts: counts, alpha: 0.3, remineLambda: 0.05, reducer: generalizedReweighting({ rho: 0.8 }) }),
      sumLosses([
        { loss: crossEntropyLoss(), weight: 1 },
        { loss: supConLoss(), weight: { kind: 'linear', startEpoch: 0, endEpoch: 4, from: 0, to: 1 }, name: 'contrastive' },
      ]),
    ];
    expect(lossRegistry.kinds()).toEqual(['balancedSoftmax', 'bcl', 'crossEntropy', 'focal', 'lade', 'ldam', 'logitAdjusted', 'neighborSilencing', 'paco', 'sum', 'supCon']);
    for (const loss of losses) {
      const s = toConfig(loss);
      expect(JSON.parse(JSON.stringify(s))).toEqual(s);
      const rebuilt = lossRegistry.fromConfig(s);
      expect(toConfig(rebuilt)).toEqual(s);
      expect(rebuilt.requires).toEqual(loss.requires);
      expect(rebuilt.reducer.kind).toBe(loss.reducer.kind);
      const ctx = { classCounts: counts, epoch: 3, step: 0, totalEpochs: 4 };
      expectClose(value(rebuilt, ctx), value(loss, ctx), { rtol: 1e-6, name: loss.kind });
    }
    expect(toConfig(logitAdjustedLoss({ classCounts: new Float64Array([2, 1]) })).config['classCounts']).toEqual([2, 1]);
    expect(reducerRegistry.kinds()).toEqual(['classWeighted', 'generalizedReweighting', 'mean', 'sum']);
  });

  it('a loss keeps its own copy of the class counts', () => {
    const counts = [10, 3, 1];
    const loss = logitAdjustedLoss({ classCounts: counts });
    const before = value(loss);
    counts[0] = 1;
    expect(value(loss)).toBe(before);
  });
});
