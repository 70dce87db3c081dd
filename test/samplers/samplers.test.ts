import { describe, expect, it } from 'vitest';
import { seededRng } from '../../src/core/rng.js';
import { toConfig } from '../../src/core/registry.js';
import { LongTailError } from '../../src/core/errors.js';
import {
  classBalancedSampler,
  classSamplingProbabilities,
  samplerFromConfig,
  instanceSampler,
  mPerClassSampler,
  powerSampler,
  progressiveProbabilities,
  progressiveSampler,
  samplerRegistry,
  samplerReport,
  squareRootSampler,
} from '../../src/samplers/index.js';
import type { Sampler, SamplerContext, SamplerSpec } from '../../src/samplers/index.js';

const COUNTS = [600, 359, 215, 129, 77, 46, 27, 16, 10, 6];
/** Long-tailed labels, interleaved so that sample order carries no class information. */
const LABELS = (() => {
  const out: number[] = [];
  COUNTS.forEach((n, j) => {
    for (let k = 0; k < n; k++) out.push(j);
  });
  const rng = seededRng('labels');
  return rng.shuffle(Int32Array.from(out));
})();

function ctx(seed: number, over: Partial<SamplerContext> = {}): SamplerContext {
  return { epoch: 0, totalEpochs: 10, batchSize: 64, rng: seededRng(seed), ...over };
}

function epoch(sampler: Sampler, c: SamplerContext, labels: Int32Array = LABELS): Int32Array[] {
  return Array.from(sampler.batches(labels, c));
}

function classFrequencies(batches: Int32Array[], labels: Int32Array, numClasses: number): number[] {
  const f = new Array(numClasses).fill(0);
  for (const b of batches) for (const i of b) f[labels[i] as number]++;
  return f;
}

/** The report's verdict at a fixed seed: the emitted class frequencies are consistent with the target. */
const ALPHA = 1e-3;

/** Naive reference: p_j = n_j^q / Σ n^q. */
function naivePower(counts: number[], q: number): number[] {
  const w = counts.map((n) => (n > 0 ? n ** q : 0));
  const s = w.reduce((a, b) => a + b, 0);
  return w.map((v) => v / s);
}

describe('class probabilities', () => {
  it('p_j ∝ n_j^q matches the naive formula; q = 1 is the prior, q = 0 uniform', () => {
    for (const q of [0, 0.5, 1, 2]) {
      const p = classSamplingProbabilities(COUNTS, { q });
      naivePower(COUNTS, q).forEach((v, j) => expect(p[j]).toBeCloseTo(v, 14));
    }
    expect(Array.from(classSamplingProbabilities([3, 0, 1], { q: 0 }))).toEqual([0.5, 0, 0.5]);
  });

  it('progressive: instance at epoch 0, (1 − t/T)·IB + (t/T)·CB later', () => {
    const ib = naivePower(COUNTS, 1);
    const cb = naivePower(COUNTS, 0);
    expect(Array.from(progressiveProbabilities(COUNTS, { epoch: 0, totalEpochs: 4 }))).toEqual(
      Array.from(classSamplingProbabilities(COUNTS, { q: 1 })),
    );
    const p = progressiveProbabilities(COUNTS, { epoch: 3, totalEpochs: 4 });
    ib.forEach((v, j) => expect(p[j]).toBeCloseTo(0.25 * v + 0.75 * (cb[j] as number), 14));
    expect(() => progressiveProbabilities(COUNTS, { epoch: 4, totalEpochs: 4 })).toThrow(
      'expected epoch < totalEpochs (4). Received: epoch=4',
    );
  });

  it('on balanced labels class-balanced and instance targets coincide', () => {
    expect(Array.from(classSamplingProbabilities([5, 5, 5], { q: 0 }))).toEqual(Array.from(classSamplingProbabilities([5, 5, 5], { q: 1 })));
  });
});

