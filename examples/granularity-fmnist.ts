/**
 * Category extrapolation on Fashion-MNIST (`npx tsx examples/granularity-fmnist.ts`): six long-tailed
 * target classes, the four visually similar remaining classes as auxiliary neighbours
 * (FASHION_MNIST_GRANULARITY_SPLIT), trained with the `granularity` recipe, against the same run without
 * auxiliary data (same MLP, the same balanced softmax z + log π, same epochs and optimizer: the paper's
 * BalCE baseline). Both are tested on the target classes only.
 *
 * Runs on the shipped long-tailed subset in data/ (targets 600/359/215/129/46/10, auxiliary
 * 77/27/16/6 images). `compareGranularity` is exported so a benchmark can run the same comparison on
 * the full Fashion-MNIST-LT split. EXAMPLE_EPOCHS shortens the runs; EXAMPLE_SEEDS="0,1,2" picks seeds.
 */
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import {
  FASHION_MNIST_GRANULARITY_SPLIT,
  classifier,
  seededRng,
  trainer,
  featureStats,
  formatReport,
  fromArrays,
  granularity,
  linearHead,
  loadFashionMnistLTSubset,
  logitAdjustedLoss,
  mlpBackbone,
  splitByClasses,
  standardizeArrays,
  useBackend,
  type EvaluationReport,
  type GranularitySplit,
  type LabeledArrays,
} from '../src/index.js';

/** Options of {@link compareGranularity}. */
export interface CompareGranularityOptions {
  /** Training set over all ten classes, flattened to [784] and standardised. */
  readonly train: LabeledArrays;
  /** Test set over all ten classes (only target-class samples are evaluated). */
  readonly test: LabeledArrays;
  readonly split?: GranularitySplit;
  readonly seeds?: readonly number[];
  readonly epochs?: number;
  readonly batchSize?: number;
  /** 'prototype' (default): the recipe picks neighbours after its warm-up; 'split': the split's hand-picked ones. */
  readonly neighbors?: 'prototype' | 'split';
}

/** One seed of the comparison. */
export interface GranularitySeedResult {
  readonly seed: number;
  /** The granularity recipe (target + auxiliary classes, neighbor silencing). */
  readonly withAuxiliary: EvaluationReport;
  /** The same model, loss and budget on the target classes alone. */
  readonly withoutAuxiliary: EvaluationReport;
  /** The neighbours used, by class name: target → auxiliary classes. */
  readonly neighbors: Readonly<Record<string, readonly string[]>>;
}

/** Runs the recipe and its no-auxiliary counterpart for each seed (MLP 784-256, Adam 1e-3, L2 5e-4). */
export async function compareGranularity(options: CompareGranularityOptions): Promise<GranularitySeedResult[]> {
  const split = options.split ?? FASHION_MNIST_GRANULARITY_SPLIT;
  const epochs = options.epochs ?? 30;
  const batchSize = options.batchSize ?? 256;
  const optimizer = { kind: 'adam', learningRate: 1e-3, weightDecay: 5e-4 } as const;
  const tr = splitByClasses(options.train, split);
  const te = splitByClasses(options.test, split);
  const train = fromArrays(tr.target);
  const auxiliary = fromArrays(tr.auxiliary);
  const test = fromArrays(te.target);
  const numClasses = split.targets.length;
  const results: GranularitySeedResult[] = [];
  try {
    for (const seed of options.seeds ?? [0]) {
      const run = granularity({
        seed,
        numClasses,
        auxiliary,
        epochs,
        batchSize,
        optimizer,
        progress: 'none',
        ...(options.neighbors === 'split' ? { neighbors: split.neighbors.map((l) => [...l]) } : {}),
      });
      await run.fit(train);
      const withAuxiliary = run.evaluate(test);
      const neighbors: Record<string, string[]> = {};
      (run.neighbors ?? []).forEach((list, t) => {
        neighbors[split.targets[t]?.name ?? String(t)] = list.map((a) => split.auxiliary[a]?.name ?? String(a));
      });
      run.dispose();

      const rng = seededRng(seed);
      const model = classifier({
        backbone: mlpBackbone({ inputDim: 784, hiddenSizes: [256], rng: rng.fork('backbone') }),
        head: linearHead({ inputDim: 256, numClasses, rng: rng.fork('head') }),
      });
      const loop = trainer({ model, loss: logitAdjustedLoss({ tau: 1 }), seed, epochs, batchSize, optimizer, progress: 'none' });
      await loop.fit(train);
      const withoutAuxiliary = loop.evaluate(test);
      loop.dispose();
      model.dispose();
      results.push({ seed, withAuxiliary, withoutAuxiliary, neighbors });
    }
  } finally {
    train.x.dispose();
    auxiliary.x.dispose();
    test.x.dispose();
  }
  return results;
}

