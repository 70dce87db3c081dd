/**
 * Batch assembly: a batch's sample indices split into input rows (real, then input-space synthetic) and
 * latent rows, their labels and synthetic flags; rows gathered from a host copy of the inputs where that
 * is cheaper than `tf.gather`; labels of `step` checked as `fit` checks them.
 */
import * as tf from '@tensorflow/tfjs';
import { LongTailError } from '../core/errors.js';
import { checkLabels } from '../core/validate.js';
import { hostMemory } from '../backends/host-memory.js';

/** One batch's rows as host arrays: indices into the inputs (≥ n: the input-space pool) and the latent pool. */
export interface BatchRows {
  /** Rows that go through the backbone: real indices (< n), then input-space pool indices (≥ n). */
  readonly input: Int32Array;
  /** Latent pool rows (indices into the pool), which go through the head only. */
  readonly latent: Int32Array;
  /** Labels: input rows first, then latent rows. */
  readonly labels: Int32Array;
  /** Per input row, 1 for a synthetic sample. */
  readonly flags: Uint8Array;
}

/**
 * Splits a batch's indices over [real; pool]: with a latent pool, pool indices become latent rows; with
 * an input-space pool they stay input rows. With `dropSingleton`, an input part of one row is left out
 * (batch norm has no training statistics for one sample). Null when nothing is left.
 */
export function splitBatch(
  idx: Int32Array,
  data: { readonly y: Int32Array; readonly synthetic?: Uint8Array | undefined },
  pool: { readonly labels: Int32Array; readonly space: 'latent' | 'input' } | null,
  dropSingleton: boolean,
): BatchRows | null {
  const n = data.y.length;
  const latentPool = pool !== null && pool.space === 'latent';
  let inputCount = 0;
  for (let i = 0; i < idx.length; i++) if ((idx[i] as number) < n || !latentPool) inputCount++;
  const dropInput = inputCount === 1 && dropSingleton;
  // Input rows first (real, then input-space synthetic, in batch order), then latent rows.
  const input = new Int32Array(dropInput ? 0 : inputCount);
  const latent = new Int32Array(idx.length - inputCount);
  let r = 0;
  let s = 0;
  for (let i = 0; i < idx.length; i++) {
    const j = idx[i] as number;
    if (j >= n && latentPool) latent[s++] = j - n;
    else if (!dropInput) input[r++] = j;
  }
  const labels = new Int32Array(input.length + latent.length);
  if (labels.length === 0) return null;
  const poolLabels = pool?.labels ?? new Int32Array(0);
  for (let i = 0; i < input.length; i++) {
    const j = input[i] as number;
    labels[i] = j < n ? (data.y[j] as number) : (poolLabels[j - n] as number);
  }
  for (let i = 0; i < latent.length; i++) labels[input.length + i] = poolLabels[latent[i] as number] as number;
  const flags = new Uint8Array(input.length);
  for (let i = 0; i < input.length; i++) {
    const j = input[i] as number;
    flags[i] = j >= n ? 1 : data.synthetic !== undefined ? (data.synthetic[j] as number) : 0;
  }
  return { input, latent, labels, flags };
}

/**
 * Training inputs read on the host for the length of a `fit`: the tensor and its values. `values` is a
 * view of the memory behind the tensor (no copy), taken afresh at each read: a wasm heap view goes stale
 * when the heap grows, so a caller reads `values` once per batch, before its next tfjs allocation.
 */
export interface HostRows {
  readonly source: tf.Tensor;
  readonly values: Float32Array;
  readonly rowSize: number;
  readonly rowShape: readonly number[];
}

/**
 * Host views of float32 inputs on a backend whose tensors live in host memory (cpu, wasm), where
 * copying a batch's rows in JavaScript and uploading them once costs a small fraction of `tf.gather`
 * (measured by bench:step: 0.05 vs 3.4 ms for 256 rows of 512 floats on wasm). No copy of the inputs is
 * made (a `dataSync` copy of 5,120 × 512 floats cost 25–50 ms per `fit` on wasm). Null elsewhere.
 */
export function hostRowsOf(x: tf.Tensor): HostRows | null {
  if (x.dtype !== 'float32') return null;
  const host = hostMemory();
  if (host === null) return null;
  const rowShape = x.shape.slice(1);
  return {
    source: x,
    get values(): Float32Array {
      return host.view(x);
    },
    rowSize: rowShape.reduce((a, b) => a * b, 1),
    rowShape,
  };
}

/** The rows `rows` of host inputs as one new tensor (the same values `tf.gather` would give). */
export function gatherHostRows(host: HostRows, rows: Int32Array): tf.Tensor {
  const size = host.rowSize;
  const out = new Float32Array(rows.length * size);
  const values = host.values;
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i] as number;
    out.set(values.subarray(r * size, r * size + size), i * size);
  }
  return tf.tensor(out, [rows.length, ...host.rowShape], 'float32');
}

/** Labels of a `step` call as host integers, checked exactly as `fit` checks `data.y`. */
export function hostLabels(labels: tf.Tensor1D | Int32Array | readonly number[], classes: number): Int32Array {
  if (labels instanceof tf.Tensor) {
    if (labels.isDisposed) throw new LongTailError('DISPOSED', 'expected a live tensor labels. Received: labels after dispose()', { name: 'labels' });
    if (labels.dtype !== 'int32') {
      throw new LongTailError('DTYPE_MISMATCH', `expected labels of dtype int32 (e.g. tf.tensor1d(values, 'int32')). Received: labels.dtype=${labels.dtype}`, { name: 'labels' });
    }
    return checkLabels('labels', Int32Array.from(labels.dataSync()), classes);
  }
  return Int32Array.from(checkLabels('labels', labels as ArrayLike<number>, classes));
}

/** Rows of [x; pool] (indices ≥ n index the input-space pool) in the order of `rows`. Inside a tidy. */
export function gatherInputRows(x: tf.Tensor, pool: tf.Tensor | null, rows: Int32Array, n: number): tf.Tensor {
  const source = pool === null ? x : tf.concat([x, pool], 0);
  return tf.gather(source, tf.tensor1d(rows, 'int32'));
}
