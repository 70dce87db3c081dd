/**
 * One call that resamples a labelled set, as imbalanced-learn's `fit_resample(X, y)` does: over-sampling
 * with any synthesizer (SMOTE, class Gaussians, OT matching, or your own), or under-sampling (random,
 * Tomek links, NearMiss-1). Arrays or tensors in, typed arrays out, with a per-class report.
 */
import * as tf from '@tensorflow/tfjs';
import { invalid, isLongTailError, LongTailError } from '../core/errors.js';
import type { JsonObject } from '../core/json.js';
import type { HostRows } from '../core/neighbors.js';
import { checkOptions, type OptionKeys } from '../core/options.js';
import { seededRng, type Rng } from '../core/rng.js';
import { checkAllFinite, checkInteger, checkLabels, checkOneOf, checkRank, checkSameSize } from '../core/validate.js';
import { poolsByClass } from '../data/long-tail.js';
import { tooFew } from './input.js';
import { synthRegistry } from './registry.js';
import type { Synthesizer } from './types.js';
import { majorityClass, minorityClass, nearMiss, randomUnderSample, tomekLinks } from './under-sampling.js';

/** Features: a `tf.Tensor2D`, nested rows, or a flat row-major array with its `[N, d]` shape. */
export type FeaturesInput =
  | tf.Tensor2D
  | readonly (readonly number[])[]
  | { readonly values: Float32Array | Float64Array | readonly number[]; readonly shape: readonly [number, number] };

/** Integer labels: host array or an int32 tensor. */
export type LabelsInput = Int32Array | readonly number[] | tf.Tensor1D;

/** Under-samplers (imbalanced-learn names in camelCase). */
export type UnderSamplerSpec =
  /** `RandomUnderSampler()`: uniform rows without replacement. */
  | { readonly kind: 'randomUnderSampler' }
  /**
   * `TomekLinks()`: drops rows in Tomek links from the classes in `remove` (`'notMinority'`, the
   * imbalanced-learn default; `'all'`; `'majority'`; `'notMajority'`). The counts of `target` are not used.
   */
  | { readonly kind: 'tomekLinks'; readonly remove?: 'notMinority' | 'all' | 'majority' | 'notMajority' }
  /** `NearMiss(version=1, n_neighbors=k)`: keeps the rows closest on average to their k nearest minority rows. */
  | { readonly kind: 'nearMiss'; readonly k?: number };

/** A synthesizer by registry kind (`latentSmote`, `classGaussian`, `otDistributionMatching`); `numClasses` is filled in. */
export interface SynthesizerSpec {
  readonly kind: string;
  readonly config?: JsonObject;
}

/** What to resample with: a synthesizer instance (observed into, not disposed), a synthesizer spec, or an under-sampler. */
export type ResampleMethod = Synthesizer | SynthesizerSpec | UnderSamplerSpec;

/**
 * The class sizes asked for (imbalanced-learn's `sampling_strategy`):
 * - `'auto'` (default): over-sampling `toMax` ('not majority'), under-sampling `toMin` ('not minority').
 * - `{ kind: 'toMax' }` every class to n_max; `{ kind: 'toMin' }` every class to n_min (non-empty classes);
 * - `{ kind: 'toCount', count }` every class to `count`; `{ kind: 'perClass', counts }` class c to
 *   `counts[c]` (imbalanced-learn's dict; −1 leaves the class alone).
 * Over-samplers only add (a class above its target is kept), under-samplers only remove.
 */
export type ResampleTarget =
  | 'auto'
  | { readonly kind: 'toMax' }
  | { readonly kind: 'toMin' }
  | { readonly kind: 'toCount'; readonly count: number }
  | { readonly kind: 'perClass'; readonly counts: ArrayLike<number> };

/** What to do with a class too small for the synthesizer (e.g. one row for SMOTE or a Ledoit–Wolf Gaussian). */
export type SmallClassPolicy = 'skip' | 'duplicate' | 'error';