describe('samplers', () => {
  it('instance: a permutation of all samples per epoch; more samples repeat every index evenly', () => {
    const batches = epoch(instanceSampler(), ctx(1));
    expect(batches.map((b) => b.length)).toEqual([...Array(23).fill(64), 1485 - 23 * 64]);
    const all = batches.flatMap((b) => Array.from(b));
    expect(all.slice().sort((a, b) => a - b)).toEqual(Array.from({ length: 1485 }, (_, i) => i));
    const long = epoch(instanceSampler({ numSamples: 2 * 1485 + 100 }), ctx(2)).flatMap((b) => Array.from(b));
    expect(long.length).toBe(2 * 1485 + 100);
    const hits = new Array(1485).fill(0);
    for (const i of long) hits[i]++;
    expect(Math.min(...hits)).toBe(2);
    expect(Math.max(...hits)).toBe(3);
  });

  const cases: [string, Sampler, ArrayLike<number>][] = [
    ['classBalanced', classBalancedSampler({ numSamples: 20000 }), naivePower(COUNTS, 0)],
    ['squareRoot', powerSampler({ numSamples: 20000 }), naivePower(COUNTS, 0.5)],
    ['power q = 0.25', powerSampler({ q: 0.25, numSamples: 20000 }), naivePower(COUNTS, 0.25)],
    ['instance', instanceSampler({ numSamples: 20000 }), naivePower(COUNTS, 1)],
  ];
  for (const [name, sampler, target] of cases) {
    it(`${name}: its target is the naive p_j, and the emitted frequencies pass the report's chi-square test`, () => {
      const t = sampler.targetDistribution?.(COUNTS);
      (target as number[]).forEach((v, j) => expect(t?.probabilities[j]).toBeCloseTo(v, 14));
      expect(t?.samplesPerDraw).toBe(1);
      const r = samplerReport(sampler, LABELS, { batchSize: 64, seed: 7 });
      expect(r.numSamples).toBe(20000);
      expect(r.chiSquare.dof).toBe(9);
      expect(r.chiSquare.pValue).toBeGreaterThan(ALPHA);
      // The same frequencies against the naive target, through the `target` option, agree.
      const again = samplerReport(sampler, LABELS, { batchSize: 64, seed: 7, target });
      expect(again.chiSquare.statistic).toBeCloseTo(r.chiSquare.statistic, 8);
    });
  }

  it('the test has power: square-root frequencies fail against the class-balanced and instance targets', () => {
    const sampler = powerSampler({ numSamples: 20000 });
    for (const q of [0, 1, 0.4]) {
      const r = samplerReport(sampler, LABELS, { batchSize: 64, seed: 7, target: naivePower(COUNTS, q) });
      expect(r.customTarget).toBe(true);
      expect(r.chiSquare.pValue).toBeLessThan(ALPHA);
    }
  });

  it('class-aware draws walk each class evenly: within a class, use counts differ by at most one', () => {
    const batches = epoch(classBalancedSampler({ numSamples: 20000 }), ctx(3));
    const hits = new Array(LABELS.length).fill(0);
    for (const b of batches) for (const i of b) hits[i]++;
    for (let j = 0; j < 10; j++) {
      const mine = hits.filter((_, i) => LABELS[i] === j);
      expect(Math.max(...mine) - Math.min(...mine)).toBeLessThanOrEqual(1);
    }
  });

  it('progressive follows its epoch\'s mixture, and not its neighbours\' at a distance', () => {
    const sampler = progressiveSampler({ numSamples: 20000 });
    for (const e of [0, 5, 9]) {
      const t = sampler.targetDistribution?.(COUNTS, { epoch: e, totalEpochs: 10 });
      expect(Array.from(t?.probabilities ?? [])).toEqual(Array.from(progressiveProbabilities(COUNTS, { epoch: e, totalEpochs: 10 })));
      const r = samplerReport(sampler, LABELS, { batchSize: 64, seed: e + 100, startEpoch: e, totalEpochs: 10 });
      expect(r.epochs).toEqual([e]);
      expect(r.chiSquare.pValue).toBeGreaterThan(ALPHA);
    }
    const wrong = samplerReport(sampler, LABELS, { batchSize: 64, seed: 105, startEpoch: 5, totalEpochs: 10, target: progressiveProbabilities(COUNTS, { epoch: 2, totalEpochs: 10 }) });
    expect(wrong.chiSquare.pValue).toBeLessThan(ALPHA);
    // Over the whole schedule the expected counts sum the per-epoch mixtures.
    const all = samplerReport(sampler, LABELS, { batchSize: 64, seed: 3, epochs: 10 });
    expect(all.epochs).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(all.numSamples).toBe(200000);
    let e9 = 0;
    for (let e = 0; e < 10; e++) e9 += 20000 * (progressiveProbabilities(COUNTS, { epoch: e, totalEpochs: 10 })[9] as number);
    expect(all.classes[9]?.expected).toBeCloseTo(e9, 6);
    expect(all.chiSquare.pValue).toBeGreaterThan(ALPHA);
    expect(() => sampler.targetDistribution?.(COUNTS, { epoch: 1 })).toThrow(
      'expected the progressive target to be given epoch and totalEpochs. Received: totalEpochs=undefined',
    );
  });

  it('mPerClass: every batch has batchSize / m distinct classes with m samples each; classes uniform overall', () => {
    const sampler = mPerClassSampler({ m: 4, numSamples: 8000 });
    const batches = epoch(sampler, ctx(5, { batchSize: 16 }));
    expect(batches.length).toBe(500);
    for (const b of batches) {
      expect(b.length).toBe(16);
      const per = new Map<number, number>();
      for (const i of b) per.set(LABELS[i] as number, (per.get(LABELS[i] as number) ?? 0) + 1);
      expect(per.size).toBe(4);
      for (const v of per.values()) expect(v).toBe(4);
    }
    // Classes arrive in groups of m, so the report tests class choices (samples / m): Pearson's statistic on
    // samples would be inflated by the factor m·(1 − k/C) of this clustering.
    const r = samplerReport(sampler, LABELS, { batchSize: 16, seed: 5 });
    expect(r.samplesPerDraw).toBe(4);
    expect(r.numBatches).toBe(500);
    expect(r.classes.map((c) => c.targetShare)).toEqual(Array(10).fill(0.1));
    expect(r.chiSquare.pValue).toBeGreaterThan(ALPHA);
    expect(samplerReport(sampler, LABELS, { batchSize: 16, seed: 5, target: naivePower(COUNTS, 0.5) }).chiSquare.pValue).toBeLessThan(ALPHA);
    // Rounds up to whole batches.
    expect(epoch(mPerClassSampler({ m: 2 }), ctx(5, { batchSize: 8 })).length).toBe(Math.ceil(1485 / 8));
  });

  it('every sampler is deterministic given the seed and differs across seeds', () => {
    const all: Sampler[] = [
      instanceSampler(),
      classBalancedSampler(),
      powerSampler(),
      progressiveSampler(),
      mPerClassSampler({ m: 8 }),
    ];
    for (const s of all) {
      const a = epoch(s, ctx(11, { epoch: 3 })).map((b) => Array.from(b));
      const b = epoch(s, ctx(11, { epoch: 3 })).map((b2) => Array.from(b2));
      const c = epoch(s, ctx(12, { epoch: 3 })).map((b2) => Array.from(b2));
      expect(a).toEqual(b);
      expect(a).not.toEqual(c);
      for (const batch of a) for (const i of batch) expect(i >= 0 && i < LABELS.length).toBe(true);
    }
  });

  it('absent classes are never drawn', () => {
    const labels = Int32Array.from([0, 0, 0, 2, 2, 4]);
    for (const s of [classBalancedSampler({ numSamples: 300 }), powerSampler({ numSamples: 300 }), progressiveSampler({ numSamples: 300 })]) {
      const f = classFrequencies(epoch(s, ctx(1, { epoch: 4 }), labels), labels, 5);
      expect(f[1]).toBe(0);
      expect(f[3]).toBe(0);
      expect(f[4]).toBeGreaterThan(0);
    }
  });

  it('rejects bad input with stable messages', () => {
    expect(() => epoch(instanceSampler(), ctx(1), Int32Array.from([0, -1]))).toThrow('expected labels >= 0. Received: labels[1]=-1');
    expect(() => epoch(instanceSampler(), ctx(1), new Int32Array(0))).toThrow(
      'expected at least one label to sample from. Received: labels.length=0',
    );
    expect(() => epoch(classBalancedSampler(), ctx(1, { batchSize: 0 }))).toThrow('expected batchSize >= 1. Received: batchSize=0');
    expect(() => instanceSampler({ numSamples: 0 })).toThrow('expected numSamples >= 1. Received: numSamples=0');
    expect(() => powerSampler({ q: Number.NaN })).toThrow('expected q to be a finite number. Received: q=NaN');
    expect(() => epoch(progressiveSampler(), ctx(1, { epoch: 10, totalEpochs: 10 }))).toThrow(
      'expected epoch < totalEpochs (10). Received: epoch=10',
    );
    expect(() => mPerClassSampler({ m: 0 })).toThrow('expected m >= 1. Received: m=0');
    expect(() => epoch(mPerClassSampler({ m: 3 }), ctx(1, { batchSize: 16 }))).toThrow(
      'expected batchSize to be a multiple of m=3. Received: batchSize=16',
    );
    expect(() => epoch(mPerClassSampler({ m: 1 }), ctx(1, { batchSize: 16 }))).toThrow(
      'expected batchSize / m <= 10 (the number of classes present). Received: batchSize / m=16',
    );
  });
});

