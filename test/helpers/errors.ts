/** Pinned-error assertion shared by the test files. */
import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';
import { LongTailError } from '../../src/core/errors.js';

/** Runs fn, asserts a LongTailError with the code and exact message, and that no tensor was made. */
export function expectError(fn: () => unknown, code: string, message: string): void {
  const before = tf.memory().numTensors;
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(LongTailError);
  expect((caught as LongTailError).code).toBe(code);
  expect((caught as LongTailError).message).toBe(message);
  expect(tf.memory().numTensors).toBe(before);
}

/** The LongTailError `fn` throws (fails the test when it throws something else or nothing). */
export function thrown(fn: () => unknown): LongTailError {
  try {
    fn();
  } catch (e) {
    if (e instanceof LongTailError) return e;
    throw e;
  }
  throw new Error('expected a LongTailError, nothing was thrown');
}

/** The LongTailError a promise rejects with (fails the test when it resolves or rejects otherwise). */
export async function rejection(p: Promise<unknown>): Promise<LongTailError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof LongTailError) return e;
    throw e;
  }
  throw new Error('expected a LongTailError, the promise resolved');
}
