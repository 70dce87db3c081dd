/**
 * The one home of batched inference over a model ({@link encode}, and {@link mapBatches} for any
 * row-wise map) and of class prototypes, the per-class mean features ({@link classPrototypes}).
 */
import * as tf from '@tensorflow/tfjs';
import { invalid, LongTailError } from '../core/errors.js';
import { checkOptions, type OptionKeys } from '../core/options.js';
import { checkInteger, checkLabels, checkOneOf, checkSameSize } from '../core/validate.js';
import type { ForwardFields, ForwardMode, Model, Requirement } from './types.js';

/** Rows per forward pass when no batch size is given. */
const DEFAULT_ENCODE_BATCH_SIZE = 512;

/** Options of {@link mapBatches}. */
export interface MapBatchesOptions {
  /** Rows per call. @defaultValue 512 */
  readonly batchSize?: number;
}

const MAP_KEYS: OptionKeys<MapBatchesOptions> = { batchSize: true };

/** Options of {@link encode}. */
export interface EncodeOptions<O extends Requirement = 'embeddings'> {
  /** Which forward field to collect. @defaultValue 'embeddings' */
  readonly output?: O;
  /**
   * `'eval'` (batch norm on its moving statistics, no dropout) or `'train'` (batch statistics of each
   * batch and dropout, so the result then depends on `batchSize`). @defaultValue 'eval'
   */
  readonly mode?: ForwardMode;
  /** Rows per forward pass. @defaultValue 512 */
  readonly batchSize?: number;
}

const ENCODE_KEYS: OptionKeys<EncodeOptions<Requirement>> = { output: true, mode: true, batchSize: true };

const OUTPUTS: readonly Requirement[] = ['embeddings', 'logits', 'projections'];

function checkInput(name: string, x: tf.Tensor): void {
  if (!(x instanceof tf.Tensor)) throw invalid('INVALID_OPTION', `${name} to be a tf.Tensor`, name, typeof x);
  if (x.isDisposed) throw new LongTailError('DISPOSED', `expected a live tensor ${name}. Received: ${name} after dispose()`, { name });
  if (x.rank < 1) throw invalid('SHAPE_MISMATCH', `${name} of rank >= 1 (rows on axis 0)`, `${name}.rank`, x.rank);
}

/** The batches' shared loop; arguments already checked. */
function batches(x: tf.Tensor, fn: (xb: tf.Tensor) => tf.Tensor, batchSize: number, name: string): tf.Tensor {
  const n = x.shape[0] as number;
  const starts: number[] = [];
  for (let start = 0; start < n; start += batchSize) starts.push(start);
  // No rows: one call on the empty slice, so the result still has the map's trailing shape.
  if (n === 0) starts.push(0);
  const parts: tf.Tensor[] = [];
  try {
    for (const start of starts) {
      const size = Math.min(batchSize, n - start);
      const part = tf.tidy(() => fn(tf.slice(x, x.shape.map((_, a) => (a === 0 ? start : 0)), [size, ...x.shape.slice(1)])));
      parts.push(part);
      if (!(part instanceof tf.Tensor) || part.rank < 1 || part.shape[0] !== size) {
        const shape = part instanceof tf.Tensor ? `[${part.shape.join(', ')}]` : typeof part;
        throw new LongTailError('SHAPE_MISMATCH', `expected ${name} of ${size} rows for a batch of ${size}. Received: shape=${shape}`, { name });
      }
    }
    // A single part is copied, so the result is never a tensor the map returned from elsewhere.
    return tf.tidy(() => (parts.length === 1 ? (parts[0] as tf.Tensor).clone() : tf.concat(parts, 0)));
  } finally {
    parts.forEach((p) => {
      if (p instanceof tf.Tensor) p.dispose();
    });
  }
}

/**
 * Applies a row-wise map to `x` in slices of `batchSize` rows along axis 0, each inside `tf.tidy`, and
 * stacks the results: F = [f(x_{1..B}); f(x_{B+1..2B}); …]. `fn` must return one row per input row. The
 * input is never disposed; the caller owns the result. With no rows, `fn` sees the empty slice once.
 *
 * @example
 * ```ts
 * const logits = mapBatches(x, (xb) => model.forward(xb, 'eval').logits, { batchSize: 256 });
 * ```
 * @throws LongTailError before any tensor is made: `UNKNOWN_OPTION`, `INVALID_OPTION` (x, fn, batch
 *   size), `DISPOSED`, `SHAPE_MISMATCH` (rank 0); `SHAPE_MISMATCH` when `fn` returns another row count
 *   (nothing leaks).
 */
export function mapBatches(x: tf.Tensor, fn: (xb: tf.Tensor) => tf.Tensor, options?: MapBatchesOptions): tf.Tensor {
  const o = checkOptions('mapBatches options', options, MAP_KEYS);
  checkInput('x', x);
  if (typeof fn !== 'function') throw invalid('INVALID_OPTION', 'fn to be a function xb → tensor', 'fn', typeof fn);
  const batchSize = checkInteger('batchSize', o.batchSize ?? DEFAULT_ENCODE_BATCH_SIZE, { min: 1 });
  return batches(x, fn, batchSize, 'fn output');
}

/**
 * Batched inference: the `output` field of `model.forward(x_b, mode)` over slices x_b of `batchSize`
 * rows, concatenated along axis 0 (embeddings [N, D], logits [N, C], projections [N, d] or [N, V, d]).
 * In `'eval'` mode every row's result is the row's own (equal to one unbatched forward pass); each slice
 * runs inside `tf.tidy`, the input is never disposed, and the caller owns the result.
 *
 * @example
 * ```ts
 * const features = encode(model, train.x);                          // eval-mode embeddings, batches of 512
 * const logits = encode(model, test.x, { output: 'logits', batchSize: 256 });
 * ```
 * @throws LongTailError before any tensor is made: `UNKNOWN_OPTION`, `INVALID_OPTION` (model, output,
 *   mode, batch size, x), `DISPOSED`, `MISSING_INPUT` (the model does not provide `output`).
 */
