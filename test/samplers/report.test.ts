/**
 * samplerReport: emitted vs target class counts with Pearson's test. The per-sampler verdicts live in
 * samplers.test.ts; here the report's own contract: its arithmetic, its random streams, the calibration of
 * its p-value, a sampler that misses its target, and its errors.
 */
import { describe, expect, it } from 'vitest';
import { LongTailError } from '../../src/core/errors.js';
import { seededRng } from '../../src/core/rng.js';
import {
  classBalancedSampler,
  instanceSampler,
  mPerClassSampler,
  powerSampler,
  samplerReport,
} from '../../src/samplers/index.js';
import type { Sampler } from '../../src/samplers/index.js';

const COUNTS = [300, 120, 50, 20, 10];
const LABELS = seededRng('report-labels').shuffle(Int32Array.from(COUNTS.flatMap((n, j) => Array<number>(n).fill(j))));

function code(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return (e as LongTailError).code;
  }
  return undefined;
}

describe('samplerReport', () => {
  it('counts what the sampler emitted on the Trainer\'s streams; expected = N · p; χ² recomputed by hand', () => {
    const sampler = powerSampler({ numSamples: 1000 });
    const r = samplerReport(sampler, LABELS, { batchSize: 32, seed: 'x', epochs: 2, startEpoch: 1, totalEpochs: 5 });
    expect(r.kind).toBe('power');
    expect(r.epochs).toEqual([1, 2]);
    expect(r.numBatches).toBe(2 * Math.ceil(1000 / 32));
    // Replay the two epochs the way the Trainer forks its streams.
    const emitted = new Array(5).fill(0);
    for (const e of [1, 2]) {
      const rng = seededRng('x').fork(`epoch:${e}`).fork('sampler');
      for (const b of sampler.batches(LABELS, { epoch: e, totalEpochs: 5, batchSize: 32, rng })) for (const i of b) emitted[LABELS[i] as number]++;
    }
    expect(r.classes.map((c) => c.emitted)).toEqual(emitted);
    expect(r.classes.map((c) => c.count)).toEqual(COUNTS);
    const w = COUNTS.map((n) => Math.sqrt(n));
    const sw = w.reduce((a, b) => a + b, 0);
    let chi = 0;
    r.classes.forEach((c, j) => {
      const e = (2000 * (w[j] as number)) / sw;
      expect(c.expected).toBeCloseTo(e, 9);
      expect(c.targetShare).toBeCloseTo((w[j] as number) / sw, 12);
      expect(c.emittedShare).toBe((emitted[j] as number) / 2000);
      chi += ((emitted[j] as number) - e) ** 2 / e;
    });
    expect(r.chiSquare.statistic).toBeCloseTo(chi, 9);
    expect(r.chiSquare.dof).toBe(4);
    expect(r).toEqual(samplerReport(sampler, LABELS, { batchSize: 32, seed: 'x', epochs: 2, startEpoch: 1, totalEpochs: 5 }));
  });

  it('its p-value is calibrated: over 400 seeds of exact i.i.d. draws, about 5 % fall below 0.05 and 10 % below 0.1', () => {
    const sampler = classBalancedSampler({ numSamples: 500 });
    const p: number[] = [];
    for (let seed = 0; seed < 400; seed++) p.push(samplerReport(sampler, LABELS, { batchSize: 50, seed }).chiSquare.pValue);
    const below = (t: number): number => p.filter((v) => v < t).length / p.length;
    // Binomial(400, 0.05) has sd 0.011, Binomial(400, 0.1) 0.015, Binomial(400, 0.5) 0.025: ±3 sd.
    expect(Math.abs(below(0.05) - 0.05)).toBeLessThan(0.033);
    expect(Math.abs(below(0.1) - 0.1)).toBeLessThan(0.045);
    expect(Math.abs(below(0.5) - 0.5)).toBeLessThan(0.075);
  });

  it('catches a sampler that silently misses its target (a "balanced" sampler that emits the instance order)', () => {
    const inner = instanceSampler({ numSamples: 2000 });
    const broken: Sampler = {
      kind: 'brokenBalanced',
      config: {},
      batches: (labels, ctx) => inner.batches(labels, ctx),
      targetDistribution: (counts) => classBalancedSampler().targetDistribution?.(counts) as never,
    };
    const r = samplerReport(broken, LABELS, { batchSize: 50, seed: 1 });
    expect(r.chiSquare.pValue).toBeLessThan(1e-100);
    expect(samplerReport(classBalancedSampler({ numSamples: 2000 }), LABELS, { batchSize: 50, seed: 1 }).chiSquare.pValue).toBeGreaterThan(1e-3);
    // A user sampler without targetDistribution needs a target.
    const bare: Sampler = { kind: 'bare', config: {}, batches: broken.batches };
    expect(() => samplerReport(bare, LABELS, { batchSize: 50, seed: 1 })).toThrow(
      'expected the sampler to have targetDistribution, or a target option. Received: sampler.kind="bare" without targetDistribution',
    );
    expect(samplerReport(bare, LABELS, { batchSize: 50, seed: 1, target: COUNTS }).chiSquare.pValue).toBeGreaterThan(1e-3);
  });

  it('an emitted class the target excludes gives χ² = ∞; absent classes have dof excluded', () => {
    const labels = Int32Array.from([0, 0, 0, 2, 2, 2]);
    const r = samplerReport(classBalancedSampler({ numSamples: 600 }), labels, { batchSize: 60, seed: 2 });
    expect(r.classes[1]).toMatchObject({ count: 0, emitted: 0, expected: 0 });
    expect(r.chiSquare.dof).toBe(1);
    const wrong = samplerReport(classBalancedSampler({ numSamples: 600 }), labels, { batchSize: 60, seed: 2, target: [1, 1, 0] });
    expect(wrong.chiSquare).toEqual({ statistic: Infinity, dof: 1, pValue: 0 });
  });

  it('m-per-class keeps its samplesPerDraw under a custom target', () => {
    const r = samplerReport(mPerClassSampler({ m: 2 }), LABELS, { batchSize: 4, seed: 0, target: [1, 1, 1, 1, 1] });
    expect(r.samplesPerDraw).toBe(2);
    expect(r.customTarget).toBe(true);
  });

  it('rejects bad input before drawing: unknown keys, ranges, labels, target length, non-samplers', () => {
    const s = classBalancedSampler();
    expect(() => samplerReport(s, LABELS, { batchSize: 8, seed: 0, epoch: 2 } as never)).toThrow(
      'expected samplerReport options to be among batchSize, seed, epochs, startEpoch, totalEpochs, target. Received: epoch (did you mean epochs?)',
    );
    expect(code(() => samplerReport(s, LABELS, { batchSize: 8, seed: 0, epoch: 2 } as never))).toBe('UNKNOWN_OPTION');
    expect(() => samplerReport(s, LABELS, { batchSize: 0, seed: 0 })).toThrow('expected batchSize >= 1. Received: batchSize=0');
    expect(() => samplerReport(s, LABELS, { batchSize: 8, seed: {} as never })).toThrow('expected seed to be a number or a string');
    expect(() => samplerReport(s, LABELS, { batchSize: 8, seed: 0, epochs: 3, startEpoch: 1, totalEpochs: 3 })).toThrow(
      'expected startEpoch + epochs <= totalEpochs (3). Received: startEpoch + epochs=4',
    );
    expect(() => samplerReport(s, [0, -1], { batchSize: 8, seed: 0 })).toThrow('expected labels >= 0. Received: labels[1]=-1');
    expect(() => samplerReport(s, [], { batchSize: 8, seed: 0 })).toThrow('expected at least one label to sample from. Received: labels.length=0');
    expect(() => samplerReport(s, LABELS, { batchSize: 8, seed: 0, target: [1, 1] })).toThrow(
      'expected target.length (the number of classes in labels) = 5. Received: target.length=2',
    );
    expect(code(() => samplerReport(s, LABELS, { batchSize: 8, seed: 0, target: [1, 1] }))).toBe('SHAPE_MISMATCH');
    expect(() => samplerReport(s, LABELS, { batchSize: 8, seed: 0, target: [0, 0, 0, 0, 0] })).toThrow('expected target to have a positive entry');
    expect(() => samplerReport({} as never, LABELS, { batchSize: 8, seed: 0 })).toThrow('expected sampler to be a Sampler (an object with batches)');
    expect(() => s.targetDistribution?.(COUNTS, { epochs: 2 } as never)).toThrow(
      'expected classBalancedSampler targetDistribution options to be among epoch, totalEpochs. Received: epochs (did you mean epoch?)',
    );
  });
});
