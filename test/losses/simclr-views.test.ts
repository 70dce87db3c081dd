/** SimCLR needs two or more views: with one, no anchor has a positive and the loss would be 0 whatever the features. */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { supConLoss } from '../../src/losses/index.js';

describe("supConLoss({ mode: 'simclr' })", () => {
  it('refuses one view with SHAPE_MISMATCH before any tensor is made, and trains on two', () => {
    const one = tf.randomNormal([4, 3], 0, 1, 'float32', 1) as tf.Tensor2D;
    const two = tf.randomNormal([4, 2, 3], 0, 1, 'float32', 2) as tf.Tensor3D;
    const loss = supConLoss({ mode: 'simclr', temperature: 0.5 });
    const before = tf.memory().numTensors;
    expect(() => loss.compute({ projections: one })).toThrow("expected projections of shape [N, V ≥ 2, d] in mode 'simclr' (each sample's other views are its positives). Received: projections.shape=[4, 3]");
    expect(tf.memory().numTensors).toBe(before);
    const value = loss.compute({ projections: two });
    expect(value.dataSync()[0]).toBeGreaterThan(0);
    tf.dispose([one, two, value]);
  });
});
