/**
 * The main job (`npm run demo`): long-tailed Fashion-MNIST, shipped in data/ (1,485 training images,
 * IF 100; 2,000 balanced test images). Trains plain cross-entropy and the library's long-tail methods with
 * one Trainer API on the same MLP, then prints a table, writes demo-results.json and a per-class accuracy
 * chart (demo-per-class.svg) comparing the best method with cross-entropy. Prints one block per method as it
 * finishes (training itself is silent: `progress: 'none'`).
 *
 * `npm run demo -- --write` also stores the results in docs/demo-results.json and rewrites README.md's
 * results table and docs/getting-started.md's summary from them (scripts/readme-demo-table.ts).
 *
 * Runs on the wasm backend (no native install); the time of the last `--write` run is in README.md.
 */
import { copyFile, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import {
  classWeighted,
  cosineHead,
  classifier,
  seededRng,
  trainer,
  crossEntropyLoss,
  featureStats,
  focalLoss,
  fromArrays,
  ldamLoss,
  linearHead,
  loadFashionMnistLTSubset,
  logitAdjustedLoss,
  mlpBackbone,
  perClassAccuracySvg,
  postHocAdjust,
  standardizeArrays,
  useBackend,
  type EvaluationReport,
  type LabeledData,
  type Loss,
  type Model,
  type SamplerSpec,
} from '../src/index.js';
import { RESULTS_PATH, writeDocs, type DemoResults } from '../scripts/readme-demo-table.js';
import { demoRecipeRows } from './demo-recipes.js';

const EPOCHS = 30;
const BATCH = 128;
const SEED = 0;

/** One row of the results table. */
export interface DemoRow {
  readonly method: string;
  readonly report: EvaluationReport;
  readonly seconds: number;
}

/** What every method gets: standardised data and the training counts. */
export interface DemoContext {
  readonly train: LabeledData;
  readonly test: LabeledData;
  readonly counts: Float64Array;
  readonly classNames: readonly string[];
  readonly epochs: number;
  readonly seed: number;
}

function mlp(head: 'linear' | 'cosine', seed: number): Model {
  const rng = seededRng(seed);
  const backbone = mlpBackbone({ inputDim: 784, hiddenSizes: [256], rng: rng.fork('backbone') });
  const headRng = rng.fork('head');
  return classifier({
    backbone,
    head: head === 'linear' ? linearHead({ inputDim: 256, numClasses: 10, rng: headRng }) : cosineHead({ inputDim: 256, numClasses: 10, rng: headRng, scale: 1 }),
  });
}

/** Trains one MLP with a loss and sampler through the Trainer and evaluates it (optionally post-hoc adjusted). */
async function trainerRow(
  ctx: DemoContext,
  spec: { readonly loss: Loss<'logits'>; readonly sampler?: SamplerSpec; readonly head?: 'linear' | 'cosine'; readonly postHoc?: boolean },
): Promise<{ report: EvaluationReport; postHoc?: EvaluationReport }> {
  const model = mlp(spec.head ?? 'linear', ctx.seed);
  const loop = trainer({
    model,
    loss: spec.loss,
    seed: ctx.seed,
    epochs: ctx.epochs,
    batchSize: BATCH,
    optimizer: { kind: 'adam', learningRate: 1e-3, weightDecay: 5e-4 },
    progress: 'none',
    ...(spec.sampler === undefined ? {} : { sampler: spec.sampler }),
  });
  try {
    await loop.fit(ctx.train);
    const report = loop.evaluate(ctx.test);
    if (spec.postHoc !== true) return { report };
    const postHoc = loop.evaluate(ctx.test, { adjustLogits: (z) => postHocAdjust(z, { classCounts: ctx.counts, tau: 1 }) });
    return { report, postHoc };
  } finally {
    loop.dispose();
    model.dispose();
  }
}

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; seconds: number }> {
  const t0 = performance.now();
  const value = await fn();
  return { value, seconds: (performance.now() - t0) / 1000 };
}

function pct(v: number | undefined): string {
  return v === undefined || Number.isNaN(v) ? '   -  ' : (100 * v).toFixed(2).padStart(6);
}

/** What the demo prints when a method finishes: its name and time, then its accuracies. */
function block(index: number, method: string, report: EvaluationReport, seconds: number): string {
  const g = report.groups;
  const acc = (v: number | undefined) => pct(v).trim();
  return [
    `[${index}] ${method}  (${seconds.toFixed(1)} s)`,
    `    balanced ${acc(report.balancedAccuracy)}  many ${acc(g?.many.accuracy)}  medium ${acc(g?.medium.accuracy)}  few ${acc(g?.few.accuracy)}`,
  ].join('\n');
}

