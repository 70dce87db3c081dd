/**
 * Building, slicing and joining {@link LabeledData}: typed arrays → tensors, batch gathers, concatenation
 * of real and synthetic sets with per-sample flags, and streaming batches from chunks.
 */
import * as tf from '@tensorflow/tfjs';
import { LongTailError, invalid } from '../core/errors.js';
import { checkOptions, type OptionKeys } from '../core/options.js';
import { seededRng, type Rng } from '../core/rng.js';
import { checkInteger, checkLabels, checkRange, checkSameSize } from '../core/validate.js';
import { poolsByClass } from './long-tail.js';
import type { LabeledData } from './types.js';

/** Numeric sample values in a flat typed array, sample-major (row-major [N, ...sampleShape]). */
export type SampleValues = Float32Array | Uint8Array | Int32Array;

/** A labelled set held in typed arrays (no tensors): what loaders return and what streams are made of. */
export interface LabeledArrays {
  /** Flat values, length N · Π sampleShape. */
  readonly x: SampleValues;
  /** Shape of one sample: [D] for features, [H, W, C] for images. */
  readonly sampleShape: readonly number[];
  readonly y: Int32Array;
  readonly synthetic?: Uint8Array;
  readonly auxiliary?: Uint8Array;
}

/** Options of {@link fromArrays}. */
export interface FromArraysOptions {
  /** Multiply values by this factor when making the tensor (e.g. 1/255 for pixels). Default 1. */
  readonly scale?: number;
}

const LABELED_ARRAYS_KEYS: OptionKeys<LabeledArrays> = { x: true, y: true, sampleShape: true, synthetic: true, auxiliary: true };

/**
 * Checks a {@link LabeledArrays} (sizes, labels, flags) and returns N.
 *
 * @throws LongTailError `SHAPE_MISMATCH` or `LABEL_OUT_OF_RANGE`.
 */
export function checkLabeledArrays(data: LabeledArrays, name = 'data'): number {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw invalid('INVALID_OPTION', `${name} as { x: Float32Array | Uint8Array, y: Int32Array, sampleShape: number[] }`, name, Array.isArray(data) ? 'an array' : data);
  }
  checkOptions(name, data, LABELED_ARRAYS_KEYS);
  if (!ArrayBuffer.isView(data.x)) throw invalid('INVALID_OPTION', `${name}.x to be a typed array of every sample's values, row after row`, `${name}.x`, Array.isArray(data.x) ? 'an array' : typeof data.x);
  if (data.y === undefined || data.y === null || typeof data.y.length !== 'number') throw invalid('INVALID_OPTION', `${name}.y to be an Int32Array of labels`, `${name}.y`, data.y);
  if (!Array.isArray(data.sampleShape)) throw invalid('INVALID_OPTION', `${name}.sampleShape to be the shape of one sample, e.g. [784]`, `${name}.sampleShape`, data.sampleShape);
  const n = data.y.length;
  checkLabels(`${name}.y`, data.y);
  if (data.sampleShape.length === 0 || data.sampleShape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw invalid('SHAPE_MISMATCH', 'sampleShape of positive integers, e.g. [D] or [H, W, C]', `${name}.sampleShape`, data.sampleShape);
  }
  const size = data.sampleShape.reduce((a, b) => a * b, 1);
  checkSameSize(`${name}.x.length = N · ${size}`, n * size, `${name}.x.length`, data.x.length);
  if (data.synthetic !== undefined) checkSameSize(`${name}.synthetic.length = N`, n, `${name}.synthetic.length`, data.synthetic.length);
  if (data.auxiliary !== undefined) checkSameSize(`${name}.auxiliary.length = N`, n, `${name}.auxiliary.length`, data.auxiliary.length);
  return n;
}

/**
 * Makes {@link LabeledData} from typed arrays: x becomes a float32 tensor [N, ...sampleShape] (the caller
 * owns it and disposes it); y and the flags are shared, not copied.
 */
export function fromArrays(data: LabeledArrays, options: FromArraysOptions = {}): LabeledData {
  checkOptions('fromArrays options', options, { scale: true });
  const n = checkLabeledArrays(data);
  const scale = options.scale ?? 1;
  if (typeof scale !== 'number' || !Number.isFinite(scale) || !(scale > 0)) throw invalid('INVALID_OPTION', 'scale to be a finite number > 0', 'scale', scale);
  let values: Float32Array;
  if (data.x instanceof Float32Array && scale === 1) values = data.x;
  else {
    values = new Float32Array(data.x.length);
    for (let i = 0; i < values.length; i++) values[i] = (data.x[i] as number) * scale;
  }
  const x = tf.tensor(values, [n, ...data.sampleShape], 'float32');
  return withOptionalFlags({ x, y: data.y }, data.synthetic, data.auxiliary);
}

