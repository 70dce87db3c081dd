/**
 * The chi-square test behind samplerReport, against SciPy (scripts/golden/chi_square.py →
 * test/golden/chi_square.json) and closed forms.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { logGamma, pearsonChiSquare, regularizedGammaQ } from '../../src/samplers/chi-square.js';

const golden = JSON.parse(readFileSync(join(__dirname, '..', 'golden', 'chi_square.json'), 'utf8')) as {
  gammaincc: { a: number; x: number; q: number }[];
  gammaln: { x: number; value: number }[];
  chisquare: { observed: number[]; expected: number[]; statistic: number; pValue: number; dof: number }[];
};

/** Relative closeness, for values spanning many orders of magnitude. */
function expectRelClose(actual: number, expected: number, rel: number): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(rel * Math.abs(expected) + 1e-300);
}

describe('regularised upper incomplete gamma', () => {
  it('matches scipy.special.gammaincc over a grid (both the series and the continued-fraction branch)', () => {
    expect(golden.gammaincc.length).toBe(112);
    for (const { a, x, q } of golden.gammaincc) expectRelClose(regularizedGammaQ(a, x), q, 1e-9);
  });

  it('log Γ matches scipy.special.gammaln; Γ(n) = (n − 1)!', () => {
    for (const { x, value } of golden.gammaln) expect(logGamma(x)).toBeCloseTo(value, 11);
    expect(Math.exp(logGamma(6))).toBeCloseTo(120, 9);
  });

  it('closed forms: Q(1, x) = e^(−x); Q(1/2, x) = erfc(√x) at x = 2 (chi-square, 1 dof, χ² = 4)', () => {
    for (const x of [0.1, 1, 3, 20]) expectRelClose(regularizedGammaQ(1, x), Math.exp(-x), 1e-12);
    expect(regularizedGammaQ(0.5, 2)).toBeCloseTo(0.04550026389635842, 13);
    expect(regularizedGammaQ(3, 0)).toBe(1);
    expect(regularizedGammaQ(3, Infinity)).toBe(0);
  });

  it('rejects a ≤ 0 and x < 0', () => {
    expect(() => regularizedGammaQ(0, 1)).toThrow('expected a > 0 and finite. Received: a=0');
    expect(() => regularizedGammaQ(1, -1)).toThrow('expected x >= 0. Received: x=-1');
    expect(() => regularizedGammaQ(1, Number.NaN)).toThrow('expected x >= 0. Received: x=NaN');
  });
});

describe('pearsonChiSquare', () => {
  it('matches scipy.stats.chisquare (statistic, p-value) on the golden cases', () => {
    for (const c of golden.chisquare) {
      const r = pearsonChiSquare({ observed: c.observed, expected: c.expected });
      expect(r.dof).toBe(c.dof);
      expectRelClose(r.statistic, c.statistic, 1e-12);
      expectRelClose(r.pValue, c.pValue, 1e-9);
    }
  });

  it('zero-expected categories: excluded when unobserved, χ² = ∞ and p = 0 when observed; one category has p = 1', () => {
    const a = pearsonChiSquare({ observed: [5, 0, 5], expected: [5, 0, 5] });
    expect(a).toEqual({ statistic: 0, dof: 1, pValue: 1 });
    expect(pearsonChiSquare({ observed: [5, 1, 4], expected: [5, 0, 5] })).toEqual({ statistic: Infinity, dof: 1, pValue: 0 });
    expect(pearsonChiSquare({ observed: [7], expected: [7] })).toEqual({ statistic: 0, dof: 0, pValue: 1 });
  });

  it('rejects mismatched sums and lengths, negative entries and unknown keys', () => {
    expect(() => pearsonChiSquare({ observed: [1, 2], expected: [1, 1] })).toThrow(
      'expected the observed and expected counts to have the same sum. Received: sum(observed)=3, sum(expected)=2',
    );
    expect(() => pearsonChiSquare({ observed: [1, 2], expected: [3] })).toThrow('expected observed.length = 1. Received: expected.length=2');
    expect(() => pearsonChiSquare({ observed: [1, -2], expected: [1, 1] })).toThrow(
      'expected every observed entry to be a finite number >= 0. Received: observed[1]=-2',
    );
    expect(() => pearsonChiSquare({ observed: [1], expected: [1], expectd: [1] } as never)).toThrow(
      'expected pearsonChiSquare options to be among observed, expected. Received: expectd (did you mean expected?)',
    );
  });
});
