/**
 * Long-tailed subsets of a balanced dataset (Cui et al. 2019, "Class-Balanced Loss Based on Effective
 * Number of Samples"; Cao et al. 2019, "Learning Imbalanced Datasets with Label-Distribution-Aware Margin
 * Loss"), and the split files of `../shared/data/fashion-mnist-lt/`.
 */
import { checkOptions, type OptionKeys } from '../core/options.js';
import { LongTailError, invalid } from '../core/errors.js';
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
  checkOptions('longTailCounts options', options, COUNTS_KEYS);
  const { profile, numClasses, maxCount, imbalanceFactor } = options;
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
  checkOptions('longTailIndices options', options, INDICES_KEYS);
  const { counts, rng } = options;
  const numClasses = counts.length;
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

/**
 * Parses a split in the JSON format of `../shared/data/fashion-mnist-lt/*.json`:
 * `{ dataset, profile: "exp" | "step", imb_ratio, counts: number[], indices: number[] }`.
 *
 * @throws LongTailError `INVALID_DATA` when a field is missing or inconsistent (Σ counts ≠ indices.length,
 *   negative or non-integer entries).
 */
export function parseLongTailSplit(json: unknown, source = 'split'): LongTailSplit {
  const bad = (what: string, value: unknown): LongTailError =>
    invalid('INVALID_DATA', `${source} to have ${what}`, what.split(' ')[0] ?? what, value, { source });
  if (json === null || typeof json !== 'object') throw bad('a JSON object', json);
  const o = json as Record<string, unknown>;
  const profileRaw = o['profile'];
  const profile: LongTailProfile | undefined =
    profileRaw === 'exp' || profileRaw === 'exponential' ? 'exponential' : profileRaw === 'step' ? 'step' : undefined;
  if (profile === undefined) throw bad('profile "exp" or "step"', profileRaw);
  const ratio = o['imb_ratio'];
  if (typeof ratio !== 'number' || !(ratio >= 1)) throw bad('imb_ratio >= 1', ratio);
  const counts = intArray(o['counts'], () => bad('counts as non-negative integers', o['counts']));
  const indices = intArray(o['indices'], () => bad('indices as non-negative integers', '(invalid array)'));
  const sum = counts.reduce((a, b) => a + b, 0);
  if (sum !== indices.length) throw bad(`indices.length = sum of counts (${sum})`, indices.length);
  return { dataset: typeof o['dataset'] === 'string' ? o['dataset'] : '', profile, imbalanceFactor: ratio, counts, indices };
}

function intArray(value: unknown, fail: () => LongTailError): Int32Array {
  if (!Array.isArray(value)) throw fail();
  const out = new Int32Array(value.length);
  for (let i = 0; i < value.length; i++) {
    const v: unknown = value[i];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0x7fffffff) throw fail();
    out[i] = v;
  }
  return out;
}

/** Serialises a split in the shared JSON format (the inverse of {@link parseLongTailSplit}). */
export function formatLongTailSplit(split: LongTailSplit): string {
  return JSON.stringify({
    dataset: split.dataset,
    profile: split.profile === 'exponential' ? 'exp' : 'step',
    imb_ratio: split.imbalanceFactor,
    counts: Array.from(split.counts),
    indices: Array.from(split.indices),
  });
}

/**
 * Reads a split JSON file (Node only).
 *
 * @throws LongTailError `MISSING_INPUT` if the file does not exist, `INVALID_DATA` if it is malformed.
 */
export async function loadLongTailSplit(path: string): Promise<LongTailSplit> {
  const text = await readInputFile(path, 'split file', 'utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new LongTailError('INVALID_DATA', `expected ${path} to be JSON. Received: a file that does not parse`, { path });
  }
  return parseLongTailSplit(json, path);
}
