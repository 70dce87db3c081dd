import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LongTailError } from '../../src/core/errors.js';
import { seededRng } from '../../src/core/rng.js';
import { cosine, normalizeByMax, sinkhorn, squaredEuclidean, type SinkhornWarning } from '../../src/synth/sinkhorn.js';
import { expectClose } from '../../src/testing/index.js';

interface Run {
  epsilon: number;
  method: 'plain' | 'log';
  maxIterations: number;
  plan: number[];
  cost: number;
  iterations: number;
}
interface Case {
  name: string;
  x: number[];
  y: number[];
  n: number;
  m: number;
  d: number;
  metric: 'sqeuclidean' | 'cosine';
  a: number[];
  b: number[];
  rawCost: number[];
  cost: number[];
  runs: Run[];
}
const golden = JSON.parse(readFileSync(new URL('../golden/synth_sinkhorn.json', import.meta.url), 'utf8')) as { cases: Case[] };

/** Textbook Sinkhorn (POT's order: v then u, check every 10th iteration), written independently. */
function naiveSinkhorn(a: number[], b: number[], M: number[][], eps: number, iters: number): { plan: number[][]; iterations: number } {
  const n = a.length;
  const m = b.length;
  const K = M.map((row) => row.map((c) => Math.exp(-c / eps)));
  let u = new Array<number>(n).fill(1 / n);
  let v = new Array<number>(m).fill(1 / m);
  let it = 0;
  for (; it < iters; it++) {
    v = b.map((bj, j) => bj / K.reduce((s, row, i) => s + (row[j] as number) * (u[i] as number), 0));
    u = a.map((ai, i) => ai / (K[i] as number[]).reduce((s, k, j) => s + k * (v[j] as number), 0));
    if (it % 10 === 0) {
      let err = 0;
      for (let j = 0; j < m; j++) {
        let col = 0;
        for (let i = 0; i < n; i++) col += (u[i] as number) * ((K[i] as number[])[j] as number) * (v[j] as number);
        err += (col - (b[j] as number)) ** 2;
      }
      if (Math.sqrt(err) < 1e-9) break;
    }
  }
  return { plan: K.map((row, i) => row.map((k, j) => (u[i] as number) * k * (v[j] as number))), iterations: Math.min(it + 1, iters) };
}

/** The plan's rows, flattened row-major. */
function flat(plan: readonly Float64Array[]): number[] {
  return plan.flatMap((row) => Array.from(row));
}

describe('sinkhorn matches POT 0.8.2 (golden)', () => {
  for (const g of golden.cases) {
    for (const run of g.runs) {
      it(`${g.name} ε=${run.epsilon} ${run.method} (${run.maxIterations} it)`, () => {
        const warnings: SinkhornWarning[] = [];
        const res = sinkhorn(g.a, g.b, { values: g.cost, rows: g.n, cols: g.m }, {
          epsilon: run.epsilon,
          method: run.method,
          maxIterations: run.maxIterations,
          onWarning: (w) => warnings.push(w),
        });
        expect(res.iterations).toBe(run.iterations);
        expectClose(res.cost, run.cost, { rtol: 1e-4, atol: 0, name: 'cost' });
        // 1e-4 relative on every entry that is not negligible next to the largest.
        const maxP = Math.max(...run.plan);
        expectClose(flat(res.plan), run.plan, { rtol: 1e-4, atol: 1e-9 * maxP, name: 'plan' });
        expect(res.converged).toBe(run.iterations < run.maxIterations);
        expect(warnings.length).toBe(res.converged ? 0 : 1);
        expect(Number.isFinite(res.marginalError)).toBe(true);
      });
    }
  }

  it('cost helpers equal ot.dist (sqeuclidean, cosine) and M / max(M)', () => {
    for (const g of golden.cases) {
      const x = { values: g.x, rows: g.n, cols: g.d };
      const y = { values: g.y, rows: g.m, cols: g.d };
      const raw = g.metric === 'cosine' ? cosine(x, y) : squaredEuclidean(x, y);
      expectClose(raw.values, g.rawCost, { rtol: 1e-10, atol: 1e-12 });
      expectClose(normalizeByMax(raw).values, g.cost, { rtol: 1e-10, atol: 1e-12 });
    }
  });
});

