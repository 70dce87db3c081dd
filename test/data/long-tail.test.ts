import { readFileSync } from 'node:fs';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { seededRng } from '../../src/core/rng.js';
import {
  formatLongTailSplit,
  loadLongTailSplit,
  longTailCounts,
  longTailIndices,
  parseLongTailSplit,
} from '../../src/data/long-tail.js';

// The reference long-tailed splits, copied into the repository, so the test needs nothing outside the repository.
const SHARED = join(__dirname, '..', 'fixtures', 'fashion-mnist-lt');
const golden = JSON.parse(readFileSync(join(__dirname, '..', 'golden', 'data.json'), 'utf8')) as {
  exponential: { maxCount: number; imbalanceFactor: number; numClasses: number; counts: number[] }[];
};

describe('longTailCounts', () => {
  it('reproduces the counts of the shared Fashion-MNIST-LT splits exactly (IF 100 and IF 10)', async () => {
    for (const [file, imbalanceFactor] of [
      ['fmnist_lt_exp_ir100_seed0.json', 100],
      ['fmnist_lt_exp_ir10_seed0.json', 10],
    ] as const) {
      const split = await loadLongTailSplit(join(SHARED, file));
      const counts = longTailCounts({ profile: 'exponential', numClasses: 10, maxCount: 6000, imbalanceFactor });
      expect(Array.from(counts)).toEqual(Array.from(split.counts));
      expect(split.profile).toBe('exponential');
      expect(split.imbalanceFactor).toBe(imbalanceFactor);
    }
  });

  it('matches the reference formula (LDAM-DRW code, numpy) over a grid and a plain loop', () => {
    for (const g of golden.exponential) {
      const counts = longTailCounts({ profile: 'exponential', numClasses: g.numClasses, maxCount: g.maxCount, imbalanceFactor: g.imbalanceFactor });
      expect(Array.from(counts), JSON.stringify(g)).toEqual(g.counts);
      const loop = Array.from({ length: g.numClasses }, (_, i) =>
        Math.floor(g.maxCount * Math.pow(g.imbalanceFactor, -i / (g.numClasses - 1)) + 1e-7),
      );
      expect(Array.from(counts)).toEqual(loop);
    }
    expect(Array.from(longTailCounts({ profile: 'exponential', numClasses: 10, maxCount: 600, imbalanceFactor: 100 }))).toEqual([
      600, 359, 215, 129, 77, 46, 27, 16, 10, 6,
    ]);
  });

  it('step profile: half the classes at n_max, the rest at n_max / IF', () => {
    expect(Array.from(longTailCounts({ profile: 'step', numClasses: 10, maxCount: 500, imbalanceFactor: 10 }))).toEqual([
      500, 500, 500, 500, 500, 50, 50, 50, 50, 50,
    ]);
    expect(Array.from(longTailCounts({ profile: 'step', numClasses: 5, maxCount: 90, imbalanceFactor: 3, headClasses: 1 }))).toEqual([
      90, 30, 30, 30, 30,
    ]);
  });

  it('rejects bad options', () => {
    const base = { profile: 'exponential', numClasses: 10, maxCount: 600, imbalanceFactor: 100 } as const;
    expect(() => longTailCounts({ ...base, imbalanceFactor: 0.5 })).toThrow(
      'expected imbalanceFactor in [1, inf). Received: imbalanceFactor=0.5',
    );
    expect(() => longTailCounts({ ...base, numClasses: 1 })).toThrow('expected numClasses >= 2. Received: numClasses=1');
    expect(() => longTailCounts({ ...base, profile: 'linear' as 'step' })).toThrow(
      'expected profile to be one of "exponential", "step". Received: profile="linear"',
    );
    expect(() => longTailCounts({ ...base, profile: 'step', headClasses: 11 })).toThrow(
      'expected headClasses <= numClasses (10). Received: headClasses=11',
    );
  });
});

describe('longTailIndices', () => {
  const labels = Int32Array.from({ length: 300 }, (_, i) => i % 3);

  it('takes counts[j] distinct samples of each class, grouped by class, deterministically', () => {
    const a = longTailIndices(labels, { counts: [50, 20, 5], rng: seededRng(1) });
    const b = longTailIndices(labels, { counts: [50, 20, 5], rng: seededRng(1) });
    const c = longTailIndices(labels, { counts: [50, 20, 5], rng: seededRng(2) });
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
    expect(a.length).toBe(75);
    expect(new Set(a).size).toBe(75);
    const classes = Array.from(a, (i) => labels[i]);
    expect(classes).toEqual([...Array(50).fill(0), ...Array(20).fill(1), ...Array(5).fill(2)]);
  });

  it('is uniform within a class (every sample of class 0 is picked about equally often)', () => {
    const hits = new Float64Array(300);
    const rng = seededRng(3);
    const trials = 400;
    for (let t = 0; t < trials; t++) for (const i of longTailIndices(labels, { counts: [10, 0, 0], rng })) hits[i] = (hits[i] as number) + 1;
    // Each of the 100 class-0 samples: Binomial(400, 0.1), mean 40, sd 6; bound at 6 sd.
    for (let i = 0; i < 300; i += 3) expect(Math.abs((hits[i] as number) - 40)).toBeLessThan(36);
    let chi = 0;
    for (let i = 0; i < 300; i += 3) chi += ((hits[i] as number) - 40) ** 2 / 40;
    // chi-square with 99 dof: mean 99, sd 14; 99 + 6·14.
    expect(chi).toBeLessThan(183);
  });

  it('throws EMPTY_CLASS when a class has too few samples', () => {
    expect(() => longTailIndices(labels, { counts: [101, 0, 0], rng: seededRng(0) })).toThrow(
      'expected class 0 to have at least counts[0]=101 samples. Received: 100 samples of class 0',
    );
    expect(() => longTailIndices([0, 5], { counts: [1, 1], rng: seededRng(0) })).toThrow(
      'expected labels in [0, 2). Received: labels[1]=5',
    );
  });
});

