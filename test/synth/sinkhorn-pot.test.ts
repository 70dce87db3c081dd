import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { LongTailError } from '../../src/core/errors.js';
import { seededRng } from '../../src/core/rng.js';
import { pairwiseCost } from '../../src/synth/ot-loss.js';
import { cosine, normalizeByMax, sinkhorn, squaredEuclidean, type SinkhornWarning } from '../../src/synth/sinkhorn.js';
import { expectClose, expectNoLeak } from '../../src/testing/index.js';

type Num = number | 'Infinity' | '-Infinity';
interface Run {
  epsilon: number;
  method: 'plain' | 'log';
  maxIterations: number;
  plan: Num[][];
  cost: number;
  iterations: number;
  errorHistory: number[];
  logU: Num[];
  logV: Num[];
}
interface Case {
  name: string;
  a: Num[] | null;
  b: Num[] | null;
  M: Num[][];
  runs: Run[];
  sinkhorn2?: number;
}
interface Golden {
  sinkhorn: Case[];
  defaultIterations: { x: number[]; y: number[]; n: number; d: number; epsilon: number; iterations: number; cost: number };
  cosine: { x: number[][]; y: number[][]; distances: number[][] };
}
const golden = JSON.parse(readFileSync(new URL('../golden/synth_ot.json', import.meta.url), 'utf8')) as Golden;
const num = (v: Num): number => (v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : v);
const vec = (v: readonly Num[]): number[] => v.map(num);
const mat = (v: readonly Num[][]): number[][] => v.map(vec);
const flat = (plan: readonly Float64Array[]): number[] => plan.flatMap((row) => Array.from(row));
const caseNamed = (name: string): Case => golden.sinkhorn.find((c) => c.name === name) as Case;

/** Log-scalings compared where finite (after adding `shift`); −∞ exactly where the reference has −∞. */
function expectLogScalings(actual: Float64Array, expected: readonly Num[], name: string, shift = 0): void {
  const e = vec(expected);
  e.forEach((x, i) => {
    if (x === -Infinity) expect(actual[i], `${name}[${i}]`).toBe(-Infinity);
    else expectClose(actual[i] as number, x + shift, { rtol: 1e-6, atol: 1e-6, name: `${name}[${i}]` });
  });
}

