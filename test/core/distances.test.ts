/**
 * pairwiseDistances (tensor), hostPairwiseDistances (typed arrays) and kNearest's metrics against naive
 * double loops written here, independently of the library.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/backends/index.js';
import { seededRng } from '../../src/core/rng.js';
import { hostPairwiseDistances, kNearest, pairwiseDistances, type DistanceMetric, type HostRows } from '../../src/core/neighbors.js';
import { backendsUnderTest, expectClose, expectNoLeak } from '../../src/testing/index.js';
import { expectError } from '../helpers/errors.js';

const METRICS: readonly DistanceMetric[] = ['sqeuclidean', 'euclidean', 'cosine'];

/** D_ij by the textbook formulas, one pair at a time. */
function naive(a: number[][], b: number[][], metric: DistanceMetric): number[][] {
  return a.map((u) =>
    b.map((v) => {
      if (metric === 'cosine') {
        const dot = u.reduce((s, x, q) => s + x * (v[q] as number), 0);
        const nu = Math.hypot(...u);
        const nv = Math.hypot(...v);
        return nu === 0 || nv === 0 ? 1 : 1 - dot / (nu * nv);
      }
      const sq = u.reduce((s, x, q) => s + (x - (v[q] as number)) ** 2, 0);
      return metric === 'euclidean' ? Math.sqrt(sq) : sq;
    }),
  );
}

function points(seed: string, n: number, d: number, zeroRow = -1): number[][] {
  const rng = seededRng(seed);
  return Array.from({ length: n }, (_, i) => Array.from({ length: d }, () => (i === zeroRow ? 0 : rng.normal())));
}

const host = (m: number[][]): HostRows => ({ values: Float64Array.from(m.flat()), rows: m.length, cols: (m[0] as number[]).length });

describe('hostPairwiseDistances', () => {
  it('equals the naive double loop for every metric (cross, self, a zero row for cosine)', () => {
    const a = points('a', 7, 5, 3);
    const b = points('b', 4, 5);
    for (const metric of METRICS) {
      const got = hostPairwiseDistances(host(a), host(b), { metric });
      expectClose(got, naive(a, b, metric).flat(), { rtol: 1e-12, atol: 1e-12 });
      const ha = host(a);
      const self = hostPairwiseDistances(ha, ha, { metric });
      expectClose(self, naive(a, a, metric).flat(), { rtol: 1e-12, atol: 1e-12 });
      for (let i = 0; i < 7; i++) for (let j = 0; j < 7; j++) expect(self[i * 7 + j]).toBe(self[j * 7 + i]);
    }
    // Squared distances are explicit differences: exactly 0 on the self diagonal, sums in feature order.
    const ha = host(a);
    const sq = hostPairwiseDistances(ha, ha);
    for (let i = 0; i < 7; i++) expect(sq[i * 7 + i]).toBe(0);
    const cos = hostPairwiseDistances(host(a), host(b), { metric: 'cosine' });
    for (let j = 0; j < 4; j++) expect(cos[3 * 4 + j]).toBe(1);
  });

  it('rejects unknown options, bad metrics and widths before any work', () => {
    const a = host(points('a', 2, 3));
    expectError(() => hostPairwiseDistances(a, a, { metrik: 'cosine' } as never), 'UNKNOWN_OPTION', 'expected hostPairwiseDistances options to be among metric. Received: metrik (did you mean metric?)');
    expectError(() => hostPairwiseDistances(a, a, { metric: 'manhattan' as never }), 'INVALID_OPTION', 'expected metric to be one of "sqeuclidean", "euclidean", "cosine". Received: metric="manhattan"');
    expectError(() => hostPairwiseDistances(a, host(points('b', 2, 2))), 'SHAPE_MISMATCH', 'expected b.cols = a.cols = 3. Received: b.cols=2');
  });
});

describe('kNearest metrics and options', () => {
  it('cosine and euclidean searches rank as a full stable sort of the naive distances', () => {
    const ref = points('ref', 12, 4, 5);
    // Duplicated directions make exact cosine ties, which must break by the smaller index.
    ref[7] = (ref[2] as number[]).map((x) => 3 * x);
    const q = points('q', 3, 4);
    for (const metric of ['cosine', 'euclidean'] as const) {
      const res = kNearest(host(ref), { k: 5, query: host(q), metric });
      const d = naive(q, ref, metric);
      for (let i = 0; i < 3; i++) {
        const order = (d[i] as number[]).map((s, j) => ({ s, j })).sort((x, y) => x.s - y.s || x.j - y.j).slice(0, 5);
        expect(Array.from(res.indices.subarray(i * 5, i * 5 + 5))).toEqual(order.map((e) => e.j));
        expectClose(res.distances.subarray(i * 5, i * 5 + 5), order.map((e) => e.s), { rtol: 1e-12, atol: 1e-12 });
      }
      // Self-search excludes the query row itself.
      const self = kNearest(host(ref), { k: 3, metric, rows: [2, 0] });
      const ds = naive([ref[2] as number[], ref[0] as number[]], ref, metric);
      [2, 0].forEach((row, i) => {
        const order = (ds[i] as number[]).map((s, j) => ({ s, j })).filter((e) => e.j !== row).sort((x, y) => x.s - y.s || x.j - y.j);
        expect(Array.from(self.indices.subarray(i * 3, i * 3 + 3))).toEqual(order.slice(0, 3).map((e) => e.j));
      });
    }
    // The direction duplicate of row 2 is its nearest cosine neighbour (distance 0 up to rounding).
    expect(kNearest(host(ref), { k: 1, metric: 'cosine', rows: [2] }).indices[0]).toBe(7);
  });

  it('options only: query in the options object, unknown keys rejected', () => {
    const ref = host(points('ref', 4, 2));
    expectError(() => kNearest(ref, { k: 1, qeury: ref } as never), 'UNKNOWN_OPTION', 'expected kNearest options to be among k, query, rows, metric. Received: qeury (did you mean query?)');
    expectError(() => kNearest(ref, { k: 1, query: ref, rows: [0] }), 'INVALID_OPTION', 'expected rows only for a self-search (no query). Received: rows=[0]');
    expectError(() => kNearest(ref, { k: 1, metric: 'dot' as never }), 'INVALID_OPTION', 'expected metric to be one of "sqeuclidean", "euclidean", "cosine". Received: metric="dot"');
  });
});

