/** Long-tailed Gaussian blobs for trainer tests, drawn from a seeded Rng in plain JavaScript. */
import * as tf from '@tensorflow/tfjs';
import { seededRng } from '../../src/core/rng.js';
import type { LabeledData } from '../../src/data/types.js';

/** Options of {@link blobArrays}. */
export interface BlobOptions {
  readonly seed: number;
  /** Features per sample. */
  readonly dim: number;
  /** Offset of a class's own feature(s) from 0. */
  readonly shift: number;
  /** Class c is shifted on every feature k with k mod C = c (`true`) or on feature c only (`false`). */
  readonly wrap: boolean;
}

/** `counts[c]` samples of class c, classes in order: x_ik = shift·[feature k belongs to c] + N(0, 1). */
export function blobArrays(counts: readonly number[], o: BlobOptions): { x: Float32Array; y: Int32Array } {
  const rng = seededRng(o.seed);
  const d = o.dim;
  const n = counts.reduce((a, b) => a + b, 0);
  const x = new Float32Array(n * d);
  const y = new Int32Array(n);
  let i = 0;
  counts.forEach((m, c) => {
    for (let j = 0; j < m; j++, i++) {
      y[i] = c;
      for (let k = 0; k < d; k++) x[i * d + k] = ((o.wrap ? k % counts.length : k) === c ? o.shift : 0) + rng.normal();
    }
  });
  return { x, y };
}

/** {@link blobArrays} as LabeledData (the caller disposes `x`). */
export function blobData(counts: readonly number[], o: BlobOptions): LabeledData {
  const { x, y } = blobArrays(counts, o);
  return { x: tf.tensor2d(x, [y.length, o.dim]), y };
}
