import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { seededRng } from '../../src/core/rng.js';
import { getKernel } from '../../src/core/wasm-kernel.js';
import { normalizeByMax, sinkhorn, squaredEuclidean } from '../../src/synth/sinkhorn.js';
import { expectClose, expectNoLeak } from '../../src/testing/index.js';

interface Run32 {
  epsilon: number;
  maxIterations: number;
  plan: number[];
  cost: number;
}
interface Case {
  name: string;
  n: number;
  m: number;
  a: number[];
  b: number[];
  cost: number[];
  runs32: Run32[];
}
const golden = JSON.parse(readFileSync(new URL('../golden/synth_sinkhorn.json', import.meta.url), 'utf8')) as { cases: Case[] };
const flat = (plan: readonly Float64Array[]): number[] => plan.flatMap((row) => Array.from(row));

/** A 37 × 53 problem (odd sizes: the SIMD tails run) with non-uniform weights. */
function problem(seed: number): { a: number[]; b: number[]; M: { values: Float64Array; rows: number; cols: number } } {
  const rng = seededRng(seed);
  const n = 37;
  const m = 53;
  const pts = (k: number, shift: number) => ({ values: Array.from({ length: k * 5 }, () => rng.normal() + shift), rows: k, cols: 5 });
  const M = normalizeByMax(squaredEuclidean(pts(n, 0), pts(m, 0.5)));
  const norm = (v: number[]) => {
    const s = v.reduce((x, y) => x + y, 0);
    return v.map((x) => x / s);
  };
  const a = norm(Array.from({ length: n }, () => rng.next() + 0.3));
  const b = norm(Array.from({ length: m }, () => rng.next() + 0.3));
  return { a, b, M: { values: M.values as Float64Array, rows: n, cols: m } };
}

