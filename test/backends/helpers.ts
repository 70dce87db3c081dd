/**
 * Cross-backend comparison for the wasm kernel tests: run the same tensor program on cpu (the reference)
 * and on wasm, and compare element-wise.
 */
import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';
import type { Rng } from '../../src/core/rng.js';

/** A seeded normal sample N(shift, 1), as float32. */
export function normals(rng: Rng, n: number, shift = 0): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal() + shift;
  return out;
}

/** Runs `program` on `backend`, reads every output back as a plain array and disposes everything. */
export async function runOn(backend: 'cpu' | 'wasm', program: () => tf.Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  return tf.tidy(() => program().map((t) => Float32Array.from(t.dataSync())));
}

/**
 * Asserts |wasm − cpu| ≤ 1e-5·(|cpu| + rms(cpu)) element-wise: 1e-5 relative, measured against the
 * tensor's own scale where an entry is close to zero by cancellation.
 */
export function expectMatches(wasm: Float32Array[], cpu: Float32Array[], label: string, rtol = 1e-5): void {
  expect(wasm.length, label).toBe(cpu.length);
  cpu.forEach((ref, k) => {
    const got = wasm[k] as Float32Array;
    expect(got.length, `${label} output ${k} size`).toBe(ref.length);
    let ss = 0;
    for (const v of ref) ss += v * v;
    const rms = Math.sqrt(ss / Math.max(ref.length, 1));
    let worst = 0;
    let worstAt = -1;
    for (let i = 0; i < ref.length; i++) {
      const err = Math.abs((got[i] as number) - (ref[i] as number)) / (Math.abs(ref[i] as number) + rms + 1e-30);
      if (!(err <= worst)) {
        worst = err;
        worstAt = i;
      }
    }
    expect(worst, `${label} output ${k}: worst relative error at ${worstAt} (wasm ${got[worstAt]}, cpu ${ref[worstAt]})`).toBeLessThanOrEqual(rtol);
  });
}

/** Computes `program` on cpu then on wasm and compares. */
export async function expectSameOnCpuAndWasm(label: string, program: () => tf.Tensor[]): Promise<void> {
  const cpu = await runOn('cpu', program);
  const wasm = await runOn('wasm', program);
  expectMatches(wasm, cpu, label);
}
