/**
 * bench/sau.ts (`npx tsx bench/sau.ts`): what the SAU recipe costs and what it buys on the shipped
 * Fashion-MNIST-LT subset (784-d pixels seen as 28×28 images, wasm).
 *
 * Cost (same run, same data): one training epoch of SAU vs one epoch of plain cross-entropy on the same
 * real + synthetic samples and the same MLP backbone; and, on one batch, SAU's label correction plus
 * contrastive loss vs plain SupCon over the same projections (the cost of the nearest-neighbour check).
 *
 * Accuracy (3 seeds, mean ± sd of balanced accuracy and few-shot accuracy): CE on the real data for the
 * same epochs and for the same optimizer steps, CE on real + SMOTE data (what oversampling alone
 * gives), SAU without its contrastive branch, and SAU with each noisy-sample strategy.
 * Writes its section of docs/benchmarks.md.
 */
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../src/backends/index.js';
import { seededRng } from '../src/core/rng.js';
import { concatRealSynthetic, featureStats, fromArrays, loadFashionMnistLTSubset, standardizeArrays, type LabeledArrays, type LabeledData } from '../src/data/index.js';
import { crossEntropyLoss, supervisedContrastive } from '../src/losses/index.js';
import { classifier, linearHead, mlpBackbone } from '../src/models/index.js';
import { sau, sauContrastive, type NoisyStrategy, type SauOptions } from '../src/recipes/sau.js';
import { LatentSmote, topUpRequest } from '../src/synth/index.js';
import { trainer } from '../src/train/trainer.js';
import { environmentLine, markdownTable, ms, timeMedian, writeBenchSection } from './util.js';

const BATCH = 256;
const OPTIMIZER = { kind: 'adam', learningRate: 1e-3, weightDecay: 5e-4 } as const;
const HIDDEN = 128;
const EPOCHS = 4;
const TOP_UP = 300;
const SEEDS = [0, 1, 2];

/** Real + SMOTE samples (each class topped up to `count`), flagged synthetic. */
function smoteData(train: LabeledData, count: number, seed: number): LabeledData {
  const smote = new LatentSmote({ numClasses: 10 });
  const labels = tf.tensor1d(train.y, 'int32');
  smote.observe({ features: train.x as tf.Tensor2D, labels });
  labels.dispose();
  const drawn = smote.sample({ perClass: topUpRequest(smote.observedCounts(), { kind: 'toCount', count }) }, seededRng(seed).fork('smote'));
  smote.dispose();
  const synthetic = { x: drawn.features, y: Int32Array.from(drawn.labels.dataSync()) };
  drawn.labels.dispose();
  const all = concatRealSynthetic({ real: train, synthetic });
  synthetic.x.dispose();
  return all;
}

function ceTrainer(seed: number, epochs: number) {
  const rng = seededRng(seed);
  const model = classifier({
    backbone: mlpBackbone({ inputDim: 784, hiddenSizes: [HIDDEN], rng: rng.fork('backbone') }),
    head: linearHead({ inputDim: HIDDEN, numClasses: 10, rng: rng.fork('head') }),
  });
  const loop = trainer({ model, loss: crossEntropyLoss(), seed, epochs, batchSize: BATCH, optimizer: OPTIMIZER, progress: 'none' });
  return { trainer: loop, dispose: () => (loop.dispose(), model.dispose()) };
}

const sauOptions = (seed: number, extra: Partial<SauOptions>): SauOptions => ({
  seed,
  numClasses: 10,
  inputShape: [784],
  imageShape: [28, 28, 1],
  hiddenSizes: [HIDDEN],
  projectionHiddenSizes: [64],
  projectionDim: 32,
  augmentation: 'flip',
  epochs: EPOCHS,
  batchSize: BATCH,
  optimizer: OPTIMIZER,
  progress: 'none',
  ...extra,
});

/** time / baseline as "2.50×" (how many times longer than the baseline). */
const ratio = (value: number, baseline: number): string => `${(value / baseline).toFixed(2)}×`;

async function timed(fn: () => Promise<unknown>, runs: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] as number;
}

