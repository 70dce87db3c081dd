import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { toConfig } from '../../src/core/registry.js';
import { seededRng } from '../../src/core/rng.js';
import { synthRegistry } from '../../src/synth/registry.js';
import { LatentSmote } from '../../src/synth/smote.js';
import { expectNoLeak } from '../../src/testing/index.js';

const d = 2;
// Class 0: 8 points on a line; class 1: 3 points (fewer than k + 1 = 6); class 2: one point; class 3: none.
const points: [number, number, number][] = [
  ...Array.from({ length: 8 }, (_, i) => [i, i * i * 0.1, 0] as [number, number, number]),
  [10, 10, 1],
  [11, 10, 1],
  [10, 12, 1],
  [-5, -5, 2],
];

function smote(options: Partial<ConstructorParameters<typeof LatentSmote>[0]> = {}): LatentSmote {
  const s = new LatentSmote({ numClasses: 4, ...options });
  const batch = {
    features: tf.tensor2d(points.map((p) => [p[0], p[1]])),
    labels: tf.tensor1d(points.map((p) => p[2]), 'int32'),
  };
  s.observe(batch);
  tf.dispose([batch.features, batch.labels]);
  return s;
}

/** Is x on a segment from a class point to one of its k nearest same-class points (naive search)? */
function onSomeSegment(x: number[], cls: [number, number][], k: number): boolean {
  for (let i = 0; i < cls.length; i++) {
    const p = cls[i] as [number, number];
    const others = cls
      .map((q, j) => ({ j, s: (q[0] - p[0]) ** 2 + (q[1] - p[1]) ** 2 }))
      .filter((e) => e.j !== i)
      .sort((a, b) => a.s - b.s || a.j - b.j)
      .slice(0, k);
    for (const { j } of others) {
      const q = cls[j] as [number, number];
      const dx = q[0] - p[0];
      const dy = q[1] - p[1];
      const u = dx !== 0 ? ((x[0] as number) - p[0]) / dx : ((x[1] as number) - p[1]) / dy;
      if (u >= -1e-6 && u <= 1 + 1e-6 && Math.abs(p[0] + u * dx - (x[0] as number)) < 1e-4 && Math.abs(p[1] + u * dy - (x[1] as number)) < 1e-4) return true;
    }
  }
  return false;
}

describe('LatentSmote', () => {
  it('interpolates toward one of the k nearest same-class neighbours; small classes use all neighbours', () => {
    const s = smote({ k: 2 });
    const out = s.sample({ perClass: [40, 30, 0, 0] }, seededRng(3));
    const rows = out.features.arraySync() as number[][];
    const labels = Array.from(out.labels.dataSync());
    expect(labels).toEqual([...new Array(40).fill(0), ...new Array(30).fill(1)]);
    const byClass = (c: number) => points.filter((p) => p[2] === c).map((p) => [p[0], p[1]] as [number, number]);
    rows.forEach((r, i) => expect(onSomeSegment(r, byClass(labels[i] as number), 2)).toBe(true));
    // k = 1 on class 0 (points on a parabola): never interpolates between non-adjacent points.
    const k1 = smote({ k: 1 }).sample({ perClass: [50, 0, 0, 0] }, seededRng(4));
    for (const r of k1.features.arraySync() as number[][]) expect(onSomeSegment(r, byClass(0), 1)).toBe(true);
    // Class 1 has 3 points: with k = 5 every other point of the class is a neighbour.
    const big = smote({ k: 5 }).sample({ perClass: [0, 200, 0, 0] }, seededRng(5));
    for (const r of big.features.arraySync() as number[][]) expect(onSomeSegment(r, byClass(1), 2)).toBe(true);
    tf.dispose([out.features, out.labels, k1.features, k1.labels, big.features, big.labels]);
    s.dispose();
  });

  it('one-sample classes: EMPTY_CLASS by default, copies with singleSample "duplicate"; empty classes throw', () => {
    const s = smote();
    expect(() => s.sample({ perClass: [0, 0, 1, 0] }, seededRng(0))).toThrow(
      'expected class 2 to have at least 2 observed samples for SMOTE interpolation. Received: count=1',
    );
    expect(() => s.sample({ perClass: [0, 0, 0, 1] }, seededRng(0))).toThrow(expect.objectContaining({ code: 'EMPTY_CLASS' }));
    const dup = smote({ singleSample: 'duplicate' });
    const out = dup.sample({ perClass: [0, 0, 3, 0] }, seededRng(0));
    expect(out.features.arraySync()).toEqual([[-5, -5], [-5, -5], [-5, -5]]);
    tf.dispose([out.features, out.labels]);
    s.dispose();
    dup.dispose();
  });

  it('deterministic under a seed, no leaks, errors, config round trip', async () => {
    const s = smote();
    const a = s.sample({ perClass: [5, 5, 0, 0] }, seededRng(7));
    const b = s.sample({ perClass: [5, 5, 0, 0] }, seededRng(7));
    const c = s.sample({ perClass: [5, 5, 0, 0] }, seededRng(8));
    expect(Array.from(a.features.dataSync())).toEqual(Array.from(b.features.dataSync()));
    expect(Array.from(a.features.dataSync())).not.toEqual(Array.from(c.features.dataSync()));
    tf.dispose([a.features, a.labels, b.features, b.labels, c.features, c.labels]);
    await expectNoLeak(() => s.sample({ perClass: [3, 3, 0, 0] }, seededRng(1)));
    const nan = { features: tf.tensor2d([[Number.NaN, 1]]), labels: tf.tensor1d([0], 'int32') };
    expect(() => s.observe(nan)).toThrow('expected features to be finite everywhere. Received: features[0]=NaN');
    const wide = { features: tf.tensor2d([[1, 2, 3]]), labels: tf.tensor1d([0], 'int32') };
    expect(() => s.observe(wide)).toThrow('expected feature dimension = 2. Received: features.shape[1]=3');
    expect(() => new LatentSmote({ numClasses: 2, k: 0 })).toThrow('expected k >= 1. Received: k=0');
    tf.dispose([nan.features, nan.labels, wide.features, wide.labels]);
    expect(Array.from(s.observedCounts())).toEqual([8, 3, 1, 0]);
    const back = synthRegistry.fromConfig(toConfig(s));
    expect(back).toBeInstanceOf(LatentSmote);
    expect(toConfig(back)).toEqual(toConfig(s));
    s.dispose();
    s.dispose();
    expect(() => s.sample({ perClass: [1, 0, 0, 0] }, seededRng(0))).toThrow(expect.objectContaining({ code: 'DISPOSED' }));
    back.dispose();
  });
});