/** `base` plus the flags that are defined (exactOptionalPropertyTypes forbids `synthetic: undefined`). */
function withOptionalFlags<T extends object>(
  base: T,
  synthetic: Uint8Array | undefined,
  auxiliary: Uint8Array | undefined,
): T & { synthetic?: Uint8Array; auxiliary?: Uint8Array } {
  return {
    ...base,
    ...(synthetic === undefined ? {} : { synthetic }),
    ...(auxiliary === undefined ? {} : { auxiliary }),
  };
}

/** Options of {@link withFlags}: `true`/`false` sets the flag of every sample; an array gives it per sample. */
export interface FlagOptions {
  readonly synthetic?: boolean | Uint8Array;
  readonly auxiliary?: boolean | Uint8Array;
}

/**
 * The same data with its flags set. The result shares `data.x` (no new tensor): dispose only one of them.
 */
export function withFlags(data: LabeledData, flags: FlagOptions): LabeledData {
  checkOptions('withFlags flags', flags, { synthetic: true, auxiliary: true });
  const n = data.y.length;
  const make = (name: string, v: boolean | Uint8Array | undefined, old: Uint8Array | undefined): Uint8Array | undefined => {
    if (v === undefined) return old;
    if (typeof v === 'boolean') return new Uint8Array(n).fill(v ? 1 : 0);
    checkSameSize(`${name}.length = N`, n, `${name}.length`, v.length);
    return v;
  };
  return withOptionalFlags(
    { x: data.x, y: data.y },
    make('synthetic', flags.synthetic, data.synthetic),
    make('auxiliary', flags.auxiliary, data.auxiliary),
  );
}

/**
 * Rows `indices` of a dataset as a new {@link LabeledData} the caller owns (dispose its `x`).
 *
 * A run of consecutive indices (i, i+1, ..., j) becomes `tf.slice`, which shares the buffer on the cpu
 * backend instead of copying it; any other order uses `tf.gather`. Labels and flags of a run are
 * `subarray` views; otherwise copies.
 *
 * @throws LongTailError `LABEL_OUT_OF_RANGE` when an index is not an integer in [0, N).
 */
export function gatherBatch(data: LabeledData, indices: Int32Array): LabeledData {
  const n = data.y.length;
  checkSameSize('data.x.shape[0] = data.y.length', n, 'data.x.shape[0]', data.x.shape[0] ?? 0);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k] as number;
    if (!(i >= 0 && i < n)) {
      throw new LongTailError('LABEL_OUT_OF_RANGE', `expected indices in [0, ${n}). Received: indices[${k}]=${i}`, {
        name: 'indices',
        index: k,
      });
    }
  }
  const start = indices[0] ?? 0;
  let contiguous = true;
  for (let k = 1; k < indices.length && contiguous; k++) contiguous = indices[k] === start + k;
  if (contiguous) {
    const end = start + indices.length;
    const size = [indices.length, ...data.x.shape.slice(1)];
    const begin = data.x.shape.map((_, a) => (a === 0 ? start : 0));
    return withOptionalFlags(
      { x: tf.slice(data.x, begin, size), y: data.y.subarray(start, end) },
      data.synthetic?.subarray(start, end),
      data.auxiliary?.subarray(start, end),
    );
  }
  const pick = <T extends Int32Array | Uint8Array>(a: T): T => {
    const out = new (a.constructor as new (len: number) => T)(indices.length);
    for (let k = 0; k < indices.length; k++) out[k] = a[indices[k] as number] as number;
    return out;
  };
  const x = tf.tidy(() => {
    const idx = tf.tensor1d(indices, 'int32');
    return tf.gather(data.x, idx);
  });
  return withOptionalFlags(
    { x, y: pick(data.y) },
    data.synthetic === undefined ? undefined : pick(data.synthetic),
    data.auxiliary === undefined ? undefined : pick(data.auxiliary),
  );
}