/** Options of {@link fitResample}. */
export interface FitResampleOptions {
  readonly method: ResampleMethod;
  /** Number of classes. @defaultValue max(y) + 1 (or the synthesizer instance's `numClasses`) */
  readonly numClasses?: number;
  /** @defaultValue 'auto' */
  readonly target?: ResampleTarget;
  /** Seed of every random choice. @defaultValue 0 */
  readonly seed?: number | string;
  /**
   * A class the synthesizer cannot sample from (it throws `EMPTY_CLASS` for it): `'skip'` (default) leaves
   * the class as it is and reports why; `'duplicate'` fills its request with copies of its rows drawn
   * uniformly with replacement (imbalanced-learn's `RandomOverSampler` for that class); `'error'` throws.
   * imbalanced-learn's SMOTE raises for any class with ≤ k_neighbors rows; we interpolate within classes of
   * ≥ 2 rows and skip, by default, only what cannot be interpolated, never failing the whole call.
   * @defaultValue 'skip'
   */
  readonly smallClass?: SmallClassPolicy;
  /** The classifier head, for synthesizers that need it (OT distribution matching). */
  readonly head?: (features: tf.Tensor2D) => tf.Tensor2D;
  /** Also return the result as tensors (the caller owns and disposes them). @defaultValue false */
  readonly returnTensors?: boolean;
}

/** One class in a {@link ResampleReport}. */
export interface ResampleClassReport {
  readonly classIndex: number;
  /** Rows before. */
  readonly before: number;
  /** Rows asked to be added (over-sampling) or removed (under-sampling); `null` when the method decides (Tomek links). */
  readonly requested: number | null;
  readonly added: number;
  readonly removed: number;
  /** Rows after. */
  readonly after: number;
  /** `resampled`, `unchanged` (nothing asked), `skipped` (asked but not done), `duplicated` (filled with copies). */
  readonly status: 'resampled' | 'unchanged' | 'skipped' | 'duplicated';
  /** Why a class was skipped or duplicated. */
  readonly reason?: string;
}

/** What {@link fitResample} did. */
export interface ResampleReport {
  /** The method's kind (`latentSmote`, `nearMiss`, ...). */
  readonly method: string;
  readonly perClass: readonly ResampleClassReport[];
}

/**
 * The resampled set as typed arrays (a `LabeledArrays`: pass it to `fromArrays` for a `LabeledData`).
 * Over-sampling: the input rows in order, then the synthesizer's rows, then duplicated rows. Under-sampling:
 * the kept rows in imbalanced-learn's `sample_indices_` order.
 */
export interface ResampleResult {
  /** Row-major [N′, d]. */
  readonly x: Float32Array;
  readonly sampleShape: readonly [number];
  readonly y: Int32Array;
  /** 1 for a generated or duplicated row. */
  readonly synthetic: Uint8Array;
  /** The input row each output row is (or copies); −1 for generated rows. imbalanced-learn: `sample_indices_`. */
  readonly sourceIndices: Int32Array;
  readonly report: ResampleReport;
  /** With `returnTensors: true`: x [N′, d] float32 and y [N′] int32, owned by the caller. */
  readonly tensors?: { readonly x: tf.Tensor2D; readonly y: tf.Tensor1D };
}

const OPTION_KEYS: OptionKeys<FitResampleOptions> = {
  method: true,
  numClasses: true,
  target: true,
  seed: true,
  smallClass: true,
  head: true,
  returnTensors: true,
};
const UNDER_KEYS: Record<UnderSamplerSpec['kind'], Record<string, true>> = {
  randomUnderSampler: { kind: true },
  tomekLinks: { kind: true, remove: true },
  nearMiss: { kind: true, k: true },
};
const SPEC_KEYS: OptionKeys<SynthesizerSpec> = { kind: true, config: true };
const TARGET_KEYS = {
  toMax: { kind: true },
  toMin: { kind: true },
  toCount: { kind: true, count: true },
  perClass: { kind: true, counts: true },
} as const;

