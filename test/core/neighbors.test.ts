import { describe, expect, it } from 'vitest';
import { seededRng } from '../../src/core/rng.js';
import { hostPairwiseDistances, kNearest } from '../../src/core/neighbors.js';
import golden from '../golden/resample.json';

/** Naive reference: every distance, then a full stable sort by (distance, index). */
function naive(ref: Float32Array | Float64Array, n: number, d: number, q: ArrayLike<number>, k: number, skip: number): number[] {
  const all: { j: number; s: number }[] = [];
  for (let j = 0; j < n; j++) {
    if (j === skip) continue;
    let s = 0;
    for (let t = 0; t < d; t++) {
      const v = (q[t] as number) - (ref[j * d + t] as number);
      s += v * v;
    }
    all.push({ j, s });
  }
  all.sort((a, b) => a.s - b.s || a.j - b.j);
  return all.slice(0, k).map((e) => e.j);
}

describe('kNearest / hostPairwiseDistances', () => {
  it('self-search matches a naive full sort (odd and even sizes, subsets of rows)', () => {
    const rng = seededRng('knn');
    for (const [n, d, k] of [[1 + 1, 1, 1], [7, 3, 2], [10, 5, 4], [33, 17, 5], [64, 8, 63]] as const) {
      // Integer grid values: many exact ties, which must break by index.
      const x = Float32Array.from({ length: n * d }, () => rng.int(3));
      const all = kNearest({ values: x, rows: n, cols: d }, { k });
      for (let i = 0; i < n; i++) {
        expect(Array.from(all.indices.subarray(i * k, (i + 1) * k))).toEqual(naive(x, n, d, x.subarray(i * d, (i + 1) * d), k, i));
      }
      const rows = [n - 1, 0, Math.floor(n / 2)].filter((r, i, a) => a.indexOf(r) === i);
      const some = kNearest({ values: x, rows: n, cols: d }, { k, rows });
      rows.forEach((r, i) => {
        expect(Array.from(some.indices.subarray(i * k, (i + 1) * k))).toEqual(Array.from(all.indices.subarray(r * k, (r + 1) * k)));
        expect(Array.from(some.distances.subarray(i * k, (i + 1) * k))).toEqual(Array.from(all.distances.subarray(r * k, (r + 1) * k)));
      });
    }
  });

  it('cross search and the pairwise matrix equal the naive loops exactly', () => {
    const rng = seededRng('cross');
    const n = 21;
    const m = 6;
    const d = 9;
    const ref = Float64Array.from({ length: n * d }, () => rng.normal());
    const q = Float64Array.from({ length: m * d }, () => rng.normal());
    const res = kNearest({ values: ref, rows: n, cols: d }, { k: 4, query: { values: q, rows: m, cols: d } });
    const dist = hostPairwiseDistances({ values: q, rows: m, cols: d }, { values: ref, rows: n, cols: d });
    for (let i = 0; i < m; i++) {
      expect(Array.from(res.indices.subarray(i * 4, i * 4 + 4))).toEqual(naive(ref, n, d, q.subarray(i * d, (i + 1) * d), 4, -1));
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let t = 0; t < d; t++) s += ((q[i * d + t] as number) - (ref[j * d + t] as number)) ** 2;
        expect(dist[i * n + j]).toBe(s);
      }
      expect(res.distances[i * 4]).toBe(dist[i * n + (res.indices[i * 4] as number)]);
    }
    const qRows = { values: q, rows: m, cols: d };
    const self = hostPairwiseDistances(qRows, qRows);
    for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) expect(self[i * m + j]).toBe(self[j * m + i]);
    expect(self[0]).toBe(0);
  });

  it('matches scikit-learn NearestNeighbors (golden): self-search without the point itself, and queries', () => {
    const g = golden.knn;
    const [n, d] = g.shape as [number, number];
    const ref = { values: Float64Array.from(g.x), rows: n, cols: d };
    const self = kNearest(ref, { k: 5 });
    expect(Array.from(self.indices)).toEqual(g.self.flat());
    self.distances.forEach((s, i) => expect(Math.sqrt(s)).toBeCloseTo(g.selfDistances.flat()[i] as number, 10));
    const q = kNearest(ref, { k: 4, query: { values: Float64Array.from(g.query), rows: 5, cols: d } });
    expect(Array.from(q.indices)).toEqual(g.queryIndices.flat());
    q.distances.forEach((s, i) => expect(Math.sqrt(s)).toBeCloseTo(g.queryDistances.flat()[i] as number, 10));
  });

  it('rejects bad input', () => {
    const x = { values: new Float32Array(6), rows: 3, cols: 2 };
    expect(() => kNearest(x, { k: 3 })).toThrow('expected k <= reference.rows − 1 = 2 for a self-search. Received: k=3');
    expect(() => kNearest(x, { k: 1, rows: [0, 3] })).toThrow('expected rows in [0, 3). Received: rows[1]=3');
    expect(() => kNearest(x, { k: 1, rows: [1, 1] })).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
    expect(() => kNearest(x, { k: 1, query: { values: new Float32Array(3), rows: 1, cols: 3 } })).toThrow(expect.objectContaining({ code: 'SHAPE_MISMATCH' }));
    expect(() => kNearest({ values: new Float32Array(5), rows: 3, cols: 2 }, { k: 1 })).toThrow(expect.objectContaining({ code: 'SHAPE_MISMATCH' }));
  });
});
