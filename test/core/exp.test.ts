import { describe, expect, it } from 'vitest';
import { exp64 } from '../../src/core/exp.js';
import { seededRng } from '../../src/core/rng.js';

/** Relative distance in float64 ulps of 1 (2^-52). */
function ulps(a: number, b: number): number {
  return Math.abs(a - b) / Math.abs(b) / 2 ** -52;
}

describe('exp64', () => {
  it('is within 2 ulp of Math.exp over the range the kernels use, and rounds to the same float32', () => {
    const rng = seededRng('exp64');
    let worst = 0;
    let f32Differences = 0;
    for (let t = 0; t < 200_000; t++) {
      const x = -60 * rng.next() + (t % 10 === 0 ? 60 * rng.next() : 0);
      const ours = exp64(x);
      const ref = Math.exp(x);
      worst = Math.max(worst, ulps(ours, ref));
      if (Math.fround(ours) !== Math.fround(ref)) f32Differences++;
    }
    expect(worst).toBeLessThanOrEqual(2);
    expect(f32Differences).toBe(0);
  });

  it('is exact where exp is: exp(0) = 1, and uses Math.exp at the ends of the range', () => {
    expect(exp64(0)).toBe(1);
    expect(exp64(-0)).toBe(1);
    for (const x of [-Infinity, Infinity, -745.2, -700, 700, 709.7, 710]) expect(exp64(x)).toBe(Math.exp(x));
    expect(exp64(Number.NaN)).toBeNaN();
  });

  it('is within 2 ulp just inside the cut-offs and around the reduction boundaries k·ln 2 ± ln 2 / 2', () => {
    const xs = [-699.999, 699.999, -1e-300, 1e-300, Math.LN2 / 2, -Math.LN2 / 2, 3.5 * Math.LN2, -20.5 * Math.LN2, -1000.5 * Math.LN2 / 1.5];
    for (const x of xs) expect(ulps(exp64(x), Math.exp(x))).toBeLessThanOrEqual(2);
  });
});
