import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FeatureStatsAccumulator, featureStats, standardize } from '../../src/data/preprocess.js';
import { expectClose } from '../../src/testing/index.js';

const golden = JSON.parse(readFileSync(join(__dirname, '..', 'golden', 'data.json'), 'utf8')) as {
  pixels: { values: number[]; numFeatures: number; mean: number[]; std: number[]; standardized: number[] };
};

describe('pixel standardisation', () => {
  const g = golden.pixels;
  const values = Uint8Array.from(g.values);
  const d = g.numFeatures;

  it('per-pixel mean and std of pixels / 255 match numpy (ddof 0), and x\' = (x/255 − μ)/(σ + 1e-3)', () => {
    const stats = featureStats({ x: values, sampleShape: [d], y: new Int32Array(values.length / d) });
    expectClose(stats.mean, g.mean, { rtol: 1e-6, atol: 1e-7, name: 'mean' });
    expectClose(stats.std, g.std, { rtol: 1e-5, atol: 1e-6, name: 'std' });
    expectClose(standardize(values, stats), g.standardized, { rtol: 1e-5, atol: 1e-5, name: 'standardized' });
  });

  it('streaming over chunks gives the statistics of the whole set (naive two-pass loop)', () => {
    const acc = new FeatureStatsAccumulator(d);
    for (let s = 0; s < values.length; s += 5 * d) acc.update(values.subarray(s, Math.min(values.length, s + 5 * d)));
    const stats = acc.compute();
    const n = values.length / d;
    for (let f = 0; f < d; f++) {
      let m = 0;
      for (let i = 0; i < n; i++) m += (values[i * d + f] as number) / 255;
      m /= n;
      let v = 0;
      for (let i = 0; i < n; i++) v += ((values[i * d + f] as number) / 255 - m) ** 2;
      expect(stats.mean[f]).toBeCloseTo(m, 6);
      expect(stats.std[f]).toBeCloseTo(Math.sqrt(v / n), 6);
    }
  });

  it('rejects bad input', () => {
    expect(() => new FeatureStatsAccumulator(3).compute()).toThrow('expected at least one sample before compute(). Received: count=0');
    expect(() => new FeatureStatsAccumulator(3).update(new Float32Array(4))).toThrow(
      'expected values.length to be a multiple of 3. Received: values.length=4',
    );
    expect(() => new FeatureStatsAccumulator(0)).toThrow('expected numFeatures >= 1. Received: numFeatures=0');
  });
});