/** Host rows in float32. */
type FloatRows = HostRows & { readonly values: Float32Array };

/** Reads features into a row-major Float32Array, validating shape and finiteness. No tensor is made. */
export function readFeatures(x: FeaturesInput): FloatRows {
  let values: Float32Array;
  let rows: number;
  let cols: number;
  if (x instanceof tf.Tensor) {
    checkRank('x', x.shape, 2);
    [rows, cols] = x.shape as [number, number];
    const raw = x.dataSync();
    values = raw instanceof Float32Array ? Float32Array.from(raw) : Float32Array.from(raw as ArrayLike<number>);
  } else if (Array.isArray(x)) {
    rows = x.length;
    cols = rows === 0 ? 0 : ((x[0] as readonly number[])?.length ?? 0);
    values = new Float32Array(rows * cols);
    x.forEach((row: readonly number[], i: number) => {
      if (!Array.isArray(row)) throw invalid('INVALID_OPTION', 'x to be an array of rows (number[][])', `x[${i}]`, row);
      checkSameSize(`x[${i}].length = x[0].length`, cols, `x[${i}].length`, row.length);
      for (let j = 0; j < cols; j++) values[i * cols + j] = row[j] as number;
    });
  } else if (x !== null && typeof x === 'object' && 'values' in x && 'shape' in x) {
    const shape = x.shape;
    if (!Array.isArray(shape) || shape.length !== 2 || !shape.every((s) => Number.isInteger(s) && s >= 0)) {
      throw invalid('SHAPE_MISMATCH', 'x.shape to be [N, d] of non-negative integers', 'x.shape', shape);
    }
    [rows, cols] = shape as [number, number];
    checkSameSize('x.values.length = N · d', rows * cols, 'x.values.length', x.values?.length);
    values = Float32Array.from(x.values);
  } else {
    throw invalid('INVALID_OPTION', 'x to be a Tensor2D, number[][] or { values, shape: [N, d] }', 'x', x);
  }
  if (rows > 0 && cols < 1) throw invalid('SHAPE_MISMATCH', 'at least one feature per row', 'd', cols);
  checkAllFinite('x', values);
  return { values, rows, cols };
}

/** Reads labels into an Int32Array (a copy), validating integers in [0, numClasses). No tensor is made. */
export function readLabels(y: LabelsInput, numClasses?: number): Int32Array {
  if (y instanceof tf.Tensor) {
    checkRank('y', y.shape, 1);
    if (y.dtype !== 'int32') throw new LongTailError('DTYPE_MISMATCH', `expected y of dtype int32 (e.g. tf.tensor1d(values, 'int32')). Received: y.dtype=${y.dtype}`, { name: 'y' });
    return Int32Array.from(checkLabels('y', y.dataSync(), numClasses));
  }
  return Int32Array.from(checkLabels('y', y, numClasses));
}

function isSynthesizer(m: unknown): m is Synthesizer {
  return m !== null && typeof m === 'object' && typeof (m as Synthesizer).observe === 'function' && typeof (m as Synthesizer).sample === 'function';
}

function isUnderSampler(m: unknown): m is UnderSamplerSpec {
  return m !== null && typeof m === 'object' && Object.prototype.hasOwnProperty.call(UNDER_KEYS, (m as { kind?: string }).kind ?? '');
}

