/** Shared input checks of the synthesizers: shapes, dimension, labels and finiteness, before any tensor. */
import * as tf from '@tensorflow/tfjs';
import { invalid, LongTailError } from '../core/errors.js';
import { checkAllFinite, checkInteger, checkLabels, checkRank, checkSameSize } from '../core/validate.js';
import type { FeatureBatch } from './types.js';

/** A batch read back into typed arrays. */
export interface HostBatch {
  /** Row-major N×d float32. */
  readonly x: Float32Array;
  readonly y: Int32Array;
  readonly n: number;
  readonly d: number;
}

/**
 * Reads and validates a {@link FeatureBatch}: features [N, d] (d = `dim` when given), labels [N] (tensor or host)
 * in [0, numClasses), every feature finite. Does not take ownership of the tensors.
 *
 * @throws LongTailError `SHAPE_MISMATCH`, `LABEL_OUT_OF_RANGE`, `NON_FINITE`, `INVALID_OPTION`.
 */
export function readBatch(batch: FeatureBatch, numClasses: number, dim: number | undefined): HostBatch {
  if (batch === null || typeof batch !== 'object' || !(batch.features instanceof tf.Tensor)) {
    throw invalid('INVALID_OPTION', 'a batch { features: Tensor2D, labels: Tensor1D | Int32Array }', 'batch', batch);
  }
  if (!(batch.labels instanceof tf.Tensor || batch.labels instanceof Int32Array || Array.isArray(batch.labels))) {
    throw invalid('INVALID_OPTION', 'batch.labels to be a Tensor1D, an Int32Array or a number[]', 'batch.labels', batch.labels);
  }
  checkRank('features', batch.features.shape, 2);
  const labels = batch.labels;
  if (labels instanceof tf.Tensor) checkRank('labels', labels.shape, 1);
  const [n, d] = batch.features.shape as [number, number];
  const numLabels = labels instanceof tf.Tensor ? (labels.shape[0] as number) : labels.length;
  checkSameSize('labels.shape[0] = features.shape[0]', n, 'labels.shape[0]', numLabels);
  if (dim !== undefined) checkSameSize('feature dimension', dim, 'features.shape[1]', d);
  const raw = batch.features.dataSync();
  const x = raw instanceof Float32Array ? raw : Float32Array.from(raw);
  checkAllFinite('features', x);
  const y = checkLabels('labels', labels instanceof tf.Tensor ? labels.dataSync() : labels, numClasses);
  return { x, y, n, d };
}

/** Row indices of each class. */
export function groupByClass(y: Int32Array, numClasses: number): Int32Array[] {
  const counts = new Int32Array(numClasses);
  for (let i = 0; i < y.length; i++) {
    const c = y[i] as number;
    counts[c] = (counts[c] as number) + 1;
  }
  const groups = Array.from(counts, (c) => new Int32Array(c));
  const fill = new Int32Array(numClasses);
  for (let i = 0; i < y.length; i++) {
    const c = y[i] as number;
    const at = fill[c] as number;
    (groups[c] as Int32Array)[at] = i;
    fill[c] = at + 1;
  }
  return groups;
}

/** Validates a per-class request: length C, non-negative integers. Returns an Int32Array copy. */
export function checkPerClass(perClass: ArrayLike<number>, numClasses: number): Int32Array {
  if (perClass === null || perClass === undefined || typeof perClass.length !== 'number') {
    throw invalid('INVALID_OPTION', 'perClass to be an array of sample counts', 'perClass', perClass);
  }
  checkSameSize('perClass.length = numClasses', numClasses, 'perClass.length', perClass.length);
  const out = new Int32Array(numClasses);
  for (let c = 0; c < numClasses; c++) out[c] = checkInteger(`perClass[${c}]`, perClass[c] as number);
  return out;
}

/** The `EMPTY_CLASS` error for a class with too few observed samples. */
export function tooFew(c: number, have: number, need: number, what: string): LongTailError {
  return new LongTailError(
    'EMPTY_CLASS',
    `expected class ${c} to have at least ${need} observed sample${need === 1 ? '' : 's'} for ${what}. Received: count=${have}`,
    { classIndex: c, count: have, required: need },
  );
}