const stats = (v: number[]): string => {
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, v.length - 1));
  return `${(100 * mean).toFixed(1)} ± ${(100 * sd).toFixed(1)}`;
};

async function main(): Promise<void> {
  const info = await useBackend('wasm');
  const sub = await loadFashionMnistLTSubset();
  const flat = (a: LabeledArrays): LabeledArrays => ({ ...a, sampleShape: [784] });
  const fs = featureStats(flat(sub.train), { scale: 1 / 255 });
  const train = fromArrays(standardizeArrays(flat(sub.train), fs));
  const test = fromArrays(standardizeArrays(flat(sub.test), fs));

  // --- Cost: one epoch on the same real + synthetic data (each class topped up to n_max = 600).
  const full = smoteData(train, 600, 0);
  const synthetic = { x: tf.gather(full.x, tf.range(train.y.length, full.y.length, 1, 'int32')), y: full.y.slice(train.y.length) };
  const epochRuns = 3;
  const tCe = await timed(async () => {
    const ce = ceTrainer(0, 1);
    await ce.trainer.fit(full);
    ce.dispose();
  }, epochRuns);
  const tSau = await timed(async () => {
    const run = sau(sauOptions(0, { epochs: 1, synthetic }));
    await run.fit(train);
    run.dispose();
  }, epochRuns);
  const tSauCrop = await timed(async () => {
    const run = sau(sauOptions(0, { epochs: 1, synthetic, augmentation: 'cropFlip' }));
    await run.fit(train);
    run.dispose();
  }, epochRuns);

  // One batch of projections: 3/4 synthetic, d = 128, two views, 10 prototypes.
  const rng = seededRng(1);
  const n = BATCH;
  const d = 128;
  const values = Float32Array.from({ length: n * 2 * d }, () => rng.normal());
  const projections = tf.tidy(() => {
    const p = tf.tensor3d(values, [n, 2, d]);
    return tf.div(p, tf.norm(p, 2, -1, true)) as tf.Tensor3D;
  });
  const labels = Int32Array.from({ length: n }, (_, i) => i % 10);
  const flags = Uint8Array.from({ length: n }, (_, i) => (i % 4 === 0 ? 0 : 1));
  const prototypes = { features: tf.tidy(() => tf.mul(tf.slice(projections, 0, 10), 0.5) as tf.Tensor3D), labels: Int32Array.from({ length: 10 }, (_, i) => i) };
  const labelTensor = tf.tensor1d(labels, 'int32');
  const runs = { warmup: 3, runs: 15 };
  const tSupCon = timeMedian(() => {
    const out = supervisedContrastive(projections, { labels: labelTensor, temperature: 0.1, baseTemperature: 0.1, normalize: false });
    out.values.dataSync();
    tf.dispose([out.values, out.weights]);
  }, runs);
  const tSauLoss: Record<NoisyStrategy, number> = { drop: 0, posNeg: 0, negOnly: 0 };
  for (const strategy of ['drop', 'posNeg', 'negOnly'] as const) {
    tSauLoss[strategy] = timeMedian(() => {
      const out = sauContrastive(projections, { labels: labelTensor, labelValues: labels, synthetic: flags, prototypes, strategy });
      out.loss.dataSync();
      out.loss.dispose();
    }, runs);
  }
  tf.dispose([projections, prototypes.features, labelTensor, synthetic.x, full.x]);

  // --- Accuracy.
  const small = smoteData(train, TOP_UP, 0);
  const sauSteps = EPOCHS * Math.ceil(small.y.length / BATCH);
  const ceStepsEpochs = Math.ceil(sauSteps / Math.ceil(train.y.length / BATCH));
  small.x.dispose();
  type Row = { name: string; ba: number[]; few: number[] };
  const rows: Row[] = [
    { name: `CE, real data, ${EPOCHS} epochs (${EPOCHS * Math.ceil(train.y.length / BATCH)} steps)`, ba: [], few: [] },
    { name: `CE, real data, ${ceStepsEpochs} epochs (${ceStepsEpochs * Math.ceil(train.y.length / BATCH)} steps)`, ba: [], few: [] },
    { name: `CE, real + SMOTE, ${EPOCHS} epochs (${sauSteps} steps)`, ba: [], few: [] },
    { name: 'SAU without the contrastive branch (MixUp + CutMix only)', ba: [], few: [] },
    { name: "SAU, noisy 'drop'", ba: [], few: [] },
    { name: "SAU, noisy 'posNeg'", ba: [], few: [] },
    { name: "SAU, noisy 'negOnly'", ba: [], few: [] },
  ];
  const record = (row: Row, report: { balancedAccuracy: number; groups?: { few: { accuracy: number } } }): void => {
    row.ba.push(report.balancedAccuracy);
    row.few.push(report.groups?.few.accuracy ?? NaN);
  };
  const trainCounts = new Float64Array(10);
  for (const y of train.y) trainCounts[y] = (trainCounts[y] as number) + 1;
  for (const seed of SEEDS) {
    for (const [row, epochs, data] of [
      [rows[0], EPOCHS, 'real'],
      [rows[1], ceStepsEpochs, 'real'],
      [rows[2], EPOCHS, 'smote'],
    ] as const) {
      const ce = ceTrainer(seed, epochs);
      const d = data === 'real' ? train : smoteData(train, TOP_UP, seed);
      await ce.trainer.fit(d);
      record(row as Row, ce.trainer.evaluate(test, { trainCounts }));
      if (d !== train) d.x.dispose();
      ce.dispose();
    }
    const synth = { synthesizer: { kind: 'latentSmote', config: {} }, topUp: { kind: 'toCount', count: TOP_UP } } as const;
    const variants: [Row, Partial<SauOptions>][] = [
      [rows[3] as Row, { ...synth, lossWeights: { contrastive: 0 } }],
      [rows[4] as Row, { ...synth, noisyStrategy: 'drop' }],
      [rows[5] as Row, { ...synth, noisyStrategy: 'posNeg' }],
      [rows[6] as Row, { ...synth, noisyStrategy: 'negOnly' }],
    ];
    for (const [row, extra] of variants) {
      const run = sau(sauOptions(seed, extra));
      await run.fit(train);
      record(row, run.evaluate(test));
      run.dispose();
    }
  }

  const cost = markdownTable(
    ['Measure', 'Median ms', 'Time / baseline'],
    [
      [`CE epoch on ${train.y.length} real + ${full.y.length - train.y.length} SMOTE samples (baseline)`, ms(tCe), '1.00×'],
      ["SAU epoch, same data, 'flip' views (3 flips, MixUp, CutMix, 4 forward passes per step, prototypes)", ms(tSau), ratio(tSau, tCe)],
      ["SAU epoch, same data, 'cropFlip' views", ms(tSauCrop), ratio(tSauCrop, tCe)],
      [`SupCon on one batch [${n}, 2, ${d}] + 10 prototypes (baseline)`, ms(tSupCon), '1.00×'],
      ...(['drop', 'posNeg', 'negOnly'] as const).map((s) => [`SAU label correction + contrastive loss, '${s}'`, ms(tSauLoss[s]), ratio(tSauLoss[s], tSupCon)]),
    ],
  );
  const acc = markdownTable(
    ['Run (3 seeds)', 'Balanced accuracy %', 'Few-shot %'],
    rows.map((r) => [r.name, stats(r.ba), stats(r.few)]),
  );
  const markdown = [
    environmentLine(),
    '',
    `Backend ${info.backend} (SIMD ${info.simd}, threads ${info.threads}). MLP 784-${HIDDEN} backbone, projection ${HIDDEN}-64-32, batch ${BATCH}, Adam 1e-3, L2 5e-4. ` +
      `Ratios in the cost table are time / baseline (higher = slower).`,
    '',
    cost,
    '',
    `Accuracy on the balanced test set (2,000 images). SAU: ${EPOCHS} epochs over real + SMOTE data (each class topped up to ${TOP_UP}), 'flip' views.`,
    '',
    acc,
  ].join('\n');
  console.log(markdown);
  writeBenchSection('sau', markdown);
  train.x.dispose();
  test.x.dispose();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