/** Target class sizes; −1 means "leave the class alone". */
function targetSizes(target: ResampleTarget, counts: Int32Array, over: boolean): Int32Array {
  let nMax = 0;
  let nMin = Infinity;
  for (const n of counts) {
    nMax = Math.max(nMax, n);
    if (n > 0) nMin = Math.min(nMin, n);
  }
  if (target === 'auto') return targetSizes({ kind: over ? 'toMax' : 'toMin' }, counts, over);
  const keys = TARGET_KEYS[(target as { kind?: string } | null)?.kind as keyof typeof TARGET_KEYS];
  if (keys !== undefined) checkOptions(`target ${target.kind}`, target, keys as OptionKeys<typeof target>);
  switch (target?.kind) {
    case 'toMax':
      return counts.map(() => nMax);
    case 'toMin':
      return counts.map(() => (nMin === Infinity ? 0 : nMin));
    case 'toCount': {
      const count = checkInteger('target.count', target.count);
      return counts.map(() => count);
    }
    case 'perClass': {
      const asked = target.counts;
      if (asked === null || typeof asked !== 'object' || typeof asked.length !== 'number') {
        throw invalid('INVALID_OPTION', 'target.counts to be an array of class sizes', 'target.counts', asked);
      }
      checkSameSize('target.counts.length = numClasses', counts.length, 'target.counts.length', asked.length);
      return Int32Array.from({ length: counts.length }, (_, c) => checkInteger(`target.counts[${c}]`, asked[c] as number, { min: -1 }));
    }
    default:
      throw invalid('INVALID_OPTION', 'target to be "auto" or { kind: "toMax" | "toMin" | "toCount" | "perClass" }', 'target', target);
  }
}

interface Checked {
  readonly method: ResampleMethod;
  readonly numClasses: number;
  readonly target: ResampleTarget;
  readonly seed: number | string;
  readonly smallClass: SmallClassPolicy;
  readonly returnTensors: boolean;
}

function checkResampleOptions(options: FitResampleOptions, y: LabelsInput): Checked {
  if (options === undefined) throw invalid('MISSING_INPUT', 'fitResample options with a method', 'options', options);
  const o = checkOptions('fitResample options', options, OPTION_KEYS);
  const method = o.method;
  if (isUnderSampler(method)) {
    checkOptions(`${method.kind} options`, method, UNDER_KEYS[method.kind] as OptionKeys<UnderSamplerSpec>);
    if (method.kind === 'tomekLinks' && method.remove !== undefined) {
      checkOneOf('remove', method.remove, ['notMinority', 'all', 'majority', 'notMajority'] as const);
    }
    if (method.kind === 'nearMiss' && method.k !== undefined) checkInteger('k', method.k, { min: 1 });
  } else if (!isSynthesizer(method)) {
    if (method === null || typeof method !== 'object' || typeof (method as SynthesizerSpec).kind !== 'string') {
      throw invalid('INVALID_OPTION', 'method to be a Synthesizer, { kind, config? } or an under-sampler spec', 'method', method);
    }
    checkOptions('method', method as SynthesizerSpec, SPEC_KEYS);
    if (!synthRegistry.has(method.kind)) {
      throw invalid('UNKNOWN_KIND', `method.kind to be one of ${[...synthRegistry.kinds(), ...Object.keys(UNDER_KEYS)].join(', ')}`, 'method.kind', method.kind);
    }
  }
  let numClasses = o.numClasses;
  if (numClasses === undefined && isSynthesizer(method)) numClasses = method.numClasses;
  if (numClasses === undefined) {
    if (y instanceof tf.Tensor && y.dtype !== 'int32') {
      throw new LongTailError('DTYPE_MISMATCH', `expected y of dtype int32 (e.g. tf.tensor1d(values, 'int32')). Received: y.dtype=${y.dtype}`, { name: 'y' });
    }
    // Labels are checked (integers ≥ 0) before their maximum sizes anything.
    const labels = y instanceof tf.Tensor ? checkLabels('y', y.dataSync()) : checkLabels('y', y as ArrayLike<number>);
    let max = -1;
    for (let i = 0; i < (labels?.length ?? 0); i++) max = Math.max(max, labels[i] as number);
    numClasses = Math.max(max + 1, 1);
  }
  checkInteger('numClasses', numClasses, { min: 1 });
  if (isSynthesizer(method)) checkSameSize('numClasses = method.numClasses', method.numClasses, 'numClasses', numClasses);
  const seed = o.seed ?? 0;
  seededRng(seed);
  if (o.head !== undefined && typeof o.head !== 'function') throw invalid('INVALID_OPTION', 'head to be a function', 'head', o.head);
  return {
    method,
    numClasses: numClasses as number,
    target: o.target ?? 'auto',
    seed,
    smallClass: checkOneOf('smallClass', o.smallClass ?? 'skip', ['skip', 'duplicate', 'error'] as const),
    returnTensors: o.returnTensors ?? false,
  };
}

