/**
 * Long-tailed subsets of a balanced dataset (Cui et al. 2019, "Class-Balanced Loss Based on Effective
 * Number of Samples"; Cao et al. 2019, "Learning Imbalanced Datasets with Label-Distribution-Aware Margin
 * Loss"), and their split files (`{ dataset, profile, imb_ratio, counts, indices }` JSON, the format of the
 * Fashion-MNIST-LT reference splits).
 */
import { LongTailError, invalid, type ErrorCode } from '../core/errors.js';
import { checkOptions, type OptionKeys } from '../core/options.js';
import type { Rng } from '../core/rng.js';
import { checkInteger, checkLabels, checkOneOf, checkRange } from '../core/validate.js';
import { readInputFile } from './node-io.js';

/** Long-tail profile: exponential decay over the class index, or a two-level step. */
export type LongTailProfile = 'exponential' | 'step';

/** Options of {@link longTailCounts}. */
export interface LongTailCountsOptions {
  readonly profile: LongTailProfile;
  /** Number of classes C ≥ 2. */
  readonly numClasses: number;
  /** n_max, the count of class 0 (the head). */
  readonly maxCount: number;
  /** Imbalance factor IF = n_max / n_min ≥ 1. */
  readonly imbalanceFactor: number;
  /** Step profile only: how many head classes get n_max. Default ⌊C / 2⌋ (the rest get ⌊n_max / IF⌋). */
  readonly headClasses?: number;
}

const COUNTS_KEYS: OptionKeys<LongTailCountsOptions> = { profile: true, numClasses: true, maxCount: true, imbalanceFactor: true, headClasses: true };

/**
 * Per-class counts of a long-tailed profile, class 0 largest.
 *
 * - exponential: n_i = ⌊n_max · IF^(−i/(C−1))⌋, i = 0..C−1
 * - step: n_i = n_max for i < headClasses, ⌊n_max / IF⌋ otherwise (Buda et al. 2018)
 *
 * The floor forgives a relative error of 1e-9, so a count that is mathematically an integer (600 / 100)
 * is never lost to rounding.
 *
 * @example `longTailCounts({ profile: 'exponential', numClasses: 10, maxCount: 6000, imbalanceFactor: 100 })`
 *   → [6000, 3596, 2156, 1292, 774, 464, 278, 166, 100, 60]
 */
export function longTailCounts(options: LongTailCountsOptions): Int32Array {
  const { profile, numClasses, maxCount, imbalanceFactor } = checkOptions('longTailCounts options', options, COUNTS_KEYS);
  checkOneOf('profile', profile, ['exponential', 'step']);
  checkInteger('numClasses', numClasses, { min: 2 });
  checkInteger('maxCount', maxCount, { min: 1 });
  checkRange('imbalanceFactor', imbalanceFactor, { min: 1 });
  const counts = new Int32Array(numClasses);
  if (profile === 'exponential') {
    for (let i = 0; i < numClasses; i++) {
      counts[i] = floorForgiving(maxCount * Math.pow(imbalanceFactor, -i / (numClasses - 1)));
    }
  } else {
    const head = options.headClasses ?? Math.floor(numClasses / 2);
    checkInteger('headClasses', head, { min: 1 });
    if (head > numClasses) throw invalid('INVALID_OPTION', `headClasses <= numClasses (${numClasses})`, 'headClasses', head);
    const tail = floorForgiving(maxCount / imbalanceFactor);
    for (let i = 0; i < numClasses; i++) counts[i] = i < head ? maxCount : tail;
  }
  return counts;
}

function floorForgiving(x: number): number {
  return Math.floor(x * (1 + 1e-9));
}

/** Options of {@link longTailIndices}. */
export interface LongTailIndicesOptions {
  /** Target count of every class (e.g. from {@link longTailCounts}); length C. */
  readonly counts: ArrayLike<number>;
  /** Random stream for the per-class choice (without replacement). */
  readonly rng: Rng;
}