describe('sinkhorn against POT 0.8.2: zero-mass bins, forbidden pairs, uniform defaults, potentials (golden)', () => {
  for (const g of golden.sinkhorn) {
    for (const run of g.runs) {
      // POT's plain sinkhorn computes u = 1/((K/a)·v): NaN where a zero-mass row meets a zero-mass column, so
      // it stops at once with "numerical errors". Ours computes u = a/(Kv) (zero there); both of our
      // methods are compared with POT's log-domain run, whose iterates are the same numbers.
      const potBroken = g.name === 'zero_mass_6x7' && run.method === 'plain';
      const title = `${g.name} ε=${run.epsilon} ${run.method}${potBroken ? ' (vs sinkhorn_log: POT plain stops on NaN)' : ''}`;
      it(title, () => {
        const ref = potBroken ? (g.runs.find((r) => r.method === 'log' && r.epsilon === run.epsilon) as Run) : run;
        const M = mat(g.M);
        const res = sinkhorn(g.a === null ? undefined : vec(g.a), g.b === null ? undefined : vec(g.b), M, { epsilon: run.epsilon, method: run.method });
        expect(res.method).toBe(run.method);
        expect(res.converged).toBe(true);
        expect(res.iterations).toBe(ref.iterations);
        expectClose(res.cost, ref.cost, { rtol: 1e-7, name: 'cost' });
        expectClose(flat(res.plan), mat(ref.plan).flat(), { rtol: 1e-6, atol: 1e-12, name: 'plan' });
        expectClose(res.errorHistory, ref.errorHistory, { rtol: 1e-4, atol: 1e-13, name: 'errorHistory' });
        // Plain starts from u = 1/n, the log domain from log u = 0: the same plans, scalings apart by n.
        const gauge = potBroken ? Math.log(M.length) : 0;
        expectLogScalings(res.logU, ref.logU, 'logU', -gauge);
        expectLogScalings(res.logV, ref.logV, 'logV', gauge);
        // Forbidden pairs and zero-mass bins carry exactly 0; the potentials rebuild the plan.
        M.forEach((row, i) =>
          row.forEach((c, j) => {
            const p = (res.plan[i] as Float64Array)[j] as number;
            if (c === Infinity) expect(p).toBe(0);
            const rebuilt = Math.exp((res.logU[i] as number) - c / run.epsilon + (res.logV[j] as number));
            expectClose(p, rebuilt, { rtol: 1e-9, atol: 1e-300 });
          }),
        );
      });
    }
  }

  it('uniform defaults equal explicit uniform weights and ot.sinkhorn2', () => {
    const g = caseNamed('uniform_8x5');
    const M = mat(g.M);
    const implicit = sinkhorn(undefined, [], M, { epsilon: 0.1, method: 'plain' });
    const explicit = sinkhorn(new Array(8).fill(1 / 8), new Array(5).fill(1 / 5), M, { epsilon: 0.1, method: 'plain' });
    expect(flat(implicit.plan)).toEqual(flat(explicit.plan));
    expectClose(implicit.cost, g.sinkhorn2 as number, { rtol: 1e-9 });
  });

  it('the default 1,000 iterations (POT numItermax) converge where 200 did not, with POT’s count and value', () => {
    const d = golden.defaultIterations;
    const M = normalizeByMax(squaredEuclidean({ values: d.x, rows: d.n, cols: d.d }, { values: d.y, rows: d.n, cols: d.d }));
    const res = sinkhorn(undefined, undefined, M, { epsilon: d.epsilon });
    expect(res.converged).toBe(true);
    expect(res.warning).toBeUndefined();
    expect(res.method).toBe('plain');
    expect(res.iterations).toBe(d.iterations);
    expect(d.iterations).toBeGreaterThan(200);
    expectClose(res.cost, d.cost, { rtol: 1e-8 });
    const old = sinkhorn(undefined, undefined, M, { epsilon: d.epsilon, maxIterations: 200 });
    expect(old.converged).toBe(false);
    expect(old.warning?.code).toBe('NOT_CONVERGED');
    expect(old.errorHistory).toHaveLength(20);
    expect(old.marginalError).toBeGreaterThan(1e-9);
  });
});

describe("sinkhorn method 'auto'", () => {
  const rng = seededRng(5);
  const pts = (k: number, shift: number) => ({ values: Array.from({ length: k * 4 }, () => rng.normal() + shift), rows: k, cols: 4 });
  const base = normalizeByMax(squaredEuclidean(pts(30, 0), pts(20, 3)));
  // Every cost ≥ 0.8: exp(−M/ε) underflows to 0 at ε = 1e-3.
  const hard = { ...base, values: Float64Array.from(base.values, (v) => 0.8 + 0.2 * v) };

  it('falls back to the log domain when plain scaling underflows (same numbers as method: log, no warning)', () => {
    const seen: SinkhornWarning[] = [];
    const auto = sinkhorn(undefined, undefined, hard, { epsilon: 1e-3, onWarning: (w) => seen.push(w) });
    const log = sinkhorn(undefined, undefined, hard, { epsilon: 1e-3, method: 'log' });
    expect(auto.method).toBe('log');
    expect(seen).toHaveLength(0);
    expect(flat(auto.plan)).toEqual(flat(log.plan));
    expect(auto.iterations).toBe(log.iterations);
    const plain = sinkhorn(undefined, undefined, hard, { epsilon: 1e-3, method: 'plain' });
    expect(plain.warning?.message).toMatch(/under- or overflowed .* Use method: 'log'/);
  });

  it('is exactly the plain method where plain works', () => {
    const auto = sinkhorn(undefined, undefined, hard, { epsilon: 0.05 });
    const plain = sinkhorn(undefined, undefined, hard, { epsilon: 0.05, method: 'plain' });
    expect(auto.method).toBe('plain');
    expect(flat(auto.plan)).toEqual(flat(plain.plan));
    expect(auto.cost).toBe(plain.cost);
  });
});