/**
 * Resamples a labelled set in one call: over-sampling through a synthesizer (observe, then sample the
 * top-up each class asks for) or under-sampling. Validates everything before any tensor is made; never
 * disposes the caller's tensors; leaves no tensors behind (except `tensors` when asked for).
 *
 * imbalanced-learn equivalents:
 * - `SMOTE(k_neighbors=5).fit_resample(X, y)` → `fitResample(X, y, { method: { kind: 'latentSmote' } })`
 * - `RandomUnderSampler().fit_resample(X, y)` → `fitResample(X, y, { method: { kind: 'randomUnderSampler' } })`
 * - `TomekLinks().fit_resample(X, y)` → `fitResample(X, y, { method: { kind: 'tomekLinks' } })`
 * - `NearMiss(version=1).fit_resample(X, y)` → `fitResample(X, y, { method: { kind: 'nearMiss' } })`
 *
 * @example
 * ```ts
 * const { x, y, report } = fitResample(features, labels, { method: { kind: 'latentSmote', config: { k: 5 } }, seed: 1 });
 * ```
 * @see Chawla et al., "SMOTE", JAIR 2002; Tomek, "Two modifications of CNN", 1976; Mani & Zhang,
 *   "kNN approach to unbalanced data distributions", 2003.
 * @throws LongTailError `UNKNOWN_OPTION`, `INVALID_OPTION`, `UNKNOWN_KIND`, `SHAPE_MISMATCH`,
 *   `LABEL_OUT_OF_RANGE`, `NON_FINITE`; `EMPTY_CLASS` only with `smallClass: 'error'`.
 */
export function fitResample(x: FeaturesInput, y: LabelsInput, options: FitResampleOptions): ResampleResult {
  const o = checkResampleOptions(options, y);
  const features = readFeatures(x);
  const labels = readLabels(y, o.numClasses);
  checkSameSize('y.length = x rows', features.rows, 'y.length', labels.length);
  const counts = new Int32Array(o.numClasses);
  for (const c of labels) counts[c] = (counts[c] as number) + 1;
  const rng = seededRng(o.seed);
  const result = isUnderSampler(o.method)
    ? underSample(features, labels, counts, o.method, o, rng)
    : overSample(features, labels, counts, o, options.head, rng);
  if (!o.returnTensors) return result;
  const n = result.y.length;
  return {
    ...result,
    tensors: { x: tf.tensor2d(result.x, [n, features.cols]), y: tf.tensor1d(result.y, 'int32') },
  };
}