export function encode<O extends Requirement = 'embeddings'>(model: Model, x: tf.Tensor, options?: EncodeOptions<O>): ForwardFields[O] {
  const o = checkOptions('encode options', options as EncodeOptions<Requirement> | undefined, ENCODE_KEYS);
  if (model === null || typeof model !== 'object' || typeof (model as Model).forward !== 'function') {
    throw invalid('INVALID_OPTION', 'model to be a Model (with forward(x, mode))', 'model', model === null ? null : typeof model);
  }
  const output = checkOneOf('output', o.output ?? 'embeddings', OUTPUTS);
  const mode = checkOneOf('mode', o.mode ?? 'eval', ['eval', 'train'] as const);
  const batchSize = checkInteger('batchSize', o.batchSize ?? DEFAULT_ENCODE_BATCH_SIZE, { min: 1 });
  if (output !== 'logits' && !model.provides.includes(output)) {
    throw new LongTailError('MISSING_INPUT', `expected a model that provides ${output}. Received: provides=[${model.provides.join(', ')}]`, { name: output });
  }
  checkInput('x', x);
  const fn = (xb: tf.Tensor): tf.Tensor => {
    const out = model.forward(xb, mode)[output];
    if (out === undefined) throw new LongTailError('MISSING_INPUT', `expected forward() to return ${output}. Received: ${output}=undefined`, { name: output });
    return out;
  };
  return batches(x, fn, batchSize, `model ${output}`) as ForwardFields[O];
}

/** Options of {@link classPrototypes}. */
export interface ClassPrototypesOptions {
  /** Number of classes C (rows of the result). */
  readonly numClasses: number;
}

const PROTOTYPE_KEYS: OptionKeys<ClassPrototypesOptions> = { numClasses: true };

/** The result of {@link classPrototypes}. */
export interface ClassPrototypes {
  /** Class means [C, ...featureShape] (float32, the caller owns it); zero for classes without samples. */
  readonly means: tf.Tensor;
  /** Samples per class [C]. */
  readonly counts: Int32Array;
  /** The classes with at least one sample, ascending. */
  readonly present: Int32Array;
}

/**
 * Class prototypes: μ_c = (1/n_c) Σ_{i: y_i = c} f_i, the mean feature of each class (f_i a row of
 * `features` [N, d], or [N, V, d] for per-view features, giving [C, V, d]). Sums run in float64 in row
 * order and are divided by n_c before the float32 result is made; a class without samples gets zeros
 * and is left out of `present`. Features are read once (synchronously) and not disposed.
 *
 * @example
 * ```ts
 * const f = encode(model, train.x);
 * const { means, present } = classPrototypes(f, train.y, { numClasses: 10 });
 * f.dispose();
 * ```
 * @throws LongTailError before any tensor is made: `UNKNOWN_OPTION`, `INVALID_OPTION` (features,
 *   numClasses), `DISPOSED`, `DTYPE_MISMATCH`, `SHAPE_MISMATCH` (rank < 2, labels length),
 *   `LABEL_OUT_OF_RANGE`.
 */
export function classPrototypes(features: tf.Tensor, labels: Int32Array, options: ClassPrototypesOptions): ClassPrototypes {
  if (options === null || typeof options !== 'object') throw invalid('INVALID_OPTION', 'an options object { numClasses }', 'options', options);
  const o = checkOptions('classPrototypes options', options, PROTOTYPE_KEYS);
  const numClasses = checkInteger('numClasses', o.numClasses, { min: 1 });
  checkInput('features', features);
  if (features.rank < 2) throw invalid('SHAPE_MISMATCH', 'features of rank >= 2 ([N, d] or [N, V, d])', 'features.rank', features.rank);
  if (features.dtype !== 'float32') {
    throw new LongTailError('DTYPE_MISMATCH', `expected features of dtype float32. Received: features.dtype=${features.dtype}`, { name: 'features', dtype: features.dtype });
  }
  if (!(labels instanceof Int32Array)) throw invalid('INVALID_OPTION', 'labels to be an Int32Array', 'labels', labels === null ? null : typeof labels);
  const n = features.shape[0] as number;
  checkSameSize('labels.length = features.shape[0]', n, 'labels.length', labels.length);
  checkLabels('labels', labels, numClasses);
  const rest = features.shape.slice(1);
  const width = rest.reduce((a, b) => a * b, 1);
  const values = features.dataSync() as Float32Array;
  const sums = new Float64Array(numClasses * width);
  const counts = new Int32Array(numClasses);
  for (let i = 0; i < n; i++) {
    const c = labels[i] as number;
    counts[c] = (counts[c] as number) + 1;
    const off = c * width;
    const src = i * width;
    for (let t = 0; t < width; t++) sums[off + t] = (sums[off + t] as number) + (values[src + t] as number);
  }
  const out = new Float32Array(numClasses * width);
  const present: number[] = [];
  for (let c = 0; c < numClasses; c++) {
    const count = counts[c] as number;
    if (count === 0) continue;
    present.push(c);
    for (let t = 0; t < width; t++) out[c * width + t] = (sums[c * width + t] as number) / count;
  }
  return { means: tf.tensor(out, [numClasses, ...rest], 'float32'), counts, present: Int32Array.from(present) };
}
