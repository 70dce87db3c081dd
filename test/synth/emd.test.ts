import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { LongTailError } from '../../src/core/errors.js';
import { seededRng } from '../../src/core/rng.js';
import { emd } from '../../src/synth/emd.js';
import { expectClose, expectNoLeak } from '../../src/testing/index.js';

interface EmdCase {
  name: string;
  a: number[] | null;
  b: number[] | null;
  M: number[][];
  plan: number[][];
  cost: number;
  u?: number[];
  v?: number[];
  duals: boolean;
}
const golden = JSON.parse(readFileSync(new URL('../golden/synth_ot.json', import.meta.url), 'utf8')) as { emd: EmdCase[] };
const flat = (plan: readonly Float64Array[]): number[] => plan.flatMap((row) => Array.from(row));

/** Row and column sums of the plan equal a and b; u_i + v_j ≤ M_ij, tight where P_ij > 0; dual value = cost. */
function expectOptimalityCertificate(res: ReturnType<typeof emd>, a: number[], b: number[], M: number[][]): void {
  const n = a.length;
  const m = b.length;
  res.plan.forEach((row, i) => expectClose(row.reduce((s, p) => s + p, 0), a[i] as number, { rtol: 1e-9, atol: 1e-15, name: `row ${i}` }));
  for (let j = 0; j < m; j++) expectClose(res.plan.reduce((s, row) => s + (row[j] as number), 0), b[j] as number, { rtol: 1e-9, atol: 1e-15, name: `col ${j}` });
  const scale = Math.max(...M.flat().filter(Number.isFinite), 1);
  let dual = 0;
  for (let i = 0; i < n; i++) {
    dual += (a[i] as number) * (res.u[i] as number);
    for (let j = 0; j < m; j++) {
      const slack = ((M[i] as number[])[j] as number) - (res.u[i] as number) - (res.v[j] as number);
      expect(slack).toBeGreaterThan(-1e-10 * scale);
      if (((res.plan[i] as Float64Array)[j] as number) > 0) expect(Math.abs(slack)).toBeLessThan(1e-10 * scale);
    }
  }
  for (let j = 0; j < m; j++) dual += (b[j] as number) * (res.v[j] as number);
  expectClose(dual, res.cost, { rtol: 1e-10, atol: 1e-14, name: 'dual value' });
}

function permutations(n: number): number[][] {
  if (n === 0) return [[]];
  return permutations(n - 1).flatMap((p) => Array.from({ length: n }, (_, k) => [...p.slice(0, k), n - 1, ...p.slice(k)]));
}

describe('emd against POT 0.8.2 ot.emd / ot.emd2 (golden, random problems)', () => {
  for (const g of golden.emd) {
    it(g.name, () => {
      const res = emd(g.a ?? undefined, g.b ?? undefined, g.M);
      expect(res.optimal).toBe(true);
      expectClose(res.cost, g.cost, { rtol: 1e-10, atol: 1e-14, name: 'cost' });
      expectClose(flat(res.plan), g.plan.flat(), { rtol: 1e-8, atol: 1e-12, name: 'plan' });
      if (g.duals) {
        expectClose(res.u, g.u as number[], { rtol: 1e-8, atol: 1e-10, name: 'u' });
        expectClose(res.v, g.v as number[], { rtol: 1e-8, atol: 1e-10, name: 'v' });
      }
      const n = g.M.length;
      const m = (g.M[0] as number[]).length;
      expectOptimalityCertificate(res, g.a ?? new Array(n).fill(1 / n), g.b ?? new Array(m).fill(1 / m), g.M);
    });
  }
});

describe('emd against brute force over permutation matrices (uniform, equal sizes)', () => {
  it('n = 1..6, 120 random problems, including tied (integer) costs', () => {
    const rng = seededRng(31);
    for (let t = 0; t < 120; t++) {
      const n = 1 + (t % 6);
      const ties = t % 3 === 0;
      const M = Array.from({ length: n }, () => Array.from({ length: n }, () => (ties ? Math.floor(rng.next() * 3) : rng.next())));
      let best = Infinity;
      for (const p of permutations(n)) best = Math.min(best, p.reduce((s, j, i) => s + ((M[i] as number[])[j] as number), 0) / n);
      const res = emd(undefined, undefined, M);
      expect(res.optimal).toBe(true);
      expectClose(res.cost, best, { rtol: 1e-12, atol: 1e-15, name: `problem ${t} cost` });
      const u = new Array(n).fill(1 / n);
      expectOptimalityCertificate(res, u, u, M);
    }
  });
});