/**
 * Concatenates datasets along the sample axis into a new {@link LabeledData} the caller owns. A flag is
 * kept if any part has it; parts without it count as 0.
 *
 * @throws LongTailError `SHAPE_MISMATCH` when sample shapes differ; `MISSING_INPUT` for no parts.
 */
export function concatData(parts: readonly LabeledData[]): LabeledData {
  const first = parts[0];
  if (first === undefined) throw invalid('MISSING_INPUT', 'at least one dataset to concatenate', 'parts.length', 0);
  const sampleShape = first.x.shape.slice(1);
  let n = 0;
  parts.forEach((p, k) => {
    const s = p.x.shape.slice(1);
    if (s.length !== sampleShape.length || s.some((d, a) => d !== sampleShape[a])) {
      throw new LongTailError(
        'SHAPE_MISMATCH',
        `expected every part to have sample shape [${sampleShape.join(', ')}]. Received: parts[${k}].x.shape=[${p.x.shape.join(', ')}]`,
        { index: k },
      );
    }
    checkSameSize(`parts[${k}].x.shape[0] = parts[${k}].y.length`, p.y.length, `parts[${k}].x.shape[0]`, p.x.shape[0] ?? 0);
    n += p.y.length;
  });
  const y = new Int32Array(n);
  const joinFlag = (key: 'synthetic' | 'auxiliary'): Uint8Array | undefined => {
    if (parts.every((p) => p[key] === undefined)) return undefined;
    const out = new Uint8Array(n);
    let o = 0;
    for (const p of parts) {
      const f = p[key];
      if (f !== undefined) out.set(f, o);
      o += p.y.length;
    }
    return out;
  };
  let o = 0;
  for (const p of parts) {
    y.set(p.y, o);
    o += p.y.length;
  }
  const x = parts.length === 1 ? first.x.clone() : tf.concat(parts.map((p) => p.x), 0);
  return withOptionalFlags({ x, y }, joinFlag('synthetic'), joinFlag('auxiliary'));
}

/** Options of {@link concatRealSynthetic}. */
export interface RealSyntheticOptions {
  readonly real: LabeledData;
  readonly synthetic: LabeledData;
}

/**
 * Real then synthetic samples in one new {@link LabeledData} (caller owns), with `synthetic` = 0 for the
 * real rows and 1 for the synthetic ones. Other flags are carried over.
 */
export function concatRealSynthetic(options: RealSyntheticOptions): LabeledData {
  checkOptions('concatRealSynthetic options', options, { real: true, synthetic: true });
  return concatData([withFlags(options.real, { synthetic: false }), withFlags(options.synthetic, { synthetic: true })]);
}

/** Options of {@link streamBatches}. */
export interface StreamBatchesOptions {
  readonly batchSize: number;
  /** Shuffle the samples within each chunk (the only randomness a single pass can afford). */
  readonly rng?: Rng;
  /** Drop a final batch smaller than batchSize. Default false. */
  readonly dropRemainder?: boolean;
  /** Multiply values by this factor when making tensors (e.g. 1/255). Default 1. */
  readonly scale?: number;
}

/**
 * Batches from a stream of chunks, for data that does not fit in memory at once: only the current chunk
 * and a partial batch are held. Samples keep their order (or are shuffled within each chunk when `rng` is
 * given); batches span chunk boundaries. Each yielded batch's `x` is owned by the caller: dispose it.
 *
 * @example
 * ```ts
 * for await (const batch of streamBatches(readChunks(), { batchSize: 256 })) { ...; batch.x.dispose(); }
 * ```
 * @throws LongTailError `SHAPE_MISMATCH` if chunks disagree on sample shape or flags.
 */
