/**
 * Data of the Fashion-MNIST-LT benchmark, prepared exactly as the PyTorch reference runs
 * (docs/benchmarks.md, PyTorch reference rows): Debian's `dataset-fashion-mnist`, the shared long-tailed index splits, and
 * x' = (x / 255 − μ) / (σ + 1e-3) with the per-pixel μ, σ of the full 60,000-image training set.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  featureStats,
  fromArrays,
  loadFashionMnist,
  loadLongTailSplit,
  standardize,
  type FeatureStats,
  type LabeledArrays,
  type LabeledData,
} from '../src/index.js';

/** The training sets a row can run on: the two shared long-tailed splits and the balanced 60,000 images. */
export type SplitName = 'ir100' | 'ir10' | 'full';

/** Every split, in table order. */
export const SPLIT_NAMES: readonly SplitName[] = ['ir100', 'ir10', 'full'];

/** Headings of the splits in tables. */
export const SPLIT_LABELS: Readonly<Record<SplitName, string>> = {
  ir100: 'IF 100',
  ir10: 'IF 10',
  full: 'balanced 60,000',
};

/** What a row function receives: standardised tensors (owned by the harness) and the protocol's settings. */
export interface BenchSplit {
  readonly name: SplitName;
  readonly train: LabeledData;
  /** The full balanced 10,000-image test set. */
  readonly test: LabeledData;
  /** Training count per class. */
  readonly counts: Float64Array;
  /** Epochs of the protocol for this split (30 long-tailed, 15 balanced) unless overridden on the CLI. */
  readonly epochs: number;
  /** Batch size of the protocol (256). */
  readonly batchSize: number;
}

/** Environment variable naming the directory with `fmnist_lt_exp_ir{100,10}_seed0.json`. */
export const SPLITS_ENV = 'LONGTAIL_FMNIST_SPLITS';

/** Environment variable naming a directory with the four Fashion-MNIST `*-ubyte.gz` files. */
export const DATA_ENV = 'LONGTAIL_FMNIST_DIR';

/**
 * The split directory: the CLI flag, else the environment variable, else the repository's copies in
 * `test/fixtures/fashion-mnist-lt` (the reference long-tailed index splits).
 */
export function splitsDir(flag: string | undefined): string {
  if (flag !== undefined) return resolve(flag);
  const env = process.env[SPLITS_ENV];
  if (env !== undefined && env !== '') return resolve(env);
  return join(dirname(fileURLToPath(import.meta.url)), '..', 'test', 'fixtures', 'fashion-mnist-lt');
}

/** The file of a long-tailed split in `dir`. */
export function splitFile(dir: string, name: Exclude<SplitName, 'full'>): string {
  return join(dir, `fmnist_lt_exp_${name}_seed0.json`);
}

/** Raw (uint8) Fashion-MNIST and the reference standardisation statistics. */
export interface FashionMnistSource {
  readonly train: LabeledArrays;
  readonly test: LabeledArrays;
  readonly stats: FeatureStats;
}

/** Loads both sets (throws the loader's `MISSING_INPUT` naming `apt-get install dataset-fashion-mnist`). */
export async function loadSource(dir: string | undefined): Promise<FashionMnistSource> {
  const opts = dir === undefined ? {} : { dir };
  const train = flat(await loadFashionMnist({ split: 'train', ...opts }));
  const test = flat(await loadFashionMnist({ split: 'test', ...opts }));
  // Population σ of x/255 over all 60,000 images, ε = 1e-3 added to σ (the reference's preprocessing).
  const stats = featureStats(train, { scale: 1 / 255, epsilon: 1e-3 });
  return { train, test, stats };
}

function flat(data: LabeledArrays): LabeledArrays {
  return { ...data, sampleShape: [data.sampleShape.reduce((a, b) => a * b, 1)] };
}

/** Rows `indices` of a flat uint8 set, standardised to float32. */
function selectStandardized(source: LabeledArrays, indices: Int32Array | null, stats: FeatureStats): LabeledArrays {
  const d = source.sampleShape[0] as number;
  if (indices === null) return { x: standardize(source.x, stats), sampleShape: [d], y: source.y };
  const raw = new Uint8Array(indices.length * d);
  const y = new Int32Array(indices.length);
  indices.forEach((idx, k) => {
    raw.set((source.x as Uint8Array).subarray(idx * d, (idx + 1) * d), k * d);
    y[k] = source.y[idx] as number;
  });
  return { x: standardize(raw, stats), sampleShape: [d], y };
}

function countsOf(y: Int32Array, numClasses: number): Float64Array {
  const counts = new Float64Array(numClasses);
  for (const v of y) counts[v] = (counts[v] as number) + 1;
  return counts;
}

/** Options of {@link makeSplit}. */
export interface MakeSplitOptions {
  readonly splitsDir: string;
  readonly epochs: number;
  readonly batchSize: number;
}

/**
 * Builds a {@link BenchSplit}: tensors for the training rows of the split and the test set. The caller
 * disposes `train.x` and `test.x` (see {@link disposeSplit}). Checks that the split's per-class counts
 * match the labels it selects, so a wrong file or dataset fails loudly instead of giving odd numbers.
 */
export async function makeSplit(name: SplitName, source: FashionMnistSource, options: MakeSplitOptions): Promise<BenchSplit> {
  let indices: Int32Array | null = null;
  let expected: Int32Array | null = null;
  if (name !== 'full') {
    const split = await loadLongTailSplit(splitFile(options.splitsDir, name));
    indices = split.indices;
    expected = split.counts;
  }
  const trainArrays = selectStandardized(source.train, indices, source.stats);
  const counts = countsOf(trainArrays.y, 10);
  if (expected !== null && !counts.every((c, j) => c === expected[j])) {
    throw new Error(`split ${name}: the selected labels have counts [${Array.from(counts).join(', ')}], the file says [${Array.from(expected).join(', ')}]`);
  }
  const testArrays = selectStandardized(source.test, null, source.stats);
  return {
    name,
    train: fromArrays(trainArrays),
    test: fromArrays(testArrays),
    counts,
    epochs: options.epochs,
    batchSize: options.batchSize,
  };
}

/** Frees the tensors of a split. */
export function disposeSplit(split: BenchSplit): void {
  split.train.x.dispose();
  split.test.x.dispose();
}

/** The split files of `names` that are missing from `dir` (empty when all are there). */
export function missingSplitFiles(dir: string, names: readonly SplitName[]): string[] {
  return names.filter((n): n is Exclude<SplitName, 'full'> => n !== 'full').map((n) => splitFile(dir, n)).filter((p) => !existsSync(p));
}