describe('sinkhorn against a naive loop', () => {
  const rng = seededRng(11);
  const n = 6;
  const m = 8;
  const a = Array.from({ length: n }, () => rng.next() + 0.5);
  const b = Array.from({ length: m }, () => rng.next() + 0.5);
  const sa = a.reduce((s, v) => s + v, 0);
  const sb = b.reduce((s, v) => s + v, 0);
  const an = a.map((v) => v / sa);
  const bn = b.map((v) => v / sb);
  const M = Array.from({ length: n }, () => Array.from({ length: m }, () => rng.next()));
  for (const method of ['plain', 'log'] as const) {
    it(`${method}: plan, cost and iteration count`, () => {
      const ref = naiveSinkhorn(an, bn, M, 0.05, 200);
      const res = sinkhorn(an, bn, { values: M.flat(), rows: n, cols: m }, { epsilon: 0.05, method, maxIterations: 200 });
      expectClose(flat(res.plan), ref.plan.flat(), { rtol: 1e-8, atol: 1e-14 });
      const refCost = ref.plan.flat().reduce((s, p, k) => s + p * (M.flat()[k] as number), 0);
      expectClose(res.cost, refCost, { rtol: 1e-8 });
      expect(res.iterations).toBe(ref.iterations);
      // Row marginals are exact after the u update; columns within tolerance at convergence.
      for (let i = 0; i < n; i++) expectClose((res.plan[i] as Float64Array).reduce((s, p) => s + p, 0), an[i] as number, { rtol: 1e-9 });
    });
  }
});

describe('sinkhorn log-domain stability', () => {
  it('stays finite at ε = 1e-3 where plain scaling underflows, and agrees with plain where both work', () => {
    const rng = seededRng(5);
    const n = 40;
    const m = 50;
    const pts = (k: number, shift: number) => ({ values: Array.from({ length: k * 4 }, () => rng.normal() + shift), rows: k, cols: 4 });
    const base = normalizeByMax(squaredEuclidean(pts(n, 0), pts(m, 3)));
    // Every cost ≥ 0.8, so exp(−M/ε) underflows to 0 everywhere at ε = 1e-3 (e^-800 < 1e-308).
    const M = { ...base, values: Float64Array.from(base.values, (v) => 0.8 + 0.2 * v) };
    const a = new Array<number>(n).fill(1 / n);
    const b = new Array<number>(m).fill(1 / m);
    const log = sinkhorn(a, b, M, { epsilon: 1e-3, method: 'log', maxIterations: 300 });
    for (const p of flat(log.plan)) expect(Number.isFinite(p)).toBe(true);
    expect(Number.isFinite(log.cost)).toBe(true);
    expectClose(flat(log.plan).reduce((s, p) => s + p, 0), 1, { rtol: 1e-6 });
    const warnings: SinkhornWarning[] = [];
    const plain = sinkhorn(a, b, M, { epsilon: 1e-3, method: 'plain', onWarning: (w) => warnings.push(w) });
    expect(plain.warning?.code).toBe('NUMERICAL_ERROR');
    expect(plain.converged).toBe(false);
    expect(warnings[0]?.code).toBe('NUMERICAL_ERROR');
    expect(warnings[0]?.message).toMatch(/Use method: 'log'/);
    const mid = { epsilon: 0.03, maxIterations: 100 };
    expectClose(flat(sinkhorn(a, b, M, { ...mid, method: 'log' }).plan), flat(sinkhorn(a, b, M, { ...mid, method: 'plain' }).plan), {
      rtol: 1e-7,
      atol: 1e-15,
    });
  });

  it('warns NOT_CONVERGED through onWarning and the result, never throws', () => {
    const g = golden.cases[0] as Case;
    const seen: SinkhornWarning[] = [];
    const res = sinkhorn(g.a, g.b, { values: g.cost, rows: g.n, cols: g.m }, { epsilon: 0.01, maxIterations: 3, onWarning: (w) => seen.push(w) });
    expect(res.converged).toBe(false);
    expect(res.warning?.code).toBe('NOT_CONVERGED');
    expect(seen).toHaveLength(1);
    expect(seen[0]?.message).toMatch(/did not converge in 3 iterations/);
  });
});

