/**
 * `npx tsx bench/fmnist-cnn.ts`: why the small CNN's cross-entropy baseline (decoupled's stage 1) fell
 * below the MLP on Fashion-MNIST-LT IF 100 — controlled runs that change one thing at a time (feature
 * vector, optimizer / schedule, width) on the protocol's data (docs/benchmarks.md), written to the
 * `fmnist-cnn` section of docs/benchmarks.md.
 *
 * Options (all optional):
 *   --epochs N        epochs of every variant (default 5: a diagnosis, not the protocol's 30)
 *   --seeds 0[,1]     seeds (default 0)
 *   --only ID[,ID]    variants to run (default all)
 *   --train-limit N   train on the first N images of the IF 100 split per class order (default all 14,886)
 *   --json FILE       also write the records; --report FILE[,FILE] rebuilds the table from them (no training)
 *   --write           update docs/benchmarks.md
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import {
  cnnBackbone,
  classifier,
  seededRng,
  trainer,
  crossEntropyLoss,
  linearHead,
  useBackend,
  type CnnBackboneOptions,
  type FeatureStats,
  type LabeledData,
  type LrScheduleSpec,
  type Model,
  type OptimizerSpec,
} from '../src/index.js';
import { disposeSplit, loadSource, makeSplit, splitsDir } from './fmnist-data.js';
import { referenceModel } from './fmnist-rows.js';
import { environmentLine, writeBenchSection } from './util.js';

/** One controlled configuration of the CNN and its training. */
interface Variant {
  readonly id: string;
  readonly label: string;
  readonly cnn: Omit<CnnBackboneOptions, 'inputShape' | 'rng'>;
  readonly optimizer: OptimizerSpec;
  readonly schedule: LrScheduleSpec;
  /**
   * Input scaling: the protocol's per-pixel standardisation ('perPixel'; near-constant border pixels get
   * σ ≈ 4e-4, so a rare non-zero value becomes up to ±213 in the test set) or one scalar mean and std over all pixels of the
   * 60,000 training images ('global', the usual CNN preprocessing). Default 'perPixel'.
   */
  readonly input?: 'perPixel' | 'global';
}

const SGD_KANG: OptimizerSpec = { kind: 'sgd', learningRate: 0.1, momentum: 0.9, weightDecay: 5e-4 };
const ADAM: OptimizerSpec = { kind: 'adam', learningRate: 1e-3, weightDecay: 5e-4 };
const COSINE: LrScheduleSpec = { kind: 'cosine' };
const CONSTANT: LrScheduleSpec = { kind: 'constant' };

/** The protocol's MLP 784-256 with Adam: the architecture the CNN must beat (not a CNN variant). */
const MLP_ID = 'mlp';

const VARIANTS: readonly Variant[] = [
  { id: MLP_ID, label: 'reference: MLP 784-256, Adam 1e-3 (the protocol\'s MLP row)', cnn: { channels: [] }, optimizer: ADAM, schedule: CONSTANT },
  { id: 'gap-sgd', label: 'old default: [16, 32], global average (32-d), SGD 0.1 cosine', cnn: { channels: [16, 32] }, optimizer: SGD_KANG, schedule: COSINE },
  { id: 'gap-adam', label: '[16, 32], global average (32-d), Adam 1e-3', cnn: { channels: [16, 32] }, optimizer: ADAM, schedule: CONSTANT },
  { id: 'gap-sgd-lr01', label: '[16, 32], global average (32-d), SGD 0.01 cosine', cnn: { channels: [16, 32] }, optimizer: { ...SGD_KANG, learningRate: 0.01 }, schedule: COSINE },
  { id: 'gap-wide', label: '[32, 64], global average (64-d), SGD 0.1 cosine', cnn: { channels: [32, 64] }, optimizer: SGD_KANG, schedule: COSINE },
  { id: 'flat-sgd', label: '[16, 32], flatten (7·7·32 = 1568-d), SGD 0.1 cosine', cnn: { channels: [16, 32], features: 'flatten' }, optimizer: SGD_KANG, schedule: COSINE },
  { id: 'flat-adam', label: '[16, 32], flatten (1568-d), Adam 1e-3', cnn: { channels: [16, 32], features: 'flatten' }, optimizer: ADAM, schedule: CONSTANT },
  { id: 'flat-dense-sgd', label: '[16, 32], flatten → dense 128, SGD 0.1 cosine', cnn: { channels: [16, 32], features: 'flatten', denseSizes: [128] }, optimizer: SGD_KANG, schedule: COSINE },
  { id: 'gap-sgd-global', label: '[16, 32], global average (32-d), SGD 0.1 cosine, global pixel scaling', cnn: { channels: [16, 32] }, optimizer: SGD_KANG, schedule: COSINE, input: 'global' },
  { id: 'flat-sgd-global', label: '[16, 32], flatten (1568-d), SGD 0.1 cosine, global pixel scaling', cnn: { channels: [16, 32], features: 'flatten' }, optimizer: SGD_KANG, schedule: COSINE, input: 'global' },
  { id: 'flat-dense-sgd-lr01', label: '[16, 32], flatten → dense 128, SGD 0.01 cosine', cnn: { channels: [16, 32], features: 'flatten', denseSizes: [128] }, optimizer: { ...SGD_KANG, learningRate: 0.01 }, schedule: COSINE },
];

