import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/backends/index.js';
import { seededRng } from '../../src/core/rng.js';
import { ClassGaussian, LatentSmote, OtDistributionMatching } from '../../src/synth/index.js';
import type { Synthesizer } from '../../src/synth/types.js';

const make: Record<string, () => Synthesizer> = {
  ClassGaussian: () => new ClassGaussian({ numClasses: 2, covariance: 'diagonal' }),
  LatentSmote: () => new LatentSmote({ numClasses: 2, k: 2 }),
  OtDistributionMatching: () => new OtDistributionMatching({ numClasses: 2 }),
};

describe('Synthesizer.reset()', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  for (const [name, factory] of Object.entries(make)) {
    it(`${name}: reset forgets observations; re-observing gives the same draws as a fresh synthesizer`, () => {
      const features = tf.tensor2d(Array.from({ length: 24 }, (_, i) => Math.sin(i * 1.7) + (i % 2)), [12, 2]);
      const labels = tf.tensor1d([0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1], 'int32');
      const a = factory();
      a.observe({ features, labels });
      a.observe({ features, labels });
      expect(Array.from(a.observedCounts())).toEqual([16, 8]);
      a.reset?.();
      expect(Array.from(a.observedCounts())).toEqual([0, 0]);
      a.observe({ features, labels });
      const b = factory();
      b.observe({ features, labels });
      const head = (f: tf.Tensor2D): tf.Tensor2D => tf.tidy(() => tf.concat([f, tf.neg(f)], 1).slice([0, 0], [-1, 2]) as tf.Tensor2D);
      const request = { perClass: [0, 3], head };
      const da = a.sample(request, seededRng(5));
      const db = b.sample(request, seededRng(5));
      expect(Array.from(da.features.dataSync())).toEqual(Array.from(db.features.dataSync()));
      tf.dispose([da.features, da.labels, db.features, db.labels, features, labels]);
      a.dispose();
      b.dispose();
      expect(() => a.reset?.()).toThrowError(/after dispose/);
    });
  }
});
