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