const INDICES_KEYS: OptionKeys<LongTailIndicesOptions> = { counts: true, rng: true };

/**
 * Picks a long-tailed subset of a labelled set: for each class j, `counts[j]` distinct indices drawn
 * uniformly without replacement from the samples of class j. Indices are grouped by class (0 first) and
 * in random order within a class, like the shared split files.
 *
 * @throws LongTailError `EMPTY_CLASS` if a class has fewer samples than requested; `LABEL_OUT_OF_RANGE`
 *   for labels outside [0, counts.length).
 */
export function longTailIndices(labels: ArrayLike<number>, options: LongTailIndicesOptions): Int32Array {
  const { counts, rng } = checkOptions('longTailIndices options', options, INDICES_KEYS);
  const numClasses = counts?.length;
  checkInteger('counts.length', numClasses, { min: 1 });
  const y = checkLabels('labels', labels, numClasses);
  const pools = poolsByClass(y, numClasses);
  let total = 0;
  for (let j = 0; j < numClasses; j++) {
    const want = counts[j] as number;
    checkInteger(`counts[${j}]`, want);
    const have = (pools[j] as Int32Array).length;
    if (want > have) {
      throw new LongTailError(
        'EMPTY_CLASS',
        `expected class ${j} to have at least counts[${j}]=${want} samples. Received: ${have} samples of class ${j}`,
        { class: j, requested: want, available: have },
      );
    }
    total += want;
  }
  const out = new Int32Array(total);
  let offset = 0;
  for (let j = 0; j < numClasses; j++) {
    const pool = pools[j] as Int32Array;
    const want = counts[j] as number;
    // Partial Fisher–Yates: the first `want` slots become a uniform sample without replacement.
    for (let k = 0; k < want; k++) {
      const r = k + rng.int(pool.length - k);
      const tmp = pool[k] as number;
      pool[k] = pool[r] as number;
      pool[r] = tmp;
    }
    out.set(pool.subarray(0, want), offset);
    offset += want;
  }
  return out;
}

/** Sample indices of every class, ascending: `pools[j]` lists the i with labels[i] = j. */
export function poolsByClass(labels: Int32Array, numClasses: number): Int32Array[] {
  const sizes = new Int32Array(numClasses);
  for (const v of labels) sizes[v] = (sizes[v] as number) + 1;
  const pools = Array.from(sizes, (n) => new Int32Array(n));
  const fill = new Int32Array(numClasses);
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i] as number;
    (pools[c] as Int32Array)[fill[c] as number] = i;
    fill[c] = (fill[c] as number) + 1;
  }
  return pools;
}

/** A long-tail split file: indices into a source set, with the profile that made them. */
export interface LongTailSplit {
  /** Free-text name of the source set. */
  readonly dataset: string;
  readonly profile: LongTailProfile;
  readonly imbalanceFactor: number;
  /** Per-class counts, length C. */
  readonly counts: Int32Array;
  /** Indices into the source set, grouped by class; length Σ counts. */
  readonly indices: Int32Array;
}

/** Options of {@link parseLongTailSplit}. */
export interface ParseSplitOptions {
  /** A name for messages, e.g. the file path. Default `'split'`. */
  readonly source?: string;
}

const PARSE_KEYS: OptionKeys<ParseSplitOptions> = { source: true };
const SPLIT_KEYS: OptionKeys<LongTailSplit> = { dataset: true, profile: true, imbalanceFactor: true, counts: true, indices: true };