export async function* streamBatches(
  chunks: AsyncIterable<LabeledArrays> | Iterable<LabeledArrays>,
  options: StreamBatchesOptions,
): AsyncGenerator<LabeledData, void, undefined> {
  checkOptions('streamBatches options', options, { batchSize: true, rng: true, dropRemainder: true, scale: true });
  const { batchSize, rng, dropRemainder = false } = options;
  checkInteger('batchSize', batchSize, { min: 1 });
  if (options.scale !== undefined && !(Number.isFinite(options.scale) && options.scale > 0)) throw invalid('INVALID_OPTION', 'scale to be a finite number > 0', 'scale', options.scale);
  const fromOptions: FromArraysOptions = options.scale === undefined ? {} : { scale: options.scale };
  let pending: LabeledArrays[] = [];
  let pendingCount = 0;
  let sampleShape: readonly number[] | undefined;
  let chunkIndex = 0;
  for await (const raw of chunks) {
    checkLabeledArrays(raw, `chunks[${chunkIndex}]`);
    if (sampleShape === undefined) sampleShape = raw.sampleShape;
    else if (raw.sampleShape.join(',') !== sampleShape.join(',')) {
      throw new LongTailError(
        'SHAPE_MISMATCH',
        `expected every chunk to have sampleShape [${sampleShape.join(', ')}]. Received: chunks[${chunkIndex}].sampleShape=[${raw.sampleShape.join(', ')}]`,
        { index: chunkIndex },
      );
    }
    chunkIndex++;
    const chunk = rng === undefined ? raw : reorderArrays(raw, permuted(raw.y.length, rng));
    pending.push(chunk);
    pendingCount += chunk.y.length;
    while (pendingCount >= batchSize) {
      const { batch, rest } = takeArrays(pending, batchSize);
      pending = rest;
      pendingCount -= batchSize;
      yield fromArrays(batch, fromOptions);
    }
  }
  if (pendingCount > 0 && !dropRemainder) yield fromArrays(takeArrays(pending, pendingCount).batch, fromOptions);
}

function permuted(n: number, rng: Rng): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  return rng.shuffle(order);
}

function reorderArrays(a: LabeledArrays, order: Int32Array): LabeledArrays {
  const size = a.sampleShape.reduce((p, d) => p * d, 1);
  const x = new (a.x.constructor as new (len: number) => SampleValues)(a.x.length);
  const y = new Int32Array(order.length);
  order.forEach((src, dst) => {
    x.set(a.x.subarray(src * size, (src + 1) * size), dst * size);
    y[dst] = a.y[src] as number;
  });
  const flag = (f: Uint8Array | undefined): Uint8Array | undefined => (f === undefined ? undefined : Uint8Array.from(order, (i) => f[i] as number));
  return withOptionalFlags({ x, y, sampleShape: a.sampleShape }, flag(a.synthetic), flag(a.auxiliary));
}

/** Takes the first `count` samples out of a queue of chunks (views where possible). */
function takeArrays(queue: LabeledArrays[], count: number): { batch: LabeledArrays; rest: LabeledArrays[] } {
  const first = queue[0] as LabeledArrays;
  const size = first.sampleShape.reduce((p, d) => p * d, 1);
  const hasSyn = queue.some((c) => c.synthetic !== undefined);
  const hasAux = queue.some((c) => c.auxiliary !== undefined);
  const x = new Float32Array(count * size);
  const y = new Int32Array(count);
  const synthetic = hasSyn ? new Uint8Array(count) : undefined;
  const auxiliary = hasAux ? new Uint8Array(count) : undefined;
  const rest = [...queue];
  let filled = 0;
  while (filled < count) {
    const c = rest.shift() as LabeledArrays;
    const take = Math.min(count - filled, c.y.length);
    x.set(c.x.subarray(0, take * size), filled * size);
    y.set(c.y.subarray(0, take), filled);
    if (c.synthetic !== undefined) synthetic?.set(c.synthetic.subarray(0, take), filled);
    if (c.auxiliary !== undefined) auxiliary?.set(c.auxiliary.subarray(0, take), filled);
    if (take < c.y.length) {
      rest.unshift(
        withOptionalFlags(
          { x: c.x.subarray(take * size), y: c.y.subarray(take), sampleShape: c.sampleShape },
          c.synthetic?.subarray(take),
          c.auxiliary?.subarray(take),
        ),
      );
    }
    filled += take;
  }
  return { batch: withOptionalFlags({ x, y, sampleShape: first.sampleShape }, synthetic, auxiliary), rest };
}

/** Splits typed arrays into chunks of `chunkSize` samples (views, no copies): a stream source for tests and demos. */
export function* chunkArrays(data: LabeledArrays, options: { readonly chunkSize: number }): Generator<LabeledArrays> {
  checkOptions('chunkArrays options', options, { chunkSize: true });
  const n = checkLabeledArrays(data);
  checkInteger('chunkSize', options.chunkSize, { min: 1 });
  const size = data.sampleShape.reduce((p, d) => p * d, 1);
  for (let s = 0; s < n; s += options.chunkSize) {
    const e = Math.min(n, s + options.chunkSize);
    yield withOptionalFlags(
      { x: data.x.subarray(s * size, e * size), y: data.y.subarray(s, e), sampleShape: data.sampleShape },
      data.synthetic?.subarray(s, e),
      data.auxiliary?.subarray(s, e),
    );
  }
}