interface CnnRecord {
  readonly variant: string;
  readonly seed: number;
  readonly epochs: number;
  readonly trainImages: number;
  readonly trainTop1: number;
  readonly balanced: number;
  readonly many: number;
  readonly medium: number;
  readonly seconds: number;
}

function images(data: LabeledData, limit: number | null): LabeledData {
  if (limit === null) return { ...data, x: tf.reshape(data.x, [-1, 28, 28, 1]) };
  return tf.tidy(() => ({ ...data, x: tf.reshape(tf.slice(data.x, [0, 0], [limit, -1]), [-1, 28, 28, 1]), y: data.y.slice(0, limit) }));
}

/** Per-pixel standardised images → one scalar mean and std of the 60,000 training images' pixels. */
function globallyScaled(x: tf.Tensor, stats: FeatureStats): tf.Tensor {
  return tf.tidy(() => {
    const raw = tf.add(tf.mul(x, tf.reshape(tf.add(tf.tensor1d(stats.std), stats.epsilon), [1, 28, 28, 1])), tf.reshape(tf.tensor1d(stats.mean), [1, 28, 28, 1]));
    // The per-pixel means average to the global mean; the global variance is the mean of σ_d² + μ_d² minus its square.
    let m = 0;
    let m2 = 0;
    stats.mean.forEach((mu, i) => {
      m += mu;
      m2 += (stats.std[i] as number) ** 2 + mu * mu;
    });
    m /= stats.mean.length;
    const sd = Math.sqrt(m2 / stats.mean.length - m * m);
    return tf.div(tf.sub(raw, m), sd);
  });
}

async function runVariant(v: Variant, seed: number, epochs: number, trainIn: LabeledData, testIn: LabeledData, stats: FeatureStats): Promise<CnnRecord> {
  const global = v.input === 'global';
  const train = global ? { ...trainIn, x: globallyScaled(trainIn.x, stats) } : trainIn;
  const test = global ? { ...testIn, x: globallyScaled(testIn.x, stats) } : testIn;
  const rng = seededRng(seed).fork('cnn');
  const isMlp = v.id === MLP_ID;
  const model = isMlp
    ? referenceModel('mlp', seed)
    : (() => {
        const backbone = cnnBackbone({ inputShape: [28, 28, 1], rng: rng.fork('backbone'), ...v.cnn });
        return classifier({ backbone, head: linearHead({ inputDim: backbone.outputDim, numClasses: 10, rng: rng.fork('head') }) });
      })();
  if (isMlp) {
    // The MLP takes the flat 784 pixels (same values).
    const flatTrain = { ...train, x: tf.reshape(train.x, [-1, 784]) };
    const flatTest = { ...test, x: tf.reshape(test.x, [-1, 784]) };
    try {
      return await fitAndScore(v, seed, epochs, model, flatTrain, flatTest);
    } finally {
      tf.dispose([flatTrain.x, flatTest.x]);
      if (global) tf.dispose([train.x, test.x]);
    }
  }
  try {
    return await fitAndScore(v, seed, epochs, model, train, test);
  } finally {
    if (global) tf.dispose([train.x, test.x]);
  }
}