describe('sinkhorn reads a { values } cost without copying it, and never writes to it', () => {
  it('leaves the caller\'s Float64Array as it was, and its result does not change when the caller then writes to it', () => {
    const rng = seededRng('sinkhorn-borrow');
    const values = Float64Array.from({ length: 7 * 9 }, () => rng.next());
    values[5] = Infinity; // one forbidden pair
    const before = values.slice();
    const a = Float64Array.from({ length: 7 }, () => 0.5 + rng.next());
    const b = Float64Array.from({ length: 9 }, () => 0.5 + rng.next());
    const sum = (w: Float64Array) => w.reduce((t, v) => t + v, 0);
    a.forEach((v, i) => (a[i] = v / sum(a)));
    b.forEach((v, i) => (b[i] = v / sum(b)));
    for (const dtype of ['float64', 'float32'] as const) {
      for (const method of ['plain', 'log'] as const) {
        const borrowed = sinkhorn(a, b, { values, rows: 7, cols: 9 }, { epsilon: 0.1, method, dtype, maxIterations: 50 });
        expect(Array.from(values)).toEqual(Array.from(before));
        const copied = sinkhorn(a, b, { values: Array.from(values), rows: 7, cols: 9 }, { epsilon: 0.1, method, dtype, maxIterations: 50 });
        expect(borrowed.cost).toBe(copied.cost);
        expect(borrowed.plan).toEqual(copied.plan);
        const plan = borrowed.plan.map((row) => Array.from(row));
        values.fill(123);
        expect(borrowed.plan.map((row) => Array.from(row))).toEqual(plan);
        values.set(before);
      }
    }
  });
});

describe('sinkhorn input errors', () => {
  const M = { values: [0, 1, 1, 0], rows: 2, cols: 2 };
  const ab = [0.5, 0.5];
  it('pins messages and codes', () => {
    expect(() => sinkhorn(ab, ab, M, { epsilon: 0 })).toThrow('expected epsilon > 0. Received: epsilon=0');
    expect(() => sinkhorn(ab, ab, M, { epsilon: 0.1, method: 'fast' as 'log' })).toThrow(/expected method to be one of "auto", "plain", "log"/);
    expect(() => sinkhorn([1 / 3, 1 / 3, 1 / 3], ab, M, { epsilon: 0.1 })).toThrow('expected a.length = M.rows = 2. Received: a.length=3');
    expect(() => sinkhorn([1, -0.5], ab, M, { epsilon: 0.1 })).toThrow('expected every a entry >= 0. Received: a[1]=-0.5');
    expect(() => sinkhorn(ab, ab, { values: [0, Number.NaN, 1, 0], rows: 2, cols: 2 }, { epsilon: 0.1 })).toThrow(
      'expected M to be finite or +Infinity (a forbidden pair) everywhere. Received: M[0][1]=NaN',
    );
    expect(() => sinkhorn(ab, ab, { values: [0, 1, 1], rows: 2, cols: 2 }, { epsilon: 0.1 })).toThrow('expected M.values.length = rows·cols = 4. Received: M.values.length=3');
    try {
      sinkhorn(ab, ab, M, { epsilon: 0.1, maxIterations: 0 });
    } catch (e) {
      expect(e).toBeInstanceOf(LongTailError);
      expect((e as LongTailError).code).toBe('INVALID_OPTION');
    }
    expect(() => cosine({ values: [0, Number.NaN], rows: 1, cols: 2 }, { values: [1, 0], rows: 1, cols: 2 })).toThrow(
      expect.objectContaining({ code: 'NON_FINITE' }),
    );
    expect(() => squaredEuclidean({ values: [0, 0], rows: 1, cols: 2 }, { values: [1, 0, 1], rows: 1, cols: 3 })).toThrow(
      expect.objectContaining({ code: 'SHAPE_MISMATCH' }),
    );
  });
});