function pct(v: number): string {
  return `${(100 * v).toFixed(2)}%`;
}

function meanStd(values: readonly number[]): string {
  const m = values.reduce((a, b) => a + b, 0) / values.length;
  const s = Math.sqrt(values.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, values.length - 1));
  return `${(100 * m).toFixed(2)} ± ${(100 * s).toFixed(2)}`;
}

async function main(): Promise<void> {
  await useBackend('wasm');
  const subset = await loadFashionMnistLTSubset();
  const flat = (a: LabeledArrays): LabeledArrays => ({ ...a, sampleShape: [784] });
  const stats = featureStats(flat(subset.train), { scale: 1 / 255 });
  const epochs = Number(process.env['EXAMPLE_EPOCHS'] ?? 30);
  const seeds = (process.env['EXAMPLE_SEEDS'] ?? '0,1,2').split(',').map(Number);
  const split = FASHION_MNIST_GRANULARITY_SPLIT;
  console.log(
    `Category extrapolation on the shipped Fashion-MNIST-LT subset: targets ${split.targets.map((c) => c.name).join(', ')}; ` +
      `auxiliary ${split.auxiliary.map((c) => c.name).join(', ')}. ${epochs} epochs, seeds ${seeds.join(', ')}.\n`,
  );
  const results = await compareGranularity({
    train: standardizeArrays(flat(subset.train), stats),
    test: standardizeArrays(flat(subset.test), stats),
    seeds,
    epochs,
  });
  const names = split.targets.map((c) => c.name);
  const first = results[0];
  if (first === undefined) return;
  console.log(formatReport(first.withAuxiliary, { classNames: names, title: `granularity (target + auxiliary classes, neighbor silencing), seed ${first.seed}` }));
  console.log(`neighbours: ${Object.entries(first.neighbors).map(([t, l]) => `${t} → ${l.join(' + ') || '—'}`).join('; ')}\n`);
  console.log(formatReport(first.withoutAuxiliary, { classNames: names, title: `without auxiliary data (balanced softmax on the target classes), seed ${first.seed}` }));
  console.log('\nseed  balanced: with auxiliary   without   difference');
  for (const r of results) {
    const d = r.withAuxiliary.balancedAccuracy - r.withoutAuxiliary.balancedAccuracy;
    console.log(`${String(r.seed).padEnd(4)}  ${pct(r.withAuxiliary.balancedAccuracy).padStart(24)}  ${pct(r.withoutAuxiliary.balancedAccuracy).padStart(8)}  ${(d >= 0 ? '+' : '') + (100 * d).toFixed(2)} pts`);
  }
  console.log(
    `mean  balanced with auxiliary ${meanStd(results.map((r) => r.withAuxiliary.balancedAccuracy))}, without ${meanStd(results.map((r) => r.withoutAuxiliary.balancedAccuracy))}`,
  );
  if (tf.memory().numTensors !== 0) console.warn(`warning: ${tf.memory().numTensors} tensors still alive at exit`);
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(entry).href) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