/** Checks row indices (integers in [0, n)) and returns them as an Int32Array copy. */
function checkRowIndices(indices: ArrayLike<number>, n: number): Int32Array {
  if (indices === null || indices === undefined || typeof indices.length !== 'number') {
    throw invalid('INVALID_OPTION', 'indices to be an array of row indices', 'indices', indices);
  }
  const out = new Int32Array(indices.length);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k] as number;
    if (!Number.isInteger(i) || i < 0 || i >= n) {
      throw new LongTailError('LABEL_OUT_OF_RANGE', `expected indices in [0, ${n}). Received: indices[${k}]=${i}`, { name: 'indices', index: k });
    }
    out[k] = i;
  }
  return out;
}

function isLabeledData(data: LabeledData | LabeledArrays): data is LabeledData {
  return data !== null && typeof data === 'object' && data.x instanceof tf.Tensor;
}

/**
 * Rows `indices` of a dataset, in the given order (repeats allowed), as a new dataset of the same form:
 * from a {@link LabeledData}, a new `x` tensor the caller owns (the input is not disposed); from
 * {@link LabeledArrays}, new typed arrays. Labels and flags are copies. NumPy: `X[idx], y[idx]`.
 *
 * @throws LongTailError `LABEL_OUT_OF_RANGE` for an index outside [0, N), `SHAPE_MISMATCH` for malformed
 *   data, before any tensor is made.
 */
export function selectRows(data: LabeledData, indices: ArrayLike<number>): LabeledData;
export function selectRows(data: LabeledArrays, indices: ArrayLike<number>): LabeledArrays;
export function selectRows(data: LabeledData | LabeledArrays, indices: ArrayLike<number>): LabeledData | LabeledArrays {
  if (isLabeledData(data)) {
    const n = data.y.length;
    checkSameSize('data.x.shape[0] = data.y.length', n, 'data.x.shape[0]', data.x.shape[0] ?? 0);
    const picked = gatherBatch(data, checkRowIndices(indices, n));
    return withOptionalFlags({ x: picked.x, y: Int32Array.from(picked.y) }, copyFlag(picked.synthetic), copyFlag(picked.auxiliary));
  }
  if (data === null || typeof data !== 'object' || !(data.y instanceof Int32Array) || !ArrayBuffer.isView(data.x)) {
    throw invalid('INVALID_OPTION', 'data to be a LabeledData { x: Tensor, y } or LabeledArrays { x, sampleShape, y }', 'data', data);
  }
  const n = checkLabeledArrays(data);
  const rows = checkRowIndices(indices, n);
  const size = data.sampleShape.reduce((a, b) => a * b, 1);
  const x = new (data.x.constructor as new (len: number) => SampleValues)(rows.length * size);
  rows.forEach((r, k) => x.set(data.x.subarray(r * size, (r + 1) * size), k * size));
  const pick = (f: Uint8Array | undefined): Uint8Array | undefined => (f === undefined ? undefined : Uint8Array.from(rows, (r) => f[r] as number));
  return withOptionalFlags({ x, sampleShape: [...data.sampleShape], y: Int32Array.from(rows, (r) => data.y[r] as number) }, pick(data.synthetic), pick(data.auxiliary));
}

function copyFlag(f: Uint8Array | undefined): Uint8Array | undefined {
  return f === undefined ? undefined : Uint8Array.from(f);
}

/** Options of {@link trainValidationIndices} and {@link trainValidationSplit}. */
export interface TrainValidationOptions {
  /** Share of the rows that go to validation, in (0, 1). */
  readonly validationFraction: number;
  /** Seed of the shuffle. @defaultValue 0 */
  readonly seed?: number | string;
  /**
   * Split each class on its own: class c with n_c ≥ 2 rows puts clamp(round(f · n_c), 1, n_c − 1) rows in
   * validation, so it appears on both sides; a class with one row stays in training.
   * `false`: round(f · N) rows (at least 1 and at most N − 1) drawn from all rows. @defaultValue true
   */
  readonly stratify?: boolean;
}

const SPLIT_KEYS: OptionKeys<TrainValidationOptions> = { validationFraction: true, seed: true, stratify: true };