describe('split files', () => {
  it('parse → format → parse round-trips, and the shared files have distinct indices', async () => {
    const split = await loadLongTailSplit(join(SHARED, 'fmnist_lt_exp_ir100_seed0.json'));
    expect(split.indices.length).toBe(14886);
    expect(new Set(split.indices).size).toBe(14886);
    const again = parseLongTailSplit(JSON.parse(formatLongTailSplit(split)));
    expect(again).toEqual(split);
  });

  it('gives INVALID_DATA for malformed splits and MISSING_INPUT for absent files', async () => {
    expect(() => parseLongTailSplit({ profile: 'exp', imb_ratio: 10, counts: [1, 1], indices: [3] })).toThrow(
      'expected split to have indices.length = sum of counts (2). Received: indices.length=1',
    );
    expect(() => parseLongTailSplit({ profile: 'zipf', imb_ratio: 10, counts: [], indices: [] })).toThrow(/INVALID|profile "exp" or "step"/);
    expect(() => parseLongTailSplit({ profile: 'exp', imb_ratio: 10, counts: [1, -1], indices: [] })).toThrow(
      /counts as non-negative integers/,
    );
    const dir = mkdtempSync(join(tmpdir(), 'lt-split-'));
    writeFileSync(join(dir, 'bad.json'), '{ not json');
    await expect(loadLongTailSplit(join(dir, 'bad.json'))).rejects.toMatchObject({ code: 'INVALID_DATA' });
    await expect(loadLongTailSplit(join(dir, 'absent.json'))).rejects.toMatchObject({ code: 'MISSING_INPUT' });
  });
});

describe('split files: the writer\'s output reads back', () => {
  const split = {
    dataset: 'toy',
    profile: 'exponential' as const,
    imbalanceFactor: 10,
    counts: Int32Array.from([3, 1]),
    indices: Int32Array.from([4, 0, 2, 7]),
  };

  it('parseLongTailSplit reads formatLongTailSplit\'s text as written (and its parsed JSON), both profiles', () => {
    for (const s of [split, { ...split, profile: 'step' as const, imbalanceFactor: 1, dataset: '' }]) {
      const text = formatLongTailSplit(s);
      expect(parseLongTailSplit(text)).toEqual(s);
      expect(parseLongTailSplit(JSON.parse(text))).toEqual(s);
    }
  });

  it('loadLongTailSplit reads a written file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lt-split-rt-'));
    writeFileSync(join(dir, 's.json'), `${formatLongTailSplit(split)}\n`);
    expect(await loadLongTailSplit(join(dir, 's.json'))).toEqual(split);
  });

  it('formatLongTailSplit refuses a split its reader would reject', () => {
    const cases: [unknown, string, RegExp][] = [
      [{ ...split, imbalanceFactor: NaN }, 'INVALID_OPTION', /expected imbalanceFactor to be a finite number\. Received: imbalanceFactor=NaN/],
      [{ ...split, imbalanceFactor: Infinity }, 'INVALID_OPTION', /imbalanceFactor=Infinity/],
      [{ ...split, imbalanceFactor: 0.5 }, 'INVALID_OPTION', /expected imbalanceFactor in \[1, inf\)/],
      [{ ...split, profile: 'exp' }, 'INVALID_OPTION', /expected profile to be one of "exponential", "step"/],
      [{ ...split, counts: [3, 2] }, 'INVALID_OPTION', /indices\.length = sum of counts \(5\)\. Received: indices\.length=4/],
      [{ ...split, indices: [4, 0, -2, 7] }, 'INVALID_OPTION', /indices as non-negative integers/],
      [{ ...split, counts: Float32Array.from([2.5, 1.5]) }, 'INVALID_OPTION', /counts as non-negative integers/],
      [{ ...split, dataset: 3 }, 'INVALID_OPTION', /dataset as a string/],
      [{ ...split, imb_ratio: 10 }, 'UNKNOWN_OPTION', /formatLongTailSplit split .*Received: imb_ratio/],
    ];
    for (const [s, code, message] of cases) {
      let caught: { code?: string; message: string } | undefined;
      try {
        formatLongTailSplit(s as never);
      } catch (e) {
        caught = e as { code?: string; message: string };
      }
      expect(caught?.code, message.source).toBe(code);
      expect(caught?.message).toMatch(message);
    }
  });

  it('parseLongTailSplit rejects text that is not JSON, non-finite ratios and unknown options', () => {
    expect(() => parseLongTailSplit('{ oops', { source: 's.json' })).toThrow('expected s.json to be JSON. Received: text that does not parse');
    expect(() => parseLongTailSplit({ profile: 'exp', imb_ratio: Infinity, counts: [], indices: [] })).toThrow(/imb_ratio >= 1 \(finite\)/);
    expect(() => parseLongTailSplit({ profile: 'exp', imb_ratio: 2, counts: [], indices: [] }, { src: 'x' } as never)).toThrow(
      /parseLongTailSplit options .*Received: src/,
    );
    expect(() => longTailCounts({ profile: 'step', numClasses: 2, maxCount: 2, imbalanceFactor: 1, head: 1 } as never)).toThrow(/longTailCounts options/);
    expect(() => longTailIndices([0], { counts: [1], rng: seededRng(0), seed: 1 } as never)).toThrow(/longTailIndices options/);
  });
});