function underSample(features: HostRows, labels: Int32Array, counts: Int32Array, method: UnderSamplerSpec, o: Checked, rng: Rng): ResampleResult {
  const sizes = targetSizes(o.target, counts, false);
  const keep = Int32Array.from(counts, (n, c) => ((sizes[c] as number) < 0 ? n : Math.min(n, sizes[c] as number)));
  let kept: Int32Array;
  let requested: (c: number) => number | null = (c) => (counts[c] as number) - (keep[c] as number);
  if (method.kind === 'randomUnderSampler') kept = randomUnderSample(labels, keep, rng.fork('randomUnderSampler'));
  else if (method.kind === 'nearMiss') {
    kept = nearMiss(features, labels, { keep, reference: minorityClass(labels, counts), k: method.k ?? 3 });
  } else {
    const remove = new Uint8Array(o.numClasses);
    const minority = minorityClass(labels, counts);
    const majority = majorityClass(labels, counts);
    const which = method.remove ?? 'notMinority';
    for (let c = 0; c < o.numClasses; c++) {
      remove[c] = which === 'all' || (which === 'majority' && c === majority) || (which === 'notMinority' && c !== minority) || (which === 'notMajority' && c !== majority) ? 1 : 0;
    }
    kept = tomekLinks(features, labels, remove);
    requested = () => null;
  }
  const after = new Int32Array(o.numClasses);
  for (const i of kept) after[labels[i] as number] = (after[labels[i] as number] as number) + 1;
  const perClass: ResampleClassReport[] = Array.from(counts, (before, c) => {
    const removed = before - (after[c] as number);
    return { classIndex: c, before, requested: requested(c), added: 0, removed, after: after[c] as number, status: removed > 0 ? 'resampled' : 'unchanged' };
  });
  return assemble(features, labels, kept, { rows: new Float32Array(0), labels: new Int32Array(0), sources: new Int32Array(0) }, { method: method.kind, perClass });
}

interface Extra {
  readonly rows: Float32Array;
  readonly labels: Int32Array;
  /** −1 for generated rows, else the input row copied. */
  readonly sources: Int32Array;
}

function assemble(features: HostRows, labels: Int32Array, kept: Int32Array, extra: Extra, report: ResampleReport): ResampleResult {
  const d = features.cols;
  const n = kept.length + extra.labels.length;
  const x = new Float32Array(n * d);
  const y = new Int32Array(n);
  const synthetic = new Uint8Array(n);
  const sourceIndices = new Int32Array(n);
  kept.forEach((r, i) => {
    x.set(features.values.subarray(r * d, (r + 1) * d), i * d);
    y[i] = labels[r] as number;
    sourceIndices[i] = r;
  });
  x.set(extra.rows, kept.length * d);
  y.set(extra.labels, kept.length);
  synthetic.fill(1, kept.length);
  sourceIndices.set(extra.sources, kept.length);
  return { x, sampleShape: [d], y, synthetic, sourceIndices, report };
}

