import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import golden from '../golden/optimizers.json';
import { optimizerFromConfig, type OptimizerSpec } from '../../src/train/optimizers.js';
import { lrSchedule } from '../../src/train/schedules.js';
import { useBackend } from '../../src/backends/index.js';
import { backendsUnderTest, expectClose, expectNoLeak } from '../../src/testing/index.js';
import { LongTailError } from '../../src/core/errors.js';

for (const backend of backendsUnderTest()) {
  describe(`optimizers on ${backend}`, () => {
    beforeAll(async () => {
      await useBackend(backend);
    });

    for (const [name, c] of Object.entries(golden.cases)) {
      it(`${name} follows PyTorch's trajectory`, async () => {
        const p = tf.variable(tf.tensor(golden.p0, golden.shape, 'float32'));
        const opt = optimizerFromConfig(c.spec as OptimizerSpec);
        const step = (i: number) => {
          const grad = tf.tensor(golden.grads[i] as number[], golden.shape);
          opt.apply([p], [grad], golden.lrs[i] as number);
          grad.dispose();
          expectClose(p, c.trajectory[i], { rtol: 1e-5, atol: 1e-6, name: `${name} step ${i + 1}` });
        };
        step(0); // creates the optimizer's slots
        await expectNoLeak(() => {
          for (let i = 1; i < golden.grads.length; i++) step(i);
        });
        opt.dispose();
        opt.dispose(); // idempotent
        p.dispose();
      });
    }

    it('saveState/loadState continue exactly', () => {
      const spec: OptimizerSpec = { kind: 'adam', learningRate: 0.05, weightDecay: 0.01 };
      const run = (split: boolean): number[] => {
        const p = tf.variable(tf.tensor(golden.p0, golden.shape, 'float32'));
        let opt = optimizerFromConfig(spec);
        golden.grads.forEach((g, i) => {
          if (split && i === 3) {
            const state = opt.saveState([p]);
            opt.dispose();
            opt = optimizerFromConfig(spec);
            opt.loadState(state, [p]);
          }
          tf.tidy(() => opt.apply([p], [tf.tensor(g, golden.shape)], 0.05));
        });
        const out = Array.from(p.dataSync());
        opt.dispose();
        p.dispose();
        return out;
      };
      expect(run(true)).toEqual(run(false));
    });
  });
}

describe('optimizer and schedule validation', () => {
  it('rejects bad options with pinned messages', () => {
    expect(() => optimizerFromConfig({ kind: 'sgd', learningRate: 0 })).toThrowError('expected learningRate > 0. Received: learningRate=0');
    expect(() => optimizerFromConfig({ kind: 'sgd', learningRate: 0.1, momentum: 1 })).toThrowError('expected momentum in [0, 1). Received: momentum=1');
    expect(() => optimizerFromConfig({ kind: 'adam', learningRate: 0.1, weightDecay: -1 })).toThrowError(LongTailError);
    expect(() => optimizerFromConfig({ kind: 'rmsprop', learningRate: 0.1 } as unknown as OptimizerSpec)).toThrowError(
      'expected optimizer kind to be one of "sgd", "adam", "adamw". Received: kind="rmsprop"',
    );
  });

  it('use after dispose throws DISPOSED', () => {
    const opt = optimizerFromConfig({ kind: 'sgd', learningRate: 0.1 });
    opt.dispose();
    expect(() => opt.saveState([])).toThrowError(/DISPOSED|after dispose/);
  });

  it('step, cosine and warm-up schedules', () => {
    const at = (epochFloat: number) => ({ epoch: Math.floor(epochFloat), epochFloat, step: 0, totalEpochs: 10 });
    const step = lrSchedule({ kind: 'step', milestones: [3, 6], gamma: 0.1 }, 1);
    expect(step(at(2.5))).toBeCloseTo(1);
    expect(step(at(3.1))).toBeCloseTo(0.1);
    expect(step(at(7))).toBeCloseTo(0.01);
    const cos = lrSchedule({ kind: 'cosine', minLearningRate: 0 }, 1);
    expect(cos(at(0))).toBeCloseTo(1);
    expect(cos(at(5))).toBeCloseTo(0.5);
    expect(cos(at(10))).toBeCloseTo(0);
    const warm = lrSchedule({ kind: 'constant', warmupEpochs: 2 }, 1);
    expect(warm(at(0.5))).toBeCloseTo(0.25);
    expect(warm(at(3))).toBeCloseTo(1);
    expect(() => lrSchedule({ kind: 'step', milestones: [1.5] }, 1)).toThrowError('expected milestones[0] to be an integer. Received: milestones[0]=1.5');
  });
});
