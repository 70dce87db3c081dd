/**
 * Argument validation that runs before any tensor is made. Every helper throws a {@link LongTailError}
 * with the message `expected <constraint>. Received: <name>=<value>`.
 */
import { invalid, LongTailError } from './errors.js';
import { checkOptions, type OptionKeys } from './options.js';

/** `value` is a finite number. */
export function checkFinite(name: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw invalid('INVALID_OPTION', `${name} to be a finite number`, name, value);
  }
  return value;
}

/** `value > 0` and finite. */
export function checkPositive(name: string, value: number): number {
  checkFinite(name, value);
  if (!(value > 0)) throw invalid('INVALID_OPTION', `${name} > 0`, name, value);
  return value;
}

/** `value ≥ 0` and finite. */
export function checkNonNegative(name: string, value: number): number {
  checkFinite(name, value);
  if (!(value >= 0)) throw invalid('INVALID_OPTION', `${name} >= 0`, name, value);
  return value;
}

/** Options of {@link checkRange}: bounds and whether each is inclusive (default inclusive). */
export interface RangeOptions {
  readonly min?: number;
  readonly max?: number;
  readonly minExclusive?: boolean;
  readonly maxExclusive?: boolean;
}

const RANGE_KEYS: OptionKeys<RangeOptions> = { min: true, max: true, minExclusive: true, maxExclusive: true };
const MIN_KEYS: OptionKeys<{ readonly min?: number }> = { min: true };

/** `value` lies in the given interval, e.g. `{ min: 0, max: 1, maxExclusive: true }` for β ∈ [0, 1). */
export function checkRange(name: string, value: number, range: RangeOptions): number {
  checkOptions('checkRange range', range, RANGE_KEYS);
  checkFinite(name, value);
  const { min, max, minExclusive = false, maxExclusive = false } = range;
  const lowOk = min === undefined || (minExclusive ? value > min : value >= min);
  const highOk = max === undefined || (maxExclusive ? value < max : value <= max);
  if (!lowOk || !highOk) {
    const lo = min === undefined ? '(-inf' : `${minExclusive ? '(' : '['}${min}`;
    const hi = max === undefined ? 'inf)' : `${max}${maxExclusive ? ')' : ']'}`;
    throw invalid('INVALID_OPTION', `${name} in ${lo}, ${hi}`, name, value);
  }
  return value;
}

/** `value` is an integer ≥ `min` (default 0). */
export function checkInteger(name: string, value: number, options: { readonly min?: number } = {}): number {
  checkOptions('checkInteger options', options, MIN_KEYS);
  const min = options.min ?? 0;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw invalid('INVALID_OPTION', `${name} to be an integer`, name, value);
  }
  if (value < min) throw invalid('INVALID_OPTION', `${name} >= ${min}`, name, value);
  return value;
}

/** `value` is one of `allowed` (string-literal unions). */
export function checkOneOf<T extends string>(name: string, value: T, allowed: readonly T[]): T {
  if (!allowed.includes(value)) {
    throw invalid('INVALID_OPTION', `${name} to be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`, name, value);
  }
  return value;
}

/** Every entry of `values` is finite; reports the first offending index. */
export function checkAllFinite(name: string, values: ArrayLike<number>): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (!Number.isFinite(v)) {
      throw new LongTailError('NON_FINITE', `expected ${name} to be finite everywhere. Received: ${name}[${i}]=${v}`, {
        name,
        index: i,
      });
    }
  }
}

/**
 * Class counts: a non-empty array of finite, non-negative numbers (zero is allowed: a class may be absent).
 * Returns a Float64Array copy so later mutation of the caller's array cannot change a component.
 */
export function checkClassCounts(name: string, counts: ArrayLike<number>): Float64Array {
  if (counts === null || counts === undefined || typeof counts.length !== 'number' || counts.length === 0) {
    throw invalid('INVALID_OPTION', `${name} to be a non-empty array of class counts`, name, counts);
  }
  const out = new Float64Array(counts.length);
  for (let i = 0; i < counts.length; i++) {
    const v = counts[i] as number;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      throw invalid('INVALID_OPTION', `every ${name} entry to be a finite number >= 0`, `${name}[${i}]`, v);
    }
    out[i] = v;
  }
  return out;
}

/**
 * Integer class labels in `[0, numClasses)`. Accepts any array-like of numbers; returns them as an
 * Int32Array (the input itself when it already is one).
 */
export function checkLabels(name: string, labels: ArrayLike<number>, numClasses?: number): Int32Array {
  if (labels === null || labels === undefined || typeof labels.length !== 'number') {
    throw invalid('INVALID_OPTION', `${name} to be an array of integer labels`, name, labels);
  }
  if (numClasses !== undefined) checkInteger('numClasses', numClasses, { min: 1 });
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i] as number;
    if (!Number.isInteger(v)) {
      throw new LongTailError('LABEL_OUT_OF_RANGE', `expected ${name} to be integers. Received: ${name}[${i}]=${v}`, {
        name,
        index: i,
      });
    }
    if (v < 0 || (numClasses !== undefined && v >= numClasses)) {
      const range = numClasses === undefined ? '>= 0' : `in [0, ${numClasses})`;
      throw new LongTailError('LABEL_OUT_OF_RANGE', `expected ${name} ${range}. Received: ${name}[${i}]=${v}`, {
        name,
        index: i,
        value: v,
      });
    }
  }
  return labels instanceof Int32Array ? labels : Int32Array.from(labels);
}

/** Two sizes agree (e.g. batch sizes, feature dimensions). */
export function checkSameSize(what: string, expected: number, name: string, received: number): void {
  if (expected !== received) {
    throw new LongTailError('SHAPE_MISMATCH', `expected ${what} = ${expected}. Received: ${name}=${received}`, {
      name,
      expected,
      received,
    });
  }
}

/** A tensor-like shape has the given rank. */
export function checkRank(name: string, shape: readonly number[], rank: number | readonly number[]): void {
  const ranks = typeof rank === 'number' ? [rank] : rank;
  if (!ranks.includes(shape.length)) {
    throw new LongTailError(
      'SHAPE_MISMATCH',
      `expected ${name} of rank ${ranks.join(' or ')}. Received: ${name}.shape=[${shape.join(', ')}]`,
      { name, shape: [...shape] },
    );
  }
}
