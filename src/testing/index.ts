/**
 * Test utilities, exported as `longtail/testing`, so users test their own losses and components the way
 * the library tests its own. Framework-agnostic: failures throw plain `Error`s that every runner reports.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendName } from '../backends/index.js';
import { checkOptions, type OptionKeys } from '../core/options.js';

/** Options of {@link expectNoLeak}. */
export interface NoLeakOptions {
  /** Tensors the function may legitimately leave alive (e.g. a returned, then kept, result). Default 0. */
  readonly allowed?: number;
}

const NO_LEAK_KEYS: OptionKeys<NoLeakOptions> = { allowed: true };

/**
 * Runs `fn` and throws if `tf.memory().numTensors` differs afterwards by more than `allowed`.
 * Tensors returned by `fn` are disposed before counting, so returning a result is not a leak.
 */
export async function expectNoLeak(fn: () => unknown, options: NoLeakOptions = {}): Promise<void> {
  checkOptions('expectNoLeak options', options, NO_LEAK_KEYS);
  const before = tf.memory().numTensors;
  const result = await fn();
  disposeResult(result);
  const after = tf.memory().numTensors;
  const allowed = options.allowed ?? 0;
  if (after - before > allowed || after < before) {
    throw new Error(`expected tf.memory().numTensors to stay at ${before} (+${allowed}). Received: numTensors=${after}`);
  }
}

function disposeResult(value: unknown): void {
  if (value instanceof tf.Tensor) {
    if (!value.isDisposed) value.dispose();
  } else if (Array.isArray(value)) {
    value.forEach(disposeResult);
  } else if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    Object.values(value).forEach(disposeResult);
  }
}

/** Default tolerances per backend: float32 kernels differ by backend in the last bits. */
export function defaultTolerance(backend: string = tf.getBackend()): { rtol: number; atol: number } {
  if (backend === 'webgl' || backend === 'webgpu') return { rtol: 1e-3, atol: 1e-3 };
  return { rtol: 1e-5, atol: 1e-6 };
}

/** Options of {@link expectClose}. */
export interface CloseOptions {
  readonly rtol?: number;
  readonly atol?: number;
  /** Label used in the failure message. */
  readonly name?: string;
}

const CLOSE_KEYS: OptionKeys<CloseOptions> = { rtol: true, atol: true, name: true };

/**
 * Throws unless every |actual − expected| ≤ atol + rtol·|expected| (numpy `allclose`). Accepts tensors,
 * typed arrays, nested arrays or numbers; shapes must have the same number of elements.
 */
export function expectClose(actual: unknown, expected: unknown, options: CloseOptions = {}): void {
  checkOptions('expectClose options', options, CLOSE_KEYS);
  const tol = defaultTolerance();
  const rtol = options.rtol ?? tol.rtol;
  const atol = options.atol ?? tol.atol;
  const a = flatten(actual);
  const e = flatten(expected);
  const name = options.name ?? 'values';
  if (a.length !== e.length) {
    throw new Error(`expected ${name} to have ${e.length} elements. Received: ${a.length}`);
  }
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = e[i] as number;
    if (Number.isNaN(x) && Number.isNaN(y)) continue;
    if (x === y) continue;
    if (!(Math.abs(x - y) <= atol + rtol * Math.abs(y))) {
      throw new Error(
        `expected ${name}[${i}] ≈ ${y} (rtol=${rtol}, atol=${atol}). Received: ${x} (|diff|=${Math.abs(x - y)})`,
      );
    }
  }
}

function flatten(value: unknown): number[] {
  if (value instanceof tf.Tensor) return Array.from(value.dataSync());
  if (typeof value === 'number') return [value];
  if (ArrayBuffer.isView(value)) return Array.from(value as unknown as ArrayLike<number>);
  if (Array.isArray(value)) return value.flatMap((v) => flatten(v));
  throw new Error(`expected a tensor, number or array. Received: ${Object.prototype.toString.call(value)}`);
}

/**
 * Backends to run tests on: the comma-separated `TEST_BACKENDS` environment variable, default `cpu,wasm`.
 */
export function backendsUnderTest(): BackendName[] {
  const env = typeof process !== 'undefined' ? process.env['TEST_BACKENDS'] : undefined;
  const names = (env ?? 'cpu,wasm')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  return names as BackendName[];
}
export * from './conformance.js';
