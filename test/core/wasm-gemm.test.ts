import { describe, expect, it } from 'vitest';
import { createGemmKernel } from '../../src/core/wasm-gemm.js';
import { seededRng } from '../../src/core/rng.js';

describe('wasm SIMD gemm kernel (axpyGrid)', () => {
  it('computes A·B and C + Aᵀ·G like naive float64 loops, for rows of several vector widths', () => {
    const kernel = createGemmKernel();
    expect(kernel).not.toBeNull();
    const g = kernel!;
    const rng = seededRng('gemm');
    for (const [m, k, n4] of [[1, 1, 1], [5, 3, 2], [37, 16, 7], [256, 9, 25]] as const) {
      g.reset();
      const n = 4 * n4;
      const [A, B, C, G, W] = [g.alloc(m * k), g.alloc(k * n), g.alloc(m * n), g.alloc(m * n), g.alloc(k * n)];
      const a = g.view(A, m * k);
      const b = g.view(B, k * n);
      const gg = g.view(G, m * n);
      a.forEach((_, i) => (a[i] = rng.normal()));
      b.forEach((_, i) => (b[i] = rng.normal()));
      gg.forEach((_, i) => (gg[i] = rng.normal()));
      g.view(C, m * n).fill(0);
      const w0 = Float32Array.from({ length: k * n }, () => rng.normal());
      g.view(W, k * n).set(w0);
      g.axpyGrid(A, B, C, m, k, n4, 0, n * 4, n * 4, 0);
      g.axpyGrid(A, G, W, m, k, n4, n * 4, 0, 0, n * 4);
      const c = g.view(C, m * n);
      const w = g.view(W, k * n);
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let t = 0; t < k; t++) s += (a[i * k + t] as number) * (b[t * n + j] as number);
          expect(Math.abs((c[i * n + j] as number) - s)).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(s)) * k);
        }
      }
      for (let t = 0; t < k; t++) {
        for (let j = 0; j < n; j++) {
          let s = w0[t * n + j] as number;
          for (let i = 0; i < m; i++) s += (a[i * k + t] as number) * (gg[i * n + j] as number);
          expect(Math.abs((w[t * n + j] as number) - s)).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(s)) * Math.sqrt(m));
        }
      }
    }
  });

  it('does nothing when a dimension is 0', () => {
    const g = createGemmKernel()!;
    const C = g.alloc(4);
    g.view(C, 4).fill(7);
    g.axpyGrid(0, 0, C, 0, 3, 1, 0, 16, 16, 0);
    g.axpyGrid(0, 0, C, 2, 0, 1, 0, 16, 16, 0);
    expect(Array.from(g.view(C, 4))).toEqual([7, 7, 7, 7]);
  });
});