describe("sinkhorn dtype: 'float32' (plain iteration in float32)", () => {
  for (const g of golden.cases) {
    for (const run of g.runs32) {
      it(`matches POT 0.8.2 ot.sinkhorn on float32 inputs: ${g.name} ε=${run.epsilon} (${run.maxIterations} it)`, () => {
        const res = sinkhorn(g.a, g.b, { values: g.cost, rows: g.n, cols: g.m }, {
          epsilon: run.epsilon,
          method: 'plain',
          maxIterations: run.maxIterations,
          tolerance: 0,
          dtype: 'float32',
        });
        expect(res.iterations).toBe(run.maxIterations);
        expect(res.method).toBe('plain');
        const maxP = Math.max(...run.plan);
        // Two float32 implementations (different summation orders): a few float32 ulps per entry.
        expectClose(flat(res.plan), run.plan, { rtol: 2e-5, atol: 1e-6 * maxP, name: 'plan' });
        expectClose(res.cost, run.cost, { rtol: 2e-5, atol: 0, name: 'cost' });
      });
    }
  }

  it('agrees with the float64 iteration within float32 rounding: plan, cost, marginals, potentials', () => {
    const { a, b, M } = problem(3);
    const opts = { epsilon: 0.03, method: 'plain', maxIterations: 300, tolerance: 0 } as const;
    const r64 = sinkhorn(a, b, M, opts);
    const r32 = sinkhorn(a, b, M, { ...opts, dtype: 'float32' });
    expect(r32.iterations).toBe(r64.iterations);
    const p64 = flat(r64.plan);
    const maxP = Math.max(...p64);
    expectClose(flat(r32.plan), p64, { rtol: 1e-4, atol: 1e-6 * maxP, name: 'plan' });
    expectClose(r32.cost, r64.cost, { rtol: 1e-5, name: 'cost' });
    // Row sums are a after the u update (up to float32 rounding); column sums match the float64 plan's.
    const rows32 = r32.plan.map((row) => row.reduce((s, p) => s + p, 0));
    expectClose(rows32, a, { rtol: 1e-5, name: 'row marginal' });
    const cols = (plan: readonly Float64Array[]) => Array.from({ length: M.cols }, (_, j) => plan.reduce((s, row) => s + (row[j] as number), 0));
    expectClose(cols(r32.plan), cols(r64.plan), { rtol: 1e-5, name: 'column marginal' });
    expectClose(r32.marginalError, 0, { atol: 1e-5 });
    // Dual potentials ε·log u, ε·log v within float32 rounding of log-scalings.
    expectClose(r32.logU, r64.logU, { rtol: 1e-5, atol: 1e-4, name: 'logU' });
    expectClose(r32.logV, r64.logV, { rtol: 1e-5, atol: 1e-4, name: 'logV' });
  });

  it('the WebAssembly f32x4 sweep agrees with the float32 JS loops, and runs are deterministic', () => {
    const { a, b, M } = problem(4);
    const opts = { epsilon: 0.05, method: 'plain', maxIterations: 120, tolerance: 0, dtype: 'float32' } as const;
    const wasm = sinkhorn(a, b, M, opts);
    const js = sinkhorn(a, b, M, { ...opts, kernel: 'js' });
    const again = sinkhorn(a, b, M, opts);
    expect(flat(again.plan)).toEqual(flat(wasm.plan));
    expect(again.cost).toBe(wasm.cost);
    const maxP = Math.max(...flat(js.plan));
    expectClose(flat(wasm.plan), flat(js.plan), { rtol: 1e-4, atol: 1e-6 * maxP });
  });

  it("float32 is opt-in: the default (and dtype: 'float64') is the float64 result bit for bit", () => {
    const { a, b, M } = problem(5);
    const opts = { epsilon: 0.05, maxIterations: 50 } as const;
    const base = sinkhorn(a, b, M, opts);
    expect(flat(sinkhorn(a, b, M, { ...opts, dtype: 'float64' }).plan)).toEqual(flat(base.plan));
    expect(flat(sinkhorn(a, b, M, { ...opts, dtype: 'float32' }).plan)).not.toEqual(flat(base.plan));
  });

  it("'auto' falls back to the float64 log domain where float32 scaling underflows", () => {
    const { a, b, M } = problem(6);
    // Costs in [0.8, 1] at ε = 0.005: K ≥ e^-200 ≈ 1e-87 is fine in float64 but 0 in float32 (< 1.4e-45).
    const shifted = { ...M, values: Float64Array.from(M.values, (v) => 0.8 + 0.2 * v) };
    const opts = { epsilon: 0.005, maxIterations: 200 } as const;
    expect(sinkhorn(a, b, shifted, { ...opts, method: 'plain' }).warning?.code).not.toBe('NUMERICAL_ERROR');
    const plain32 = sinkhorn(a, b, shifted, { ...opts, method: 'plain', dtype: 'float32' });
    expect(plain32.warning?.code).toBe('NUMERICAL_ERROR');
    const auto32 = sinkhorn(a, b, shifted, { ...opts, dtype: 'float32' });
    expect(auto32.method).toBe('log');
    expect(flat(auto32.plan)).toEqual(flat(sinkhorn(a, b, shifted, { ...opts, method: 'log' }).plan));
  });

  it('zero-mass bins and forbidden pairs give exact zeros in float32 too', () => {
    const { a, b, M } = problem(7);
    a[2] = 0;
    b[5] = 0;
    const values = Float64Array.from(M.values);
    values[0 * M.cols + 1] = Infinity;
    const res = sinkhorn(a, b, { ...M, values }, { epsilon: 0.05, method: 'plain', maxIterations: 100, dtype: 'float32' });
    expect(res.plan[0]?.[1]).toBe(0);
    expect(Array.from(res.plan[2] as Float64Array).every((p) => p === 0)).toBe(true);
    expect(res.plan.every((row) => row[5] === 0)).toBe(true);
    const ref = sinkhorn(a, b, { ...M, values }, { epsilon: 0.05, method: 'plain', maxIterations: 100 });
    expectClose(flat(res.plan), flat(ref.plan), { rtol: 1e-4, atol: 1e-6 * Math.max(...flat(ref.plan)) });
  });

  it('rejects an unknown dtype; the planTensor is the only tensor made', async () => {
    const { a, b, M } = problem(8);
    expect(() => sinkhorn(a, b, M, { epsilon: 0.1, dtype: 'float16' as 'float32' })).toThrow(
      'expected dtype to be one of "float64", "float32". Received: dtype="float16"',
    );
    const before = tf.memory().numTensors;
    await expectNoLeak(() => sinkhorn(a, b, M, { epsilon: 0.1, dtype: 'float32' }));
    const res = sinkhorn(a, b, M, { epsilon: 0.1, dtype: 'float32', planTensor: true });
    expect(tf.memory().numTensors).toBe(before + 1);
    res.planTensor?.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('WebAssembly f32x4 sweep kernel', () => {
  it('sweep32: u = a ⊘ Kv and col += Kᵀu equal float64 loops within float32 rounding, for lengths around the 16-wide blocks', () => {
    const k = getKernel();
    expect(k).not.toBeNull();
    if (k === null) return;
    for (const [rows, cols] of [[1, 1], [3, 7], [2, 16], [5, 17], [4, 31], [3, 33], [17, 64]] as const) {
      k.reset();
      const pm = k.alloc32(rows * cols);
      const pv = k.alloc32(cols);
      const pu = k.alloc32(rows);
      const pa = k.alloc32(rows);
      const pc = k.alloc32(cols);
      const mat = k.view32(pm, rows * cols);
      const vec = k.view32(pv, cols);
      const a = k.view32(pa, rows);
      const col = k.view32(pc, cols);
      mat.forEach((_, i) => (mat[i] = 1 + Math.sin(i + 1)));
      vec.forEach((_, i) => (vec[i] = 2 + Math.cos(i)));
      a.forEach((_, i) => (a[i] = 1 + i));
      col.fill(0.5);
      k.sweep32(pm, pv, pu, pa, pc, rows, cols);
      const u = k.view32(pu, rows);
      const expected = new Array<number>(cols).fill(0.5);
      for (let r = 0; r < rows; r++) {
        let s = 0;
        for (let c = 0; c < cols; c++) s += (mat[r * cols + c] as number) * (vec[c] as number);
        const ur = (a[r] as number) / s;
        expectClose(u[r] as number, ur, { rtol: 1e-6, atol: 0, name: `u[${r}] (${rows}×${cols})` });
        for (let c = 0; c < cols; c++) expected[c] = (expected[c] as number) + (u[r] as number) * (mat[r * cols + c] as number);
      }
      expectClose(col, expected, { rtol: 1e-6, atol: 0, name: `col (${rows}×${cols})` });
    }
  });
});
