/**
 * Model benchmarks: one SGD training step (forward, cross-entropy, gradients, update) of the library's
 * models against the same architecture built with tf.layers (baseline, measured in the same run), plus
 * eval-mode forward throughput. Run: `npx tsx bench/models.ts` (writes the `models` section of
 * docs/benchmarks.md).
 */
import * as tf from '@tensorflow/tfjs';
import { useBackend, type BackendName } from '../src/backends/index.js';
import { seededRng } from '../src/core/rng.js';
import { cnnBackbone, classifier, linearHead, mlpBackbone, type Model } from '../src/models/index.js';
import { environmentLine, markdownTable, ms, speedup, timeMedian, writeBenchSection } from './util.js';

function crossEntropy(logits: tf.Tensor2D, oneHot: tf.Tensor2D): tf.Scalar {
  return tf.neg(tf.mean(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits)), 1))) as tf.Scalar;
}

interface Workload {
  readonly name: string;
  readonly backends: readonly BackendName[];
  readonly inputShape: number[];
  readonly batch: number;
  readonly numClasses: number;
  readonly ours: () => Model;
  readonly layers: () => tf.LayersModel;
}

const WORKLOADS: Workload[] = [
  {
    name: 'MLP 784-256-10 train step, batch 256',
    backends: ['cpu', 'wasm'],
    inputShape: [784],
    batch: 256,
    numClasses: 10,
    ours: () => {
      const rng = seededRng(0);
      return classifier({
        backbone: mlpBackbone({ inputDim: 784, hiddenSizes: [256], rng }),
        head: linearHead({ inputDim: 256, numClasses: 10, rng }),
      });
    },
    layers: () =>
      tf.sequential({
        layers: [
          tf.layers.dense({ inputShape: [784], units: 256, activation: 'relu' }),
          tf.layers.dense({ units: 10 }),
        ],
      }),
  },
  {
    name: 'CNN conv-BN-ReLU-maxpool [16, 32] + GAP + linear, 28×28×1, batch 64',
    backends: ['wasm'],
    inputShape: [28, 28, 1],
    batch: 64,
    numClasses: 10,
    ours: () => {
      const rng = seededRng(0);
      return classifier({
        backbone: cnnBackbone({ inputShape: [28, 28, 1], channels: [16, 32], rng }),
        head: linearHead({ inputDim: 32, numClasses: 10, rng }),
      });
    },
    layers: () => {
      const block = (filters: number, first: boolean): tf.layers.Layer[] => [
        tf.layers.conv2d({ ...(first ? { inputShape: [28, 28, 1] } : {}), filters, kernelSize: 3, padding: 'same', useBias: false }),
        tf.layers.batchNormalization(),
        tf.layers.reLU(),
        tf.layers.maxPooling2d({ poolSize: 2 }),
      ];
      return tf.sequential({
        layers: [...block(16, true), ...block(32, false), tf.layers.globalAveragePooling2d({}), tf.layers.dense({ units: 10 })],
      });
    },
  },
];

function stepTime(forward: (x: tf.Tensor, mode: 'train' | 'eval') => tf.Tensor2D, vars: tf.Variable[], x: tf.Tensor, y: tf.Tensor2D): number {
  const opt = tf.train.sgd(0.01);
  const t = timeMedian(
    () => {
      const cost = opt.minimize(() => crossEntropy(forward(x, 'train'), y), true, vars);
      cost?.dataSync();
      cost?.dispose();
    },
    { warmup: 2, runs: 7 },
  );
  opt.dispose();
  return t;
}

function forwardTime(forward: (x: tf.Tensor, mode: 'train' | 'eval') => tf.Tensor2D, x: tf.Tensor): number {
  return timeMedian(() => {
    const out = tf.tidy(() => forward(x, 'eval'));
    out.dataSync();
    out.dispose();
  });
}

function median(values: number[]): number {
  const v = [...values].sort((a, b) => a - b);
  return v[Math.floor(v.length / 2)] as number;
}

async function main(): Promise<void> {
  const rows: string[][] = [];
  for (const w of WORKLOADS) {
    for (const backend of w.backends) {
      await useBackend(backend);
      const x = tf.randomNormal([w.batch, ...w.inputShape], 0, 1, 'float32', 1);
      const labels = tf.tensor1d(Array.from({ length: w.batch }, (_, i) => i % w.numClasses), 'int32');
      const y = tf.oneHot(labels, w.numClasses) as tf.Tensor2D;
      const ours = w.ours();
      const layers = w.layers();
      const oursFwd = (t: tf.Tensor, mode: 'train' | 'eval') => ours.forward(t, mode).logits;
      const layersFwd = (t: tf.Tensor, mode: 'train' | 'eval') =>
        layers.apply(t, { training: mode === 'train' }) as tf.Tensor2D;
      const layersVars = layers.trainableWeights.map((v) => v.read() as tf.Variable);
      const before = tf.memory().numTensors;
      // Alternating rounds, median over rounds: the machine is shared, so load drifts during a run.
      const rounds = { base: [] as number[], mine: [] as number[], baseF: [] as number[], mineF: [] as number[] };
      for (let r = 0; r < 3; r++) {
        rounds.base.push(stepTime(layersFwd, layersVars, x, y));
        rounds.mine.push(stepTime(oursFwd, [...ours.trainableVariables], x, y));
        rounds.baseF.push(forwardTime(layersFwd, x));
        rounds.mineF.push(forwardTime(oursFwd, x));
      }
      const [base, mine, baseF, mineF] = [rounds.base, rounds.mine, rounds.baseF, rounds.mineF].map(median) as [
        number,
        number,
        number,
        number,
      ];
      const leaked = tf.memory().numTensors - before;
      rows.push([w.name, backend, ms(base), ms(mine), speedup(base, mine), ms(baseF), ms(mineF), speedup(baseF, mineF), String(leaked)]);
      console.log(rows[rows.length - 1]!.join(' | '));
      ours.dispose();
      layers.dispose();
      tf.dispose([x, labels, y]);
    }
  }
  const table = markdownTable(
    [
      'workload',
      'backend',
      'tf.layers step (ms)',
      'longtail step (ms)',
      'step ratio',
      'tf.layers eval fwd (ms)',
      'longtail eval fwd (ms)',
      'fwd ratio',
      'tensors left',
    ],
    rows,
  );
  const md = [
    environmentLine(),
    '',
    'Median over 3 alternating rounds of medians of 7 runs (2 warm-ups). Ratios are tf.layers time / longtail time (> 1: longtail faster) for',
    'the same architecture, batch and SGD step (`optimizer.minimize` on an inline cross-entropy). "wasm"',
    'is `useBackend(\'wasm\')` with whatever kernel fixes the backends module registers at the time of the run.',
    '',
    table,
  ].join('\n');
  console.log(md);
  writeBenchSection('models', md);
}

await main();