function overSample(
  features: FloatRows,
  labels: Int32Array,
  counts: Int32Array,
  o: Checked,
  head: FitResampleOptions['head'],
  rng: Rng,
): ResampleResult {
  const C = o.numClasses;
  const sizes = targetSizes(o.target, counts, true);
  // A class absent from y is only topped up when its size is asked for explicitly (toCount, perClass).
  const relative = o.target === 'auto' || o.target.kind === 'toMax' || o.target.kind === 'toMin';
  const requested = Int32Array.from(counts, (n, c) => ((sizes[c] as number) < 0 || (n === 0 && relative) ? 0 : Math.max((sizes[c] as number) - n, 0)));
  const reasons = new Map<number, string>();
  for (let c = 0; c < C; c++) {
    if ((requested[c] as number) === 0 || counts[c] !== 0) continue;
    if (o.smallClass === 'error') throw tooFew(c, 0, 1, 'resampling');
    reasons.set(c, 'no rows to synthesize from');
  }
  const owned = !isSynthesizer(o.method);
  const spec = o.method as SynthesizerSpec;
  const synth = isSynthesizer(o.method) ? o.method : synthRegistry.fromConfig({ kind: spec.kind, config: { ...(spec.config ?? {}), numClasses: C } });
  let generated: { rows: Float32Array; labels: Int32Array } = { rows: new Float32Array(0), labels: new Int32Array(0) };
  try {
    const request = Int32Array.from(requested, (r, c) => (reasons.has(c) ? 0 : r));
    if (request.some((r) => r > 0)) {
      const f = tf.tensor2d(features.values, [features.rows, features.cols]);
      try {
        synth.observe({ features: f, labels });
      } finally {
        f.dispose();
      }
      generated = sampleSkippingSmall(synth, request, reasons, o, head, rng);
    }
  } finally {
    if (owned) synth.dispose();
  }
  // Classes the synthesizer could not serve: copies of their rows with `smallClass: 'duplicate'`.
  const dupRng = rng.fork('duplicate');
  const dupRows: number[] = [];
  const dupLabels: number[] = [];
  const duplicated = new Set<number>();
  if (o.smallClass === 'duplicate') {
    const byClass = poolsByClass(labels, C);
    for (const [c] of reasons) {
      const rows = byClass[c] as Int32Array;
      if (rows.length === 0) continue;
      duplicated.add(c);
      for (let s = 0; s < (requested[c] as number); s++) {
        dupRows.push(rows[dupRng.int(rows.length)] as number);
        dupLabels.push(c);
      }
    }
  }
  const d = features.cols;
  const extraRows = new Float32Array((generated.labels.length + dupRows.length) * d);
  extraRows.set(generated.rows);
  dupRows.forEach((r, i) => extraRows.set(features.values.subarray(r * d, (r + 1) * d), (generated.labels.length + i) * d));
  const extraLabels = new Int32Array(generated.labels.length + dupRows.length);
  extraLabels.set(generated.labels);
  extraLabels.set(dupLabels, generated.labels.length);
  const sources = new Int32Array(extraLabels.length).fill(-1);
  sources.set(dupRows, generated.labels.length);
  const added = new Int32Array(C);
  for (const c of extraLabels) added[c] = (added[c] as number) + 1;
  const perClass: ResampleClassReport[] = Array.from(counts, (before, c) => {
    const base = { classIndex: c, before, requested: requested[c] as number, added: added[c] as number, removed: 0, after: before + (added[c] as number) };
    const reason = reasons.get(c);
    if (reason === undefined) return { ...base, status: (added[c] as number) > 0 ? 'resampled' : 'unchanged' };
    return { ...base, status: duplicated.has(c) ? 'duplicated' : 'skipped', reason };
  });
  const all = Int32Array.from({ length: labels.length }, (_, i) => i);
  const kind = isSynthesizer(o.method) ? o.method.kind : spec.kind;
  return assemble(features, labels, all, { rows: extraRows, labels: extraLabels, sources }, { method: kind, perClass });
}

/**
 * Samples `request` from `synth`; a class the synthesizer rejects with `EMPTY_CLASS` (naming it in
 * `details.classIndex`) is taken out of the request and recorded in `reasons`, unless `smallClass` is
 * `'error'`. Every attempt uses a fresh stream forked from `rng`, so the result does not depend on retries.
 */
function sampleSkippingSmall(
  synth: Synthesizer,
  request: Int32Array,
  reasons: Map<number, string>,
  o: Checked,
  head: FitResampleOptions['head'],
  rng: Rng,
): { rows: Float32Array; labels: Int32Array } {
  for (;;) {
    let out;
    try {
      out = synth.sample(head === undefined ? { perClass: request } : { perClass: request, head }, rng.fork('synthesis'));
    } catch (e) {
      const c = isLongTailError(e, 'EMPTY_CLASS') ? (e.details['classIndex'] as number | undefined) : undefined;
      if (o.smallClass === 'error' || c === undefined || !((request[c] as number) > 0)) throw e;
      reasons.set(c, (e as LongTailError).message);
      request[c] = 0;
      if (!request.some((r) => r > 0)) return { rows: new Float32Array(0), labels: new Int32Array(0) };
      continue;
    }
    try {
      const raw = out.features.dataSync();
      return { rows: raw instanceof Float32Array ? Float32Array.from(raw) : Float32Array.from(raw as ArrayLike<number>), labels: Int32Array.from(out.labels.dataSync()) };
    } finally {
      tf.dispose([out.features, out.labels]);
    }
  }
}