for (const backend of backendsUnderTest()) {
  describe(`pairwiseDistances on ${backend}`, () => {
    beforeAll(async () => {
      await useBackend(backend);
    });

    it('equals the naive loop and the host variant for every metric, without leaks', async () => {
      const a = points('ta', 6, 5, 1);
      const b = points('tb', 3, 5);
      const ta = tf.tensor2d(a);
      const tb = tf.tensor2d(b);
      for (const metric of METRICS) {
        const d = pairwiseDistances(ta, tb, { metric });
        expect(d.shape).toEqual([6, 3]);
        // float32 with the expansion ‖a‖² + ‖b‖² − 2a·b: close to the exact values, not equal.
        expectClose(d.dataSync(), naive(a, b, metric).flat(), { rtol: 1e-4, atol: 1e-4 });
        expectClose(d.dataSync(), hostPairwiseDistances(host(a), host(b), { metric }), { rtol: 1e-4, atol: 1e-4 });
        d.dispose();
        await expectNoLeak(() => pairwiseDistances(ta, tb, { metric }));
      }
      // Self matrix: non-negative (clamped), symmetric, zero-row cosine distance 1.
      const self = pairwiseDistances(ta, ta).arraySync();
      for (let i = 0; i < 6; i++) for (let j = 0; j < 6; j++) expect(self[i]![j]).toBeGreaterThanOrEqual(0);
      expect(Array.from(pairwiseDistances(ta, tb, { metric: 'cosine' }).dataSync().subarray(3, 6))).toEqual([1, 1, 1]);
      tf.dispose([ta, tb]);
    });

    it('gradients are finite at coincident points (euclidean) and zero rows (cosine), and match a finite difference', async () => {
      const x = tf.tensor2d([[1, 2], [0, 0], [1, 2]]);
      const y = tf.tensor2d([[1, 2], [3, -1]]);
      for (const metric of METRICS) {
        const g = tf.grad((v: tf.Tensor) => tf.sum(pairwiseDistances(v as tf.Tensor2D, y, { metric })))(x);
        expect(Array.from(g.dataSync()).every(Number.isFinite)).toBe(true);
        g.dispose();
        await expectNoLeak(() => tf.grad((v: tf.Tensor) => tf.sum(pairwiseDistances(v as tf.Tensor2D, y, { metric })))(x));
      }
      // Squared Euclidean: d/dx_i Σ_j ‖x_i − y_j‖² = Σ_j 2(x_i − y_j).
      const g = tf.grad((v: tf.Tensor) => tf.sum(pairwiseDistances(v as tf.Tensor2D, y)))(x);
      expectClose(g.dataSync(), [-4, 6, -8, -2, -4, 6], { rtol: 1e-5, atol: 1e-4 });
      tf.dispose([g, x, y]);
    });

    it('rejects bad input with a LongTailError before any tensor is made', () => {
      const a = tf.tensor2d([[1, 2]]);
      expectError(() => pairwiseDistances(a, a, { metrc: 'cosine' } as never), 'UNKNOWN_OPTION', 'expected pairwiseDistances options to be among metric. Received: metrc (did you mean metric?)');
      const c = tf.tensor2d([[1, 2, 3]]);
      expectError(() => pairwiseDistances(a, c), 'SHAPE_MISMATCH', 'expected b.shape[1] = a.shape[1] = 2. Received: b.shape[1]=3');
      const i = tf.tensor2d([[1, 2]], [1, 2], 'int32');
      expectError(() => pairwiseDistances(a, i), 'DTYPE_MISMATCH', 'expected b of dtype float32. Received: b.dtype=int32');
      const v = tf.tensor1d([1, 2]);
      expect(() => pairwiseDistances(v as never, a)).toThrow(expect.objectContaining({ code: 'SHAPE_MISMATCH' }));
      tf.dispose([a, c, i, v]);
      expectError(() => pairwiseDistances(a, a), 'DISPOSED', 'expected a live tensor a. Received: a after dispose()');
    });
  });
}