/** The split's fields in JSON form, checked; `code` is INVALID_DATA for files, INVALID_OPTION for arguments. */
function checkSplitJson(json: unknown, source: string, code: ErrorCode): LongTailSplit {
  const bad = (what: string, value: unknown): LongTailError => invalid(code, `${source} to have ${what}`, what.split(' ')[0] ?? what, value, { source });
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw bad('a JSON object', json);
  const o = json as Record<string, unknown>;
  const profileRaw = o['profile'];
  const profile: LongTailProfile | undefined =
    profileRaw === 'exp' || profileRaw === 'exponential' ? 'exponential' : profileRaw === 'step' ? 'step' : undefined;
  if (profile === undefined) throw bad('profile "exp" or "step"', profileRaw);
  const ratio = o['imb_ratio'];
  if (typeof ratio !== 'number' || !Number.isFinite(ratio) || !(ratio >= 1)) throw bad('imb_ratio >= 1 (finite)', ratio);
  const dataset = o['dataset'] ?? '';
  if (typeof dataset !== 'string') throw bad('dataset as a string', dataset);
  const counts = intArray(o['counts'], () => bad('counts as non-negative integers', o['counts']));
  const indices = intArray(o['indices'], () => bad('indices as non-negative integers', '(invalid array)'));
  const sum = counts.reduce((a, b) => a + b, 0);
  if (sum !== indices.length) throw bad(`indices.length = sum of counts (${sum})`, indices.length);
  return { dataset, profile, imbalanceFactor: ratio, counts, indices };
}

/**
 * Parses a split in its JSON format, given as the text {@link formatLongTailSplit} writes or as the parsed
 * value: `{ dataset, profile: "exp" | "step", imb_ratio, counts: number[], indices: number[] }`.
 * Python: `json.load(f)`.
 *
 * @throws LongTailError `INVALID_DATA` for text that is not JSON, or a field missing or inconsistent
 *   (Σ counts ≠ indices.length, negative or non-integer entries, imb_ratio < 1).
 */
export function parseLongTailSplit(json: unknown, options: ParseSplitOptions = {}): LongTailSplit {
  const source = checkOptions('parseLongTailSplit options', options, PARSE_KEYS).source ?? 'split';
  let value = json;
  if (typeof json === 'string') {
    try {
      value = JSON.parse(json);
    } catch {
      throw new LongTailError('INVALID_DATA', `expected ${source} to be JSON. Received: text that does not parse`, { source });
    }
  }
  return checkSplitJson(value, source, 'INVALID_DATA');
}

function intArray(value: unknown, fail: () => LongTailError): Int32Array {
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) value = Array.from(value as unknown as ArrayLike<number>);
  if (!Array.isArray(value)) throw fail();
  const out = new Int32Array(value.length);
  for (let i = 0; i < value.length; i++) {
    const v: unknown = value[i];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0x7fffffff) throw fail();
    out[i] = v;
  }
  return out;
}

/**
 * Serialises a split as JSON text, the inverse of {@link parseLongTailSplit}: the split is checked as the
 * reader checks it, so what is written always reads back.
 *
 * @throws LongTailError `INVALID_OPTION` for a split the reader would reject (profile not
 *   `'exponential' | 'step'`, imbalanceFactor not finite and ≥ 1, counts or indices not non-negative
 *   integers, Σ counts ≠ indices.length); `UNKNOWN_OPTION` for an unknown key.
 */
export function formatLongTailSplit(split: LongTailSplit): string {
  checkOptions('formatLongTailSplit split', split, SPLIT_KEYS);
  if (split.profile !== 'exponential' && split.profile !== 'step') checkOneOf('profile', split.profile, ['exponential', 'step']);
  checkRange('imbalanceFactor', split.imbalanceFactor, { min: 1 });
  const json = {
    dataset: split.dataset,
    profile: split.profile === 'exponential' ? 'exp' : 'step',
    imb_ratio: split.imbalanceFactor,
    counts: split.counts,
    indices: split.indices,
  };
  const checked = checkSplitJson(json, 'the split', 'INVALID_OPTION');
  return JSON.stringify({ ...json, counts: Array.from(checked.counts), indices: Array.from(checked.indices) });
}

/**
 * Reads a split JSON file (Node only).
 *
 * @throws LongTailError `MISSING_INPUT` if the file does not exist, `INVALID_DATA` if it is malformed.
 */
export async function loadLongTailSplit(path: string): Promise<LongTailSplit> {
  const text = await readInputFile(path, 'split file', 'utf8');
  return parseLongTailSplit(text, { source: path });
}