function table(rows: readonly DemoRow[]): string {
  const head = `${'method'.padEnd(52)} ${'top-1'.padStart(6)} ${'bal.'.padStart(6)} ${'many'.padStart(6)} ${'medium'.padStart(6)} ${'few'.padStart(6)} ${'time s'.padStart(7)}`;
  const lines = rows.map((r) => {
    const g = r.report.groups;
    return `${r.method.padEnd(52)} ${pct(r.report.top1)} ${pct(r.report.balancedAccuracy)} ${pct(g?.many.accuracy)} ${pct(g?.medium.accuracy)} ${pct(g?.few.accuracy)} ${r.seconds.toFixed(1).padStart(7)}`;
  });
  return [head, '-'.repeat(head.length), ...lines].join('\n');
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const load0 = loadavg()[0] as number;
  const info = await useBackend('wasm');
  const subset = await loadFashionMnistLTSubset();
  // Standardise with the statistics of the (shipped) training set, as the reference protocol does with its own.
  const stats = featureStats(subset.train, { scale: 1 / 255 });
  const flat = (a: typeof subset.train) => ({ ...standardizeArrays(a, stats), sampleShape: [784] });
  const train = fromArrays(flat(subset.train));
  const test = fromArrays(flat(subset.test));
  const counts = Float64Array.from({ length: 10 }, (_, c) => subset.train.y.filter((y) => y === c).length);
  const ctx: DemoContext = { train, test, counts, classNames: subset.classNames, epochs: EPOCHS, seed: SEED };
  console.log(`longtail demo: Fashion-MNIST-LT subset (${train.y.length} train, counts ${Array.from(counts).join('/')}; ${test.y.length} balanced test), backend ${info.backend} (SIMD ${info.simd}, ${info.fixes.length} training-kernel fixes)\n`);

  const rows: DemoRow[] = [];
  const add = (method: string, report: EvaluationReport, seconds: number) => {
    rows.push({ method, report, seconds });
    console.log(block(rows.length, method, report, seconds));
  };

  const ce = await timed(() => trainerRow(ctx, { loss: crossEntropyLoss(), postHoc: true }));
  add('cross-entropy', ce.value.report, ce.seconds);
  add('post-hoc logit adjustment (τ=1)', ce.value.postHoc as EvaluationReport, ce.seconds);
  const trainerMethods: [string, Parameters<typeof trainerRow>[1]][] = [
    ['logit-adjusted loss (τ=1)', { loss: logitAdjustedLoss() }],
    ['class-balanced weights (β=0.9999)', { loss: crossEntropyLoss({ reducer: classWeighted({ beta: 0.9999 }) }) }],
    ['class-balanced sampling', { loss: crossEntropyLoss(), sampler: { kind: 'classBalanced' } }],
    ['square-root sampling', { loss: crossEntropyLoss(), sampler: { kind: 'squareRoot' } }],
    ['focal (γ=1)', { loss: focalLoss({ gamma: 1 }) }],
    ['LDAM-DRW (cosine head)', { loss: ldamLoss({ reducer: classWeighted({ beta: 0.9999, startEpoch: Math.floor(EPOCHS * 0.8) }) }), head: 'cosine' }],
  ];
  for (const [name, spec] of trainerMethods) {
    const r = await timed(() => trainerRow(ctx, spec));
    add(name, r.value.report, r.seconds);
  }
  for (const row of await demoRecipeRows(ctx)) add(row.method, row.report, row.seconds);

  console.log(`\n${table(rows)}\n`);
  const best = rows.slice(1).reduce((a, b) => (b.report.balancedAccuracy > a.report.balancedAccuracy ? b : a));
  const results: DemoResults = {
    dataset: 'fashion-mnist-lt-600',
    trainCounts: Array.from(counts),
    testSize: test.y.length,
    epochs: EPOCHS,
    seed: SEED,
    backend: info.backend,
    cpus: cpus().length,
    totalSeconds: Math.round((performance.now() - t0) / 100) / 10,
    cpuSeconds: Math.round((process.cpuUsage(cpu0).user + process.cpuUsage(cpu0).system) / 1e5) / 10,
    loadAverage: [load0, loadavg()[0] as number].map((l) => Math.round(l * 10) / 10),
    rows,
  };
  await writeFile('demo-results.json', `${JSON.stringify(results, null, 2)}\n`);
  const svg = perClassAccuracySvg(best.report, {
    classNames: subset.classNames,
    title: `Per-class accuracy on long-tailed Fashion-MNIST: ${best.method} vs cross-entropy`,
    label: `${best.method} (balanced ${pct(best.report.balancedAccuracy).trim()}%)`,
    baseline: { label: `cross-entropy (balanced ${pct(ce.value.report.balancedAccuracy).trim()}%)`, report: ce.value.report },
  });
  await writeFile('demo-per-class.svg', svg);
  console.log(`best method: ${best.method} (balanced ${pct(best.report.balancedAccuracy).trim()}% vs cross-entropy ${pct(ce.value.report.balancedAccuracy).trim()}%)`);
  console.log(`wrote demo-results.json and demo-per-class.svg (best method vs cross-entropy); ${rows.length} methods in ${results.totalSeconds.toFixed(0)} s`);
  if (process.argv.includes('--write')) {
    await copyFile('demo-results.json', RESULTS_PATH);
    writeDocs(results);
    console.log(`wrote ${RESULTS_PATH}, README.md's results table and docs/getting-started.md's summary`);
  }
  train.x.dispose();
  test.x.dispose();
  if (tf.memory().numTensors !== 0) console.warn(`warning: ${tf.memory().numTensors} tensors still alive at exit`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