describe('samplerFromConfig and the registry', () => {
  const specs: SamplerSpec[] = [
    { kind: 'instance' },
    { kind: 'classBalanced', numSamples: 500 },
    { kind: 'squareRoot' },
    { kind: 'power', q: 0.3 },
    { kind: 'progressive' },
    { kind: 'mPerClass', m: 8 },
  ];
  it('builds every kind; toConfig → fromConfig rebuilds a sampler with identical batches', () => {
    for (const spec of specs) {
      const s = samplerFromConfig(spec);
      expect(s.kind).toBe(spec.kind);
      const again = samplerRegistry.fromConfig(toConfig(s));
      expect(again.config).toEqual(s.config);
      const a = epoch(s, ctx(4, { epoch: 2 })).map((b) => Array.from(b));
      expect(epoch(again, ctx(4, { epoch: 2 })).map((b) => Array.from(b))).toEqual(a);
    }
    expect(samplerFromConfig({ kind: 'power', q: 0.3 }).config).toEqual({ q: 0.3 });
    const custom = instanceSampler();
    expect(samplerFromConfig(custom)).toBe(custom);
    expect(samplerRegistry.kinds()).toEqual(['classBalanced', 'instance', 'mPerClass', 'power', 'progressive', 'squareRoot']);
  });

  it('powerSampler reports kind power with its q; squareRootSampler is power at q = 1/2 (same batches), kind squareRoot', () => {
    const power = powerSampler({ q: 0.3 });
    expect([power.kind, power.config]).toEqual(['power', { q: 0.3 }]);
    const half = powerSampler();
    const sqrt = squareRootSampler();
    expect([half.kind, half.config, sqrt.kind, sqrt.config]).toEqual(['power', { q: 0.5 }, 'squareRoot', {}]);
    expect(epoch(sqrt, ctx(4, { epoch: 1 })).map((b) => Array.from(b))).toEqual(epoch(half, ctx(4, { epoch: 1 })).map((b) => Array.from(b)));
    expect(() => squareRootSampler({ q: 0.3 } as never)).toThrow(LongTailError);
  });

  it('unknown kinds and bad configs fail clearly', () => {
    expect(() => samplerFromConfig({ kind: 'oversample' } as unknown as SamplerSpec)).toThrow(
      'expected a sampler kind, one of classBalanced, instance, mPerClass, power, progressive, squareRoot. Received: kind="oversample"',
    );
    expect(() => samplerFromConfig({ kind: 'mPerClass' } as unknown as SamplerSpec)).toThrow('expected m to be an integer. Received: m=undefined');
    expect(() => samplerRegistry.fromConfig({ kind: 'power', config: { q: 'half' } })).toThrow(
      'expected q to be a number. Received: q="half"',
    );
  });
});