describe('sinkhorn input forms, tensors and memory', () => {
  const nested = [
    [0, 1, 2],
    [1, 0, 1],
  ];
  const dense = { values: nested.flat(), rows: 2, cols: 3 };

  it('a tf.Tensor2D, nested rows and { values, rows, cols } give the same result; the tensor is not disposed', async () => {
    const t = tf.tensor2d(nested);
    const before = tf.memory().numTensors;
    const fromTensor = sinkhorn(tf.tensor1d([0.5, 0.5]), undefined, t, { epsilon: 0.5 });
    const fromNested = sinkhorn([0.5, 0.5], undefined, nested, { epsilon: 0.5 });
    const fromDense = sinkhorn([0.5, 0.5], undefined, dense, { epsilon: 0.5 });
    const fromRows = sinkhorn([0.5, 0.5], undefined, nested.map((r) => Float64Array.from(r)), { epsilon: 0.5 });
    expect(flat(fromNested.plan)).toEqual(flat(fromDense.plan));
    expect(flat(fromRows.plan)).toEqual(flat(fromDense.plan));
    expect(flat(fromTensor.plan)).toEqual(flat(fromDense.plan));
    expect(tf.memory().numTensors).toBe(before + 1); // the weights tensor made above
    expect(t.isDisposed).toBe(false);
    // The rows are views of one row-major buffer.
    expect(fromDense.plan[1]?.buffer).toBe(fromDense.plan[0]?.buffer);
    await expectNoLeak(() => sinkhorn(undefined, undefined, t, { epsilon: 0.5 }));
    const withTensor = sinkhorn(undefined, undefined, t, { epsilon: 0.5, planTensor: true });
    expect(withTensor.planTensor?.shape).toEqual([2, 3]);
    expectClose(withTensor.planTensor as tf.Tensor, flat(withTensor.plan), { rtol: 1e-6 });
    withTensor.planTensor?.dispose();
    tf.dispose(t);
    tf.disposeVariables();
  });

  it('deterministic: the same call gives bit-identical plans, potentials and histories', () => {
    const M = normalizeByMax(squaredEuclidean({ values: [0, 1, 2, 3, 4, 5], rows: 3, cols: 2 }, { values: [1, 1, 2, 0.5], rows: 2, cols: 2 }));
    for (const method of ['plain', 'log'] as const) {
      const x = sinkhorn(undefined, undefined, M, { epsilon: 0.01, method });
      const y = sinkhorn(undefined, undefined, M, { epsilon: 0.01, method });
      expect(flat(x.plan)).toEqual(flat(y.plan));
      expect(Array.from(x.logU)).toEqual(Array.from(y.logU));
      expect(x.errorHistory).toEqual(y.errorHistory);
    }
  });

  it('bad input: LongTailError before any tensor, never a tensor dump, no leak on failure', () => {
    const before = tf.memory().numTensors;
    const t3 = tf.zeros([2, 2, 2]);
    const t2 = tf.tensor2d(nested);
    const disposed = tf.tensor2d(nested);
    disposed.dispose();
    const count = tf.memory().numTensors;
    const cases: [() => unknown, string | RegExp, string][] = [
      [() => sinkhorn(undefined, undefined, t3 as tf.Tensor2D, { epsilon: 1 }), 'expected M of rank 2. Received: M.shape=[2, 2, 2]', 'SHAPE_MISMATCH'],
      [() => sinkhorn(undefined, undefined, disposed, { epsilon: 1 }), 'expected M to be a live tensor. Received: M=disposed Tensor(shape=[2, 3], dtype=float32)', 'DISPOSED'],
      [() => sinkhorn(undefined, undefined, { values: t2 } as never, { epsilon: 1 }), /expected M to be a tf.Tensor2D, nested rows/, 'INVALID_OPTION'],
      [() => sinkhorn(undefined, undefined, 'M' as never, { epsilon: 1 }), 'expected M to be a tf.Tensor2D, nested rows (number[][]) or { values, rows, cols }. Received: M="M"', 'INVALID_OPTION'],
      [() => sinkhorn(undefined, undefined, [[0, 1], [1]], { epsilon: 1 }), 'expected M[1].length = M[0].length = 2. Received: M[1].length=1', 'SHAPE_MISMATCH'],
      [() => sinkhorn(undefined, undefined, [[0, -Infinity]], { epsilon: 1 }), 'expected M to be finite or +Infinity (a forbidden pair) everywhere. Received: M[0][1]=-Infinity', 'NON_FINITE'],
      [() => sinkhorn(t2 as never, undefined, nested, { epsilon: 1 }), 'expected a of rank 1. Received: a.shape=[2, 3]', 'SHAPE_MISMATCH'],
      [() => sinkhorn([0, 0], undefined, nested, { epsilon: 1 }), 'expected a to have a positive total mass. Received: sum(a)=0', 'INVALID_OPTION'],
      [() => sinkhorn(undefined, [1, 1], nested, { epsilon: 1 }), 'expected b.length = M.cols = 3. Received: b.length=2', 'SHAPE_MISMATCH'],
      [() => sinkhorn(undefined, [1, Number.NaN, 1], nested, { epsilon: 1 }), 'expected b to be finite everywhere. Received: b[1]=NaN', 'NON_FINITE'],
      [() => sinkhorn(undefined, undefined, nested, { epsilon: 1, maxIteration: 10 } as never), 'expected sinkhorn options to be among epsilon, maxIterations, tolerance, method, kernel, dtype, planTensor, onWarning. Received: maxIteration (did you mean maxIterations?)', 'UNKNOWN_OPTION'],
      [() => sinkhorn(undefined, undefined, nested, { epsilon: 1, planTensor: 1 } as never), 'expected planTensor to be a boolean. Received: planTensor=1', 'INVALID_OPTION'],
      [() => sinkhorn(undefined, undefined, nested, undefined as never), /expected sinkhorn options with epsilon/, 'INVALID_OPTION'],
      [
        () => sinkhorn(undefined, undefined, [[0, 1, Infinity], [Infinity, Infinity, Infinity]], { epsilon: 1, planTensor: true }),
        'expected row 1 of M (a[1] = 0.5 > 0) to allow a pair: a finite cost to some column with b > 0. Received: M[1]=[Infinity, Infinity, Infinity]',
        'INVALID_OPTION',
      ],
      [
        () => sinkhorn(undefined, [0.5, 0, 0.5], [[0, 1, Infinity], [1, 2, Infinity]], { epsilon: 1, planTensor: true }),
        'expected column 2 of M (b[2] = 0.5 > 0) to allow a pair: a finite cost to some row with a > 0. Received: M[:, 2]=[Infinity, Infinity]',
        'INVALID_OPTION',
      ],
    ];
    for (const [call, message, code] of cases) {
      let error: unknown;
      try {
        call();
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(LongTailError);
      expect((error as LongTailError).code).toBe(code);
      expect((error as LongTailError).message).toMatch(message);
      expect((error as LongTailError).message).not.toMatch(/dataId|kept|"id"/);
      expect(tf.memory().numTensors).toBe(count);
    }
    // A row of only forbidden pairs is fine when it has no mass: its plan row is 0.
    const ok = sinkhorn([0.5, 0, 0.5], undefined, [[0, 1], [Infinity, Infinity], [1, 0]], { epsilon: 0.1 });
    expect(Array.from(ok.plan[1] as Float64Array)).toEqual([0, 0]);
    expect(ok.logU[1]).toBe(-Infinity);
    expect(ok.converged).toBe(true);
    tf.dispose([t3, t2]);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('cosine cost of zero rows (dead-ReLU latents)', () => {
  const { x, y, distances } = golden.cosine;
  it('typed cosine(): a zero row is at distance 1 from everything, as sklearn cosine_distances', () => {
    expect(x[1]?.every((v) => v === 0)).toBe(true);
    const got = cosine(x, y);
    expectClose(got.values, distances.flat(), { rtol: 1e-12, atol: 1e-12 });
    expect(got.values[1 * y.length + 2]).toBe(1); // zero row against zero row
  });

  it('tensor pairwiseCost agrees, and its gradient is finite at zero rows', async () => {
    const tx = tf.tensor2d(x);
    const ty = tf.tensor2d(y);
    const cost = pairwiseCost(tx, ty, 'cosine');
    expectClose(cost, distances.flat(), { rtol: 1e-5, atol: 1e-6 });
    const g = tf.grad((v: tf.Tensor) => tf.sum(pairwiseCost(v as tf.Tensor2D, ty, 'cosine')))(tx);
    for (const v of g.dataSync()) expect(Number.isFinite(v)).toBe(true);
    await expectNoLeak(() => pairwiseCost(tx, ty, 'cosine'));
    tf.dispose([tx, ty, cost, g]);
  });
});
