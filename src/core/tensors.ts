/** Tensor lifetime helpers. Library rule: exported functions never dispose their inputs, tidy their
 * intermediates, and return tensors the caller owns. */
import * as tf from '@tensorflow/tfjs';
import { LongTailError } from './errors.js';

/** Anything that holds tensors. `dispose()` frees them and is idempotent. */
export interface Disposable {
  /** Frees every tensor and variable the object owns. Idempotent; other methods throw `DISPOSED` afterwards. */
  dispose(): void;
}

/** Disposes every tensor found in a (nested) array or plain object; other values are ignored. */
export function disposeAll(value: unknown): void {
  if (value instanceof tf.Tensor) {
    if (!value.isDisposed) value.dispose();
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) disposeAll(v);
    return;
  }
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) disposeAll(v);
  }
}

/**
 * Guard for Disposable objects: call `check()` at the top of every public method, `markDisposed()` in
 * `dispose()`; use after dispose throws `DISPOSED`.
 */
export class DisposeGuard {
  private disposed = false;
  constructor(private readonly what: string) {}
  get isDisposed(): boolean {
    return this.disposed;
  }
  /** Returns true the first time, false afterwards (so dispose bodies run once). */
  markDisposed(): boolean {
    if (this.disposed) return false;
    this.disposed = true;
    return true;
  }
  /** Throws `DISPOSED` once `markDisposed()` has been called. */
  check(): void {
    if (this.disposed) {
      throw new LongTailError('DISPOSED', `expected a live ${this.what}. Received: a ${this.what} after dispose()`, {
        name: this.what,
      });
    }
  }
}

/** Reads a tensor's values and disposes it (for scalars and small results leaving a tidy scope). */
export function takeData(t: tf.Tensor): Float32Array | Int32Array | Uint8Array {
  try {
    return t.dataSync() as Float32Array | Int32Array | Uint8Array;
  } finally {
    t.dispose();
  }
}

/** Reads a scalar tensor's value and disposes it. */
export function takeScalar(t: tf.Tensor): number {
  return takeData(t)[0] as number;
}

/** The part of tfjs's engine state that a failed gradient computation leaves behind. */
interface TapeState {
  gradientDepth: number;
  activeTape: { saved?: tf.Tensor[] }[] | null;
}

/**
 * `tf.variableGrads(f, variables)` that leaks nothing when `f` (or the backward pass) throws: tfjs keeps
 * the tensors it saved for the backward pass on its active tape and frees them only after a successful
 * backward pass, so every failing step would leak them. Returns the value and one gradient per variable
 * (`null` where the value does not depend on it); the caller owns all of them.
 */
export function valueAndGrads(f: () => tf.Scalar, variables: readonly tf.Variable[]): { value: tf.Scalar; grads: (tf.Tensor | null)[] } {
  try {
    const { value, grads } = tf.variableGrads(f, [...variables]);
    return { value, grads: variables.map((v) => grads[v.name] ?? null) };
  } catch (e) {
    const state = tf.engine().state as unknown as TapeState;
    if (state.gradientDepth === 0 && state.activeTape !== null) {
      for (const node of state.activeTape) for (const t of node.saved ?? []) if (!t.isDisposed) t.dispose();
      state.activeTape = null;
    }
    throw e;
  }
}