describe('emd options, forbidden pairs, tensors and errors', () => {
  it('+Infinity forbids a pair: same optimum as a prohibitive finite cost, 0 on the pair', () => {
    const rng = seededRng(9);
    const M = Array.from({ length: 5 }, () => Array.from({ length: 6 }, () => rng.next()));
    const forbidden = M.map((row) => [...row]);
    (forbidden[0] as number[])[2] = Infinity;
    (forbidden[3] as number[])[1] = Infinity;
    (forbidden[4] as number[])[5] = Infinity;
    const big = forbidden.map((row) => row.map((c) => (c === Infinity ? 1e3 : c)));
    const a = [0.1, 0.3, 0.2, 0.25, 0.15];
    const b = [0.2, 0.1, 0.2, 0.1, 0.25, 0.15];
    const x = emd(a, b, forbidden);
    const y = emd(a, b, big);
    expectClose(x.cost, y.cost, { rtol: 1e-12 });
    expect((x.plan[0] as Float64Array)[2]).toBe(0);
    expect((x.plan[3] as Float64Array)[1]).toBe(0);
    expect(() => emd([0.5, 0.5], [0.5, 0.5], [[0, Infinity], [0, Infinity]])).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTION', message: expect.stringMatching(/^expected column 1 of M \(b\[1\] > 0\) to allow a pair/) }),
    );
    // Every bin has an allowed pair, but rows 0 and 1 (mass 0.6) can only reach column 0 (mass 0.5).
    expect(() => emd([0.3, 0.3, 0.4], [0.5, 0.5], [[0, Infinity], [0, Infinity], [0, 0]])).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTION', message: expect.stringMatching(/forbidden pairs .* to leave a feasible plan/) }),
    );
  });

  it('tensor inputs, planTensor on request, masses rescaled as POT, deterministic, no leak', async () => {
    const M = tf.tensor2d([
      [0, 2, 1],
      [2, 0, 1],
    ]);
    const a = tf.tensor1d([1, 1]);
    const res = emd(a, [0.5, 0.5, 1.0000001], M, { planTensor: true });
    expect(res.planTensor?.shape).toEqual([2, 3]);
    expectClose(res.planTensor as tf.Tensor, flat(res.plan), { rtol: 1e-6 });
    expectClose(res.cost, 1, { rtol: 1e-6 });
    res.planTensor?.dispose();
    expect(flat(emd(undefined, undefined, M).plan)).toEqual(flat(emd(undefined, undefined, M).plan));
    await expectNoLeak(() => emd(a, [1, 0.5, 0.5], M, { maxIterations: 10 }));
    expect(M.isDisposed).toBe(false);
    tf.dispose([M, a]);
  });

  it('maxIterations stops early with optimal: false and a feasible plan', () => {
    const rng = seededRng(2);
    const M = Array.from({ length: 8 }, () => Array.from({ length: 8 }, () => rng.next()));
    const full = emd(undefined, undefined, M);
    const capped = emd(undefined, undefined, M, { maxIterations: 2 });
    expect(full.optimal).toBe(true);
    expect(capped.optimal).toBe(false);
    expect(capped.iterations).toBe(2);
    expect(full.iterations).toBeGreaterThan(2);
  });

  it('bad input: LongTailError before any tensor', () => {
    const before = tf.memory().numTensors;
    const cases: [() => unknown, string, string][] = [
      [() => emd([0.5, 0.5], [0.2, 0.2], [[0, 1], [1, 0]]), 'expected a and b to have the same total mass (to 1e-6 relative). Received: sum(a)=1, sum(b)=0.4', 'INVALID_OPTION'],
      [() => emd(undefined, undefined, [[0, Infinity - Infinity]]), 'expected M to be finite or +Infinity (a forbidden pair) everywhere. Received: M[0][1]=NaN', 'NON_FINITE'],
      [() => emd(undefined, undefined, [[0, 1]], { numItermax: 5 } as never), 'expected emd options to be among maxIterations, planTensor. Received: numItermax (did you mean maxIterations?)', 'UNKNOWN_OPTION'],
      [() => emd(undefined, undefined, [[0, 1]], { maxIterations: -1 }), 'expected maxIterations >= 0. Received: maxIterations=-1', 'INVALID_OPTION'],
      [() => emd([-1, 2], undefined, [[0], [1]]), 'expected every a entry >= 0. Received: a[0]=-1', 'INVALID_OPTION'],
    ];
    for (const [call, message, code] of cases) {
      expect(call).toThrow(LongTailError);
      expect(call).toThrow(expect.objectContaining({ code, message }));
      expect(tf.memory().numTensors).toBe(before);
    }
  });
});
