import type { JsonObject } from './json.js';

/**
 * Stable error codes. Code is the contract; message wording may improve between versions.
 *
 * - `INVALID_OPTION`: an option or argument is outside its allowed range or type.
 * - `UNKNOWN_OPTION`: an options object has a key the function does not know (usually a typo).
 * - `SHAPE_MISMATCH`: tensor or array shapes (or class counts, feature sizes) disagree.
 * - `DTYPE_MISMATCH`: a tensor has the wrong dtype (e.g. float labels).
 * - `LABEL_OUT_OF_RANGE`: a label is negative, non-integer or ≥ the number of classes.
 * - `EMPTY_CLASS`: a class has too few samples for the requested operation.
 * - `NON_FINITE`: NaN or ±Inf where finite numbers are required (inputs or a training loss).
 * - `MISSING_INPUT`: a required input (model output, class counts, file) is absent.
 * - `UNKNOWN_KIND`: a config names a component kind that is not registered.
 * - `BACKEND_UNAVAILABLE`: a tfjs backend could not be loaded or initialised.
 * - `INVALID_DATA`: a data file is corrupt, truncated or of the wrong format.
 * - `NOT_FITTED`: a stateful component was used before it saw any data.
 * - `DISPOSED`: an object was used after `dispose()`.
 * - `INVALID_CHECKPOINT`: a checkpoint or trainer state is corrupt, truncated, foreign to the model, or
 *   of another format; nothing was restored.
 */
export type ErrorCode =
  | 'INVALID_OPTION'
  | 'UNKNOWN_OPTION'
  | 'SHAPE_MISMATCH'
  | 'DTYPE_MISMATCH'
  | 'LABEL_OUT_OF_RANGE'
  | 'EMPTY_CLASS'
  | 'NON_FINITE'
  | 'MISSING_INPUT'
  | 'UNKNOWN_KIND'
  | 'BACKEND_UNAVAILABLE'
  | 'INVALID_DATA'
  | 'NOT_FITTED'
  | 'DISPOSED'
  | 'INVALID_CHECKPOINT';

/** Every error code, for exhaustive tests and documentation. */
export const ERROR_CODES: readonly ErrorCode[] = [
  'INVALID_OPTION',
  'UNKNOWN_OPTION',
  'SHAPE_MISMATCH',
  'DTYPE_MISMATCH',
  'LABEL_OUT_OF_RANGE',
  'EMPTY_CLASS',
  'NON_FINITE',
  'MISSING_INPUT',
  'UNKNOWN_KIND',
  'BACKEND_UNAVAILABLE',
  'INVALID_DATA',
  'NOT_FITTED',
  'DISPOSED',
  'INVALID_CHECKPOINT',
];

/**
 * The one error class the library throws for bad input and misuse. `code` is stable; `details` carries
 * the offending values as JSON.
 *
 * @example
 * ```ts
 * try { focalLoss({ gamma: -1 }); } catch (e) { if (isLongTailError(e, 'INVALID_OPTION')) ... }
 * ```
 */
export class LongTailError extends Error {
  readonly code: ErrorCode;
  readonly details: JsonObject;

  constructor(code: ErrorCode, message: string, details: JsonObject = {}) {
    super(message);
    this.name = 'LongTailError';
    this.code = code;
    this.details = details;
    // Keeps `instanceof` working when compiled to ES5-style classes or across bundles.
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

/** Type guard: `e` is a {@link LongTailError}, optionally with the given code. */
export function isLongTailError(e: unknown, code?: ErrorCode): e is LongTailError {
  return e instanceof LongTailError && (code === undefined || e.code === code);
}

/** Formats a value for a "Received: name=value" message without dumping huge arrays. */
export function formatValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) {
    return String(value);
  }
  if (ArrayBuffer.isView(value) || Array.isArray(value)) {
    const arr = Array.from(value as ArrayLike<unknown>);
    const head = arr.slice(0, 8).map((v) => formatValue(v));
    return `[${head.join(', ')}${arr.length > 8 ? `, … (${arr.length} items)` : ''}]`;
  }
  try {
    const s = JSON.stringify(value);
    return s.length > 200 ? `${s.slice(0, 200)}…` : s;
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/**
 * Builds the canonical message `expected <what>. Received: <name>=<value>` and returns the error.
 *
 * @example `invalid('INVALID_OPTION', 'temperature > 0', 'temperature', 0)`
 *   → "expected temperature > 0. Received: temperature=0"
 */
export function invalid(code: ErrorCode, expected: string, name: string, value: unknown, details: JsonObject = {}): LongTailError {
  return new LongTailError(code, `expected ${expected}. Received: ${name}=${formatValue(value)}`, {
    name,
    ...details,
  });
}