describe('WebAssembly SIMD mat-vec kernel', () => {
  it('sweep: u = a ⊘ Kv and col += Kᵀu equal JS loops for lengths around the 8-wide blocks', async () => {
    const { getKernel } = await import('../../src/core/wasm-kernel.js');
    const k = getKernel();
    expect(k).not.toBeNull();
    if (k === null) return;
    for (const [rows, cols] of [[1, 1], [3, 7], [2, 8], [5, 9], [4, 23], [17, 64]] as const) {
      k.reset();
      const pm = k.alloc(rows * cols);
      const pv = k.alloc(cols);
      const pu = k.alloc(rows);
      const pa = k.alloc(rows);
      const pc = k.alloc(cols);
      const mat = k.view(pm, rows * cols);
      const vec = k.view(pv, cols);
      const a = k.view(pa, rows);
      const col = k.view(pc, cols);
      mat.forEach((_, i) => (mat[i] = 1 + Math.sin(i + 1)));
      vec.forEach((_, i) => (vec[i] = 2 + Math.cos(i)));
      a.forEach((_, i) => (a[i] = 1 + i));
      col.fill(0.5);
      k.sweep(pm, pv, pu, pa, pc, rows, cols);
      const u = k.view(pu, rows);
      const expected = new Array<number>(cols).fill(0.5);
      for (let r = 0; r < rows; r++) {
        let s = 0;
        for (let c = 0; c < cols; c++) s += (mat[r * cols + c] as number) * (vec[c] as number);
        const ur = (a[r] as number) / s;
        expectClose(u[r] as number, ur, { rtol: 1e-12, atol: 0 });
        for (let c = 0; c < cols; c++) expected[c] = (expected[c] as number) + ur * (mat[r * cols + c] as number);
      }
      expectClose(col, expected, { rtol: 1e-12, atol: 0 });
    }
  });

  it('dotRows equals a JS dot product for lengths around the 8-wide blocks; sinkhorn agrees with kernel "js"', async () => {
    const { getKernel } = await import('../../src/core/wasm-kernel.js');
    const k = getKernel();
    expect(k).not.toBeNull();
    if (k === null) return;
    for (const [rows, cols] of [[1, 1], [3, 7], [2, 8], [5, 9], [4, 23], [17, 64]] as const) {
      k.reset();
      const pm = k.alloc(rows * cols);
      const pv = k.alloc(cols);
      const po = k.alloc(rows);
      const mat = k.view(pm, rows * cols);
      const vec = k.view(pv, cols);
      mat.forEach((_, i) => (mat[i] = Math.sin(i + 1)));
      vec.forEach((_, i) => (vec[i] = Math.cos(i)));
      k.dotRows(pm, pv, po, rows, cols);
      const out = k.view(po, rows);
      for (let r = 0; r < rows; r++) {
        let s = 0;
        for (let c = 0; c < cols; c++) s += (mat[r * cols + c] as number) * (vec[c] as number);
        expectClose(out[r] as number, s, { rtol: 1e-12, atol: 1e-12 });
      }
    }
    // Strided rows: row r starts at r·stride.
    k.reset();
    const pm = k.alloc(5 * 13);
    const pv = k.alloc(9);
    const po = k.alloc(5);
    const mat = k.view(pm, 5 * 13);
    const vec = k.view(pv, 9);
    mat.forEach((_, i) => (mat[i] = Math.sin(3 * i)));
    vec.forEach((_, i) => (vec[i] = 1 + i));
    k.dotRows(pm, pv, po, 5, 9, 13);
    for (let r = 0; r < 5; r++) {
      let s = 0;
      for (let c = 0; c < 9; c++) s += (mat[r * 13 + c] as number) * (vec[c] as number);
      expectClose(k.view(po, 5)[r] as number, s, { rtol: 1e-12, atol: 1e-12 });
    }
    const g = golden.cases[1] as Case;
    for (const method of ['plain', 'log'] as const) {
      const opts = { epsilon: 0.02, method };
      const wasm = sinkhorn(g.a, g.b, { values: g.cost, rows: g.n, cols: g.m }, { ...opts, kernel: 'auto' });
      const js = sinkhorn(g.a, g.b, { values: g.cost, rows: g.n, cols: g.m }, { ...opts, kernel: 'js' });
      expectClose(flat(wasm.plan), flat(js.plan), { rtol: 1e-10, atol: 1e-16 });
      expect(wasm.iterations).toBe(js.iterations);
    }
  });
});
