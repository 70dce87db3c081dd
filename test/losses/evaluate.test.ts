/** evaluateLoss, the one evaluation path: named reduced terms and their sum, host labels, bad input, leaks. */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { classWeighted, crossEntropyLoss, evaluateLoss, ldamLoss, sumLosses } from '../../src/losses/index.js';
import { expectError } from '../helpers/errors.js';

const logits = (): tf.Tensor2D => tf.tensor2d([[2, 0, -1], [0, 1, 0], [-1, 0, 3], [1, 1, 1]]);
const labels = (): tf.Tensor1D => tf.tensor1d([0, 1, 2, 0], 'int32');

describe('evaluateLoss', () => {
  it('gives the terms and their sum, the same with or without host labels, twice the same, leaking nothing', () => {
    const z = logits();
    const y = labels();
    const loss = sumLosses([{ loss: crossEntropyLoss(), name: 'ce' }, { loss: ldamLoss({ classCounts: [10, 3, 1], reducer: classWeighted({ beta: 0.9 }) }), weight: 0.5, name: 'ldam' }]);
    const before = tf.memory().numTensors;
    const read = (labelValues?: Int32Array) => {
      const { total, terms } = evaluateLoss(loss, { logits: z, labels: y, ...(labelValues === undefined ? {} : { labelValues }) });
      const out = { total: total.dataSync()[0] as number, ce: terms['ce']?.dataSync()[0] as number, ldam: terms['ldam']?.dataSync()[0] as number };
      tf.dispose([total, ...Object.values(terms)]);
      return out;
    };
    const a = read();
    const b = read(Int32Array.from([0, 1, 2, 0]));
    expect(b).toEqual(a);
    expect(read()).toEqual(a);
    expect(a.total).toBeCloseTo(a.ce + a.ldam, 6);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([z, y]);
  });

  it('host labels of the wrong length are SHAPE_MISMATCH before any tensor is made', () => {
    const z = logits();
    const y = labels();
    expectError(
      () => evaluateLoss(crossEntropyLoss(), { logits: z, labels: y, labelValues: Int32Array.from([0, 1]) }),
      'SHAPE_MISMATCH',
      'expected labelValues.length = 4 (labels.shape[0]). Received: labelValues.length=2',
    );
    tf.dispose([z, y]);
  });
});
