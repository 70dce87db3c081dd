/** Input checks shared by the model modules; they run before any tensor is made. */
import type * as tf from '@tensorflow/tfjs';
import { LongTailError, invalid } from '../core/errors.js';
import { checkInteger, checkRange } from '../core/validate.js';
import type { ForwardMode } from './types.js';

function shapeText(shape: readonly (number | string)[]): string {
  return `[${shape.join(', ')}]`;
}

/**
 * `x` is a float32 tensor of shape [N, ...perSample] with N ≥ 1.
 * Throws `SHAPE_MISMATCH` ("expected x of shape [N, 784]. Received: x.shape=[8, 100]") or `DTYPE_MISMATCH`.
 */
export function checkInput(name: string, x: tf.Tensor, perSample: readonly number[]): void {
  checkTensor(name, x);
  const ok =
    x.rank === perSample.length + 1 && perSample.every((d, i) => x.shape[i + 1] === d) && (x.shape[0] ?? 0) > 0;
  if (!ok) {
    throw new LongTailError(
      'SHAPE_MISMATCH',
      `expected ${name} of shape ${shapeText(['N', ...perSample])} with N >= 1. Received: ${name}.shape=${shapeText(x.shape)}`,
      { name, expected: [...perSample], shape: [...x.shape] },
    );
  }
  if (x.dtype !== 'float32') {
    throw new LongTailError('DTYPE_MISMATCH', `expected ${name} of dtype float32. Received: ${name}.dtype=${x.dtype}`, {
      name,
      dtype: x.dtype,
    });
  }
}

/** `x` is a tfjs tensor that has not been disposed. */
export function checkTensor(name: string, x: tf.Tensor): void {
  if (x === null || typeof x !== 'object' || !Array.isArray((x as { shape?: unknown }).shape)) {
    throw invalid('INVALID_OPTION', `${name} to be a tf.Tensor`, name, x);
  }
  if (x.isDisposed) {
    throw new LongTailError('DISPOSED', `expected a live tensor ${name}. Received: ${name} after dispose()`, { name });
  }
}

/** `mode` is 'train' or 'eval'. */
export function checkMode(mode: ForwardMode): ForwardMode {
  if (mode !== 'train' && mode !== 'eval') throw invalid('INVALID_OPTION', `mode to be one of "train", "eval"`, 'mode', mode);
  return mode;
}

/** A layer size: an integer ≥ 1. */
export function checkSize(name: string, value: number): number {
  return checkInteger(name, value, { min: 1 });
}

/** A non-empty (or, with `allowEmpty`, possibly empty) list of layer sizes. */
export function checkSizes(name: string, values: readonly number[], options: { readonly allowEmpty: boolean }): number[] {
  if (!Array.isArray(values) || (!options.allowEmpty && values.length === 0)) {
    throw invalid('INVALID_OPTION', `${name} to be ${options.allowEmpty ? 'an' : 'a non-empty'} array of integers >= 1`, name, values);
  }
  return values.map((v, i) => checkSize(`${name}[${i}]`, v));
}

/** A dropout rate in [0, 1). */
export function checkDropout(name: string, rate: number): number {
  return checkRange(name, rate, { min: 0, max: 1, maxExclusive: true });
}

/** A required option object is present. */
export function checkPresent<T>(name: string, value: T | undefined | null): T {
  if (value === undefined || value === null) throw invalid('INVALID_OPTION', `${name} to be given`, name, value);
  return value;
}

/** An `Rng` (duck-typed: has `next`, `normal` and `seed`). */
export function checkRng(name: string, rng: unknown): void {
  const r = rng as { next?: unknown; normal?: unknown; seed?: unknown } | null | undefined;
  if (r === null || r === undefined || typeof r.next !== 'function' || typeof r.normal !== 'function' || typeof r.seed !== 'function') {
    throw invalid('INVALID_OPTION', `${name} to be an Rng (seededRng(seed))`, name, rng === undefined ? undefined : typeof rng);
  }
}
