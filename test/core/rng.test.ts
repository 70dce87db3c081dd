import { describe, expect, it } from 'vitest';
import { seededRng, permutation, restoreRng, sampleBeta, sampleGamma } from '../../src/core/rng.js';
import { LongTailError } from '../../src/core/errors.js';

describe('Rng', () => {
  it('same seed gives the same stream; different seeds differ', () => {
    const a = seededRng(42);
    const b = seededRng(42);
    const c = seededRng(43);
    const xa = Array.from({ length: 10 }, () => a.next());
    const xb = Array.from({ length: 10 }, () => b.next());
    const xc = Array.from({ length: 10 }, () => c.next());
    expect(xa).toEqual(xb);
    expect(xa).not.toEqual(xc);
    for (const v of xa) expect(v >= 0 && v < 1).toBe(true);
  });

  it('fork is a pure function of key and label, independent of the parent position', () => {
    const a = seededRng(7);
    const f1 = a.fork('sampler').next();
    a.next();
    a.next();
    const f2 = a.fork('sampler').next();
    expect(f1).toBe(f2);
    expect(a.fork('sampler').next()).not.toBe(a.fork('synth').next());
    expect(a.fork('x').fork('y').next()).toBe(seededRng(7).fork('x').fork('y').next());
  });

  it('state() and restoreRng continue exactly', () => {
    const a = seededRng(3);
    for (let i = 0; i < 5; i++) a.next();
    const s = JSON.parse(JSON.stringify(a.state()));
    const expected = Array.from({ length: 5 }, () => a.next());
    const b = restoreRng(s);
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(expected);
  });

  it('int, normal, permutation, gamma and beta have the right ranges and moments', () => {
    const r = seededRng(1);
    const counts = new Array(5).fill(0);
    let sum = 0;
    let sq = 0;
    const n = 20000;
    for (let i = 0; i < n; i++) {
      counts[r.int(5)]++;
      const z = r.normal();
      sum += z;
      sq += z * z;
    }
    for (const c of counts) expect(Math.abs(c / n - 0.2)).toBeLessThan(0.02);
    expect(Math.abs(sum / n)).toBeLessThan(0.03);
    expect(Math.abs(sq / n - 1)).toBeLessThan(0.05);
    const p = permutation(r, 100);
    expect(Array.from(p).sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    let g = 0;
    let b = 0;
    for (let i = 0; i < 5000; i++) {
      g += sampleGamma(r, 2.5);
      b += sampleBeta(r, 2, 3);
    }
    expect(Math.abs(g / 5000 - 2.5)).toBeLessThan(0.1);
    expect(Math.abs(b / 5000 - 0.4)).toBeLessThan(0.02);
  });

  it('rejects bad seeds and bounds with LongTailError', () => {
    expect(() => seededRng(1.5)).toThrowError(LongTailError);
    expect(() => seededRng(1).int(0)).toThrowError('expected maxExclusive >= 1. Received: maxExclusive=0');
  });
});
