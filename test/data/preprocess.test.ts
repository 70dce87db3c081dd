import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { seededRng } from '../../src/core/rng.js';
import * as tf from '@tensorflow/tfjs';
import { fromArrays, streamBatches } from '../../src/data/labeled-data.js';
import { FeatureStatsAccumulator, featureStats, standardize, standardizeArrays, type FeatureStats } from '../../src/data/preprocess.js';
import { expectClose } from '../../src/testing/index.js';

const golden = JSON.parse(readFileSync(join(__dirname, '..', 'golden', 'data.json'), 'utf8')) as {
  pixels: { values: number[]; numFeatures: number; mean: number[]; std: number[]; standardized: number[] };
};

function expectCode(code: string, fn: () => unknown, message?: string | RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, 'expected a throw').toBeDefined();
  expect((caught as { code?: string }).code).toBe(code);
  if (message !== undefined) expect((caught as Error).message).toMatch(message);
}

describe('pixel standardisation', () => {
  const g = golden.pixels;
  const values = Uint8Array.from(g.values);
  const d = g.numFeatures;
  const pixels = { x: values, sampleShape: [d], y: new Int32Array(values.length / d) };

  it('per-pixel mean and std of pixels / 255 match numpy (ddof 0), and x\' = (x/255 − μ)/(σ + 1e-3)', () => {
    const stats = featureStats(pixels, { scale: 1 / 255 });
    expect(stats.scale).toBe(1 / 255);
    expectClose(stats.mean, g.mean, { rtol: 1e-6, atol: 1e-7, name: 'mean' });
    expectClose(stats.std, g.std, { rtol: 1e-5, atol: 1e-6, name: 'std' });
    expectClose(standardize(values, stats), g.standardized, { rtol: 1e-5, atol: 1e-5, name: 'standardized' });
  });

  it('derives scale 1/255 from a Uint8Array, with the same numbers as the explicit scale', () => {
    const derived = featureStats(pixels);
    const explicit = featureStats(pixels, { scale: 1 / 255 });
    expect(derived.scale).toBe(1 / 255);
    expect(Array.from(derived.mean)).toEqual(Array.from(explicit.mean));
    expect(Array.from(derived.std)).toEqual(Array.from(explicit.std));
  });

  it('streaming over chunks gives the statistics of the whole set (naive two-pass loop)', () => {
    const acc = new FeatureStatsAccumulator(d);
    for (let s = 0; s < values.length; s += 5 * d) acc.update(values.subarray(s, Math.min(values.length, s + 5 * d)));
    const stats = acc.compute();
    expect(stats.scale).toBe(1 / 255);
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

describe('features are never rescaled unless asked', () => {
  // L2-normalized embeddings, the "features from PyTorch" case of the issue: standardised, each feature
  // must have mean 0 and std σ/(σ + ε) ≈ 1, not the 0.395 that a silent 1/255 gave.
  const rng = seededRng(3);
  const n = 400;
  const d = 8;
  const x = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    let norm = 0;
    for (let f = 0; f < d; f++) {
      const v = rng.normal();
      x[i * d + f] = v;
      norm += v * v;
    }
    for (let f = 0; f < d; f++) x[i * d + f] = (x[i * d + f] as number) / Math.sqrt(norm);
  }
  const data = { x, sampleShape: [d], y: new Int32Array(n) };

  it('Float32Array features: scale 1, standardised std ≈ 1 (StandardScaler-like)', () => {
    const stats = featureStats(data, { epsilon: 0 });
    expect(stats.scale).toBe(1);
    const out = standardizeArrays(data, stats).x;
    for (let f = 0; f < d; f++) {
      let m = 0;
      for (let i = 0; i < n; i++) m += out[i * d + f] as number;
      m /= n;
      let v = 0;
      for (let i = 0; i < n; i++) v += ((out[i * d + f] as number) - m) ** 2;
      expect(Math.abs(m)).toBeLessThan(1e-5);
      expect(Math.sqrt(v / n)).toBeCloseTo(1, 4);
    }
  });

  it('an explicit scale is applied as given, to the stats and by standardize', () => {
    const stats = featureStats(data, { scale: 2 });
    const plain = featureStats(data);
    for (let f = 0; f < d; f++) expect(stats.mean[f]).toBeCloseTo(2 * (plain.mean[f] as number), 6);
  });

  it('rejects a scale that is NaN, ±∞, zero or negative, wherever it appears', () => {
    for (const scale of [NaN, Infinity, -Infinity, 0, -1]) {
      expectCode('INVALID_OPTION', () => featureStats(data, { scale }), /^expected scale/);
      expectCode('INVALID_OPTION', () => new FeatureStatsAccumulator(d, { scale }), /^expected scale/);
      const stats: FeatureStats = { ...featureStats(data), scale };
      expectCode('INVALID_OPTION', () => standardize(x, stats), /^expected stats\.scale/);
    }
    expectCode('INVALID_OPTION', () => featureStats(data, { scale: NaN }), 'expected scale to be a finite number. Received: scale=NaN');
    expectCode('INVALID_OPTION', () => featureStats(data, { epsilon: -1 }), 'expected epsilon >= 0. Received: epsilon=-1');
  });

  it('rejects unknown option keys', () => {
    expectCode('UNKNOWN_OPTION', () => featureStats(data, { scal: 1 } as never), /Received: scal \(did you mean scale\?\)/);
    expectCode('UNKNOWN_OPTION', () => new FeatureStatsAccumulator(d, { eps: 1 } as never), /FeatureStatsAccumulator options/);
  });

  it('rejects non-finite inputs and results that are not finite as float32', () => {
    const bad = Float32Array.from(x);
    bad[3 * d + 2] = NaN;
    expectCode('NON_FINITE', () => featureStats({ ...data, x: bad }), 'expected values to be finite (as float32). Received: row 3, feature 2 = NaN');
    const stats = featureStats(data);
    expectCode('NON_FINITE', () => standardize(bad, stats), /row 3, feature 2 = NaN/);
    // 3e38 · 10 is finite in float64 but not in float32.
    const big = new Float32Array(d).fill(3e38);
    expectCode('NON_FINITE', () => featureStats({ x: big, sampleShape: [d], y: new Int32Array(1) }, { scale: 10 }), /mean and std of feature 0/);
    const s = { ...stats, scale: 10 };
    expectCode('NON_FINITE', () => standardize(big, s), /standardized values .*row 0, feature 0 = Infinity/);
    const zeroStd: FeatureStats = { mean: new Float32Array(d), std: new Float32Array(d), scale: 1, epsilon: 0 };
    expectCode('NON_FINITE', () => standardize(new Float32Array(d), zeroStd), /= NaN/);
  });

  it('an accumulator whose default scale came from a uint8 chunk refuses a float chunk', () => {
    const acc = new FeatureStatsAccumulator(2).update(Uint8Array.from([1, 2]));
    expectCode('INVALID_DATA', () => acc.update(Float32Array.from([1, 2])), /expected every chunk to be uint8 like the first/);
    const explicit = new FeatureStatsAccumulator(2, { scale: 1 }).update(Uint8Array.from([1, 2])).update(Float32Array.from([3, 4])).compute();
    expect(Array.from(explicit.mean)).toEqual([2, 3]);
  });
});

describe('scale is checked where tensors are made too', () => {
  it('fromArrays and streamBatches reject scale NaN, ±∞, 0 or negative before any tensor exists', async () => {
    const data = { x: Uint8Array.from([0, 255]), sampleShape: [1], y: Int32Array.from([0, 1]) };
    const before = tf.memory().numTensors;
    for (const scale of [NaN, Infinity, 0, -1 / 255]) {
      expectCode('INVALID_OPTION', () => fromArrays(data, { scale }), /^expected scale to be a finite number > 0\. Received: scale=/);
      const stream = streamBatches([data], { batchSize: 1, scale });
      await expect(stream.next()).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    }
    expect(tf.memory().numTensors).toBe(before);
    const ok = fromArrays(data, { scale: 1 / 255 });
    expect(Array.from(await ok.x.data())).toEqual([0, 1]);
    ok.x.dispose();
  });
});
