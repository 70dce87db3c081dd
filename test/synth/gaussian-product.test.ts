import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/backends/index.js';
import { seededRng } from '../../src/core/rng.js';
import { getTriGemmKernel } from '../../src/core/wasm-trigemm.js';
import { ClassGaussian, type GaussianProduct } from '../../src/synth/gaussian.js';
import { affineLowerRows, affineLowerRowsF32 } from '../../src/synth/linalg.js';
import { expectClose, expectNoLeak } from '../../src/testing/index.js';

/** A random lower-triangular L, mean and normals. */
function inputs(rows: number, d: number, seed: number): { l: Float64Array; mean: Float64Array; z: Float32Array } {
  const r = seededRng(seed);
  const l = new Float64Array(d * d);
  for (let i = 0; i < d; i++) for (let k = 0; k <= i; k++) l[i * d + k] = r.normal();
  return { l, mean: Float64Array.from({ length: d }, () => 3 * r.normal()), z: Float32Array.from({ length: rows * d }, () => r.normal()) };
}

describe('affineLowerRowsF32: μ + L·z on the triangular f32x4 WebAssembly kernel', () => {
  it('equals a float64 naive loop within float32 rounding, for sizes around the 4-row tiles and 8-column panels, at an offset', () => {
    expect(getTriGemmKernel()).not.toBeNull();
    for (const [rows, d] of [[1, 1], [3, 5], [4, 8], [5, 9], [9, 16], [13, 23], [70, 40], [601, 7]] as const) {
      const { l, mean, z } = inputs(rows, d, rows * 100 + d);
      const offset = 2 * d;
      const out = new Float32Array(offset + rows * d + 3).fill(-7);
      expect(affineLowerRowsF32(l, mean, z, rows, d, out, offset)).toBe(true);
      const expected: number[] = [];
      let scale = 0;
      for (let s = 0; s < rows; s++) {
        for (let i = 0; i < d; i++) {
          let x = mean[i] as number;
          for (let k = 0; k <= i; k++) x += (l[i * d + k] as number) * (z[s * d + k] as number);
          expected.push(x);
          scale = Math.max(scale, Math.abs(x));
        }
      }
      // Untouched outside [offset, offset + rows·d).
      expect(Array.from(out.subarray(0, offset)).every((v) => v === -7)).toBe(true);
      expect(Array.from(out.subarray(offset + rows * d))).toEqual([-7, -7, -7]);
      expectClose(Array.from(out.subarray(offset, offset + rows * d)), expected, { rtol: 1e-5, atol: 1e-6 * Math.max(1, scale) * Math.sqrt(d), name: `${rows}×${d}` });
      // The float64 typed path agrees to the same tolerance.
      const typed = new Float32Array(rows * d);
      affineLowerRows(l, mean, z, rows, d, typed, 0);
      expectClose(Array.from(out.subarray(offset, offset + rows * d)), Array.from(typed), { rtol: 1e-5, atol: 1e-6 * Math.max(1, scale) * Math.sqrt(d) });
    }
  });

  it('is deterministic and writes nothing for zero rows', () => {
    const { l, mean, z } = inputs(37, 19, 1);
    const a = new Float32Array(37 * 19);
    const b = new Float32Array(37 * 19);
    affineLowerRowsF32(l, mean, z, 37, 19, a, 0);
    affineLowerRowsF32(l, mean, z, 37, 19, b, 0);
    expect(Array.from(b)).toEqual(Array.from(a));
    const empty = new Float32Array(4).fill(1);
    expect(affineLowerRowsF32(l, mean, z, 0, 19, empty, 0)).toBe(true);
    expect(Array.from(empty)).toEqual([1, 1, 1, 1]);
  });
});

describe("ClassGaussian product 'auto' on wasm: the triangular kernel, same numbers as the matMul product", () => {
  beforeAll(async () => {
    await useBackend('wasm');
  });
  afterAll(async () => {
    await useBackend('cpu');
  });

  const fit = (product: GaussianProduct, x: tf.Tensor2D, y: tf.Tensor1D): ClassGaussian => {
    const g = new ClassGaussian({ numClasses: 3, covariance: 'shrinkage', shrinkage: 0.2, product });
    g.observe({ features: x, labels: y });
    return g;
  };

  it("equals product 'tensor' (XNNPACK float32 GEMM from the bias, k in order) and agrees with 'typed'; deterministic; no leaks", async () => {
    const r = seededRng(12);
    const n = 90;
    const d = 21;
    const x = tf.tensor2d(Float32Array.from({ length: n * d }, (_, i) => r.normal() * (1 + (i % d) / 5) + (i % 3)), [n, d]);
    const y = tf.tensor1d(Int32Array.from({ length: n }, (_, i) => i % 3), 'int32');
    const [auto, tensor, typed] = (['auto', 'tensor', 'typed'] as const).map((p) => fit(p, x, y));
    const req = { perClass: [5, 0, 123] };
    const a = (auto as ClassGaussian).sample(req, seededRng(4));
    const b = (tensor as ClassGaussian).sample(req, seededRng(4));
    const c = (typed as ClassGaussian).sample(req, seededRng(4));
    expect(Array.from(a.features.dataSync())).toEqual(Array.from(b.features.dataSync()));
    expectClose(a.features, c.features, { rtol: 1e-5, atol: 1e-5 });
    expect(Array.from(a.labels.dataSync())).toEqual(Array.from(c.labels.dataSync()));
    const again = (auto as ClassGaussian).sample(req, seededRng(4));
    expect(Array.from(again.features.dataSync())).toEqual(Array.from(a.features.dataSync()));
    tf.dispose([a.features, a.labels, b.features, b.labels, c.features, c.labels, again.features, again.labels]);
    await expectNoLeak(() => (auto as ClassGaussian).sample(req, seededRng(1)));
    for (const g of [auto, tensor, typed]) g?.dispose();
    tf.dispose([x, y]);
  });
});