async function fitAndScore(v: Variant, seed: number, epochs: number, model: Model, train: LabeledData, test: LabeledData): Promise<CnnRecord> {
  const loop = trainer({ model, loss: crossEntropyLoss(), seed, epochs, batchSize: 256, optimizer: v.optimizer, learningRate: v.schedule, progress: 'none' });
  const t0 = performance.now();
  try {
    await loop.fit(train);
    const report = loop.evaluate(test);
    const fitted = loop.evaluate(train);
    const groups = report.groups;
    return {
      variant: v.id,
      seed,
      epochs,
      trainImages: train.y.length,
      trainTop1: 100 * fitted.top1,
      balanced: 100 * report.balancedAccuracy,
      many: 100 * (groups?.many.accuracy ?? Number.NaN),
      medium: 100 * (groups?.medium.accuracy ?? Number.NaN),
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    loop.dispose();
    model.dispose();
  }
}

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

function table(records: readonly CnnRecord[]): string {
  const lines = [
    '| variant | train top-1 | balanced test | Δ vs old default | many | medium | seeds | s / run |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  const base = records.filter((r) => r.variant === 'gap-sgd');
  const baseBalanced = base.length > 0 ? mean(base.map((r) => r.balanced)) : Number.NaN;
  for (const v of VARIANTS) {
    const rs = records.filter((r) => r.variant === v.id);
    if (rs.length === 0) continue;
    const f = (k: keyof CnnRecord): string => mean(rs.map((r) => r[k] as number)).toFixed(2);
    const delta = v.id === 'gap-sgd' || !Number.isFinite(baseBalanced) ? '–' : `${mean(rs.map((r) => r.balanced)) >= baseBalanced ? '+' : ''}${(mean(rs.map((r) => r.balanced)) - baseBalanced).toFixed(2)}`;
    lines.push(`| ${v.label} | ${f('trainTop1')} | ${f('balanced')} | ${delta} | ${f('many')} | ${f('medium')} | ${rs.map((r) => r.seed).join(', ')} | ${mean(rs.map((r) => r.seconds)).toFixed(0)} |`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      epochs: { type: 'string' },
      seeds: { type: 'string' },
      only: { type: 'string' },
      'train-limit': { type: 'string' },
      json: { type: 'string' },
      report: { type: 'string' },
      write: { type: 'boolean' },
    },
    strict: true,
  });
  let records: CnnRecord[] = [];
  let env = environmentLine();
  if (values.report !== undefined) {
    // Records of separate runs merged (FILE[,FILE]).
    const parts = values.report.split(',').map((f) => JSON.parse(readFileSync(f, 'utf8')) as { env: string; records: CnnRecord[] });
    records = parts.flatMap((p) => p.records);
    env = parts[0]?.env ?? env;
  } else {
    const epochs = Number(values.epochs ?? 5);
    const seeds = (values.seeds ?? '0').split(',').map(Number);
    const only = values.only?.split(',') ?? null;
    const limit = values['train-limit'] === undefined ? null : Number(values['train-limit']);
    const info = await useBackend('wasm');
    env = `${environmentLine()}, backend ${info.backend} (SIMD ${info.simd})`;
    const source = await loadSource(undefined);
    const split = await makeSplit('ir100', source, { splitsDir: splitsDir(undefined), epochs, batchSize: 256 });
    const train = images(split.train, limit);
    const test = images(split.test, null);
    try {
      for (const seed of seeds) {
        for (const v of VARIANTS) {
          if (only !== null && !only.includes(v.id)) continue;
          const r = await runVariant(v, seed, epochs, train, test, source.stats);
          records.push(r);
          console.log(`${v.id.padEnd(22)} seed ${seed}: train ${r.trainTop1.toFixed(2)} balanced ${r.balanced.toFixed(2)} many ${r.many.toFixed(2)} medium ${r.medium.toFixed(2)} ${r.seconds.toFixed(0)} s`);
          if (values.json !== undefined) writeFileSync(values.json, `${JSON.stringify({ env, records }, null, 1)}\n`);
        }
      }
    } finally {
      train.x.dispose();
      test.x.dispose();
      disposeSplit(split);
    }
  }
  const epochsUsed = [...new Set(records.map((r) => r.epochs))].join(', ');
  const imagesUsed = [...new Set(records.map((r) => r.trainImages))].join(', ');
  const markdown = [
    '## The small CNN on Fashion-MNIST-LT IF 100: cross-entropy diagnosis (`npx tsx bench/fmnist-cnn.ts`)',
    '',
    `${env}; ${epochsUsed} epochs, ${imagesUsed} training images of the IF 100 split, batch 256, plain cross-entropy, the`,
    'protocol\'s standardised pixels, evaluated on the balanced 10,000-image test set (balanced accuracy, %). Controlled',
    'runs: each CNN row changes one thing against the old default of decoupled\'s stage 1 (global average pooling,',
    'SGD 0.1 cosine); the MLP row is the architecture the CNN must beat, at the same budget. A short budget, so the',
    'absolute numbers are below the 30-epoch protocol; the ordering is what the rows show.',
    '',
    table(records),
  ].join('\n');
  console.log(`\n${markdown}\n`);
  if (values.write === true) writeBenchSection('fmnist-cnn', markdown);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