/** Row indices of the two sides of a split, each ascending. */
export interface SplitIndices {
  readonly train: Int32Array;
  readonly validation: Int32Array;
}

/**
 * Seeded (stratified) train/validation split of row indices, from the labels alone. Deterministic: the
 * same labels, fraction and seed give the same split. Each side lists its rows in ascending order.
 * scikit-learn: `train_test_split(np.arange(N), test_size=f, stratify=y, random_state=seed)` (the same
 * sizes up to rounding, not the same rows: the generators differ).
 *
 * @throws LongTailError `UNKNOWN_OPTION`, `INVALID_OPTION` (fraction outside (0, 1), fewer than 2 rows),
 *   `LABEL_OUT_OF_RANGE`.
 */
export function trainValidationIndices(y: ArrayLike<number>, options: TrainValidationOptions): SplitIndices {
  const o = checkOptions('trainValidationSplit options', options, SPLIT_KEYS);
  if (options === undefined) throw invalid('MISSING_INPUT', 'options with validationFraction', 'options', options);
  const f = checkRange('validationFraction', o.validationFraction, { min: 0, max: 1, minExclusive: true, maxExclusive: true });
  const labels = checkLabels('y', y);
  const n = labels.length;
  if (n < 2) throw invalid('INVALID_OPTION', 'at least 2 rows to split', 'y.length', n);
  const rng = seededRng(o.seed ?? 0).fork('trainValidationSplit');
  const isValidation = new Uint8Array(n);
  const clampTake = (count: number) => Math.min(Math.max(Math.round(f * count), 1), count - 1);
  if (o.stratify ?? true) {
    let numClasses = 0;
    for (const c of labels) numClasses = Math.max(numClasses, c + 1);
    for (const rows of poolsByClass(labels, numClasses)) {
      if (rows.length < 2) continue;
      const order = rng.shuffle(rows);
      const take = clampTake(rows.length);
      for (let k = 0; k < take; k++) isValidation[order[k] as number] = 1;
    }
  } else {
    const order = rng.shuffle(Int32Array.from({ length: n }, (_, i) => i));
    const take = clampTake(n);
    for (let k = 0; k < take; k++) isValidation[order[k] as number] = 1;
  }
  const train: number[] = [];
  const validation: number[] = [];
  isValidation.forEach((v, i) => (v === 1 ? validation : train).push(i));
  return { train: Int32Array.from(train), validation: Int32Array.from(validation) };
}

/** The two sides of {@link trainValidationSplit}, in the input's form, with their row indices. */
export interface TrainValidationSplit<T> {
  readonly train: T;
  readonly validation: T;
  readonly indices: SplitIndices;
}

/**
 * Seeded (stratified by default) train/validation split of a {@link LabeledData} or {@link LabeledArrays}
 * (see {@link trainValidationIndices}). From a LabeledData, both sides hold new `x` tensors the caller
 * owns (dispose both); the input is not disposed. Keras: `validation_split` (which takes the last rows,
 * unshuffled); scikit-learn: `train_test_split(X, y, test_size=f, stratify=y, random_state=seed)`.
 *
 * @example
 * ```ts
 * const { train, validation } = trainValidationSplit(data, { validationFraction: 0.2, seed: 1 });
 * ```
 */
export function trainValidationSplit(data: LabeledData, options: TrainValidationOptions): TrainValidationSplit<LabeledData>;
export function trainValidationSplit(data: LabeledArrays, options: TrainValidationOptions): TrainValidationSplit<LabeledArrays>;
export function trainValidationSplit(
  data: LabeledData | LabeledArrays,
  options: TrainValidationOptions,
): TrainValidationSplit<LabeledData> | TrainValidationSplit<LabeledArrays> {
  if (data === null || typeof data !== 'object') throw invalid('INVALID_OPTION', 'data to be a LabeledData or LabeledArrays', 'data', data);
  if (isLabeledData(data)) {
    checkSameSize('data.x.shape[0] = data.y.length', data.y.length, 'data.x.shape[0]', data.x.shape[0] ?? 0);
  } else checkLabeledArrays(data);
  const indices = trainValidationIndices(data.y, options);
  if (!isLabeledData(data)) return { train: selectRows(data, indices.train), validation: selectRows(data, indices.validation), indices };
  const train = selectRows(data, indices.train);
  try {
    return { train, validation: selectRows(data, indices.validation), indices };
  } catch (e) {
    train.x.dispose();
    throw e;
  }
}
