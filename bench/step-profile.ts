/**
 * `npm run bench:step`: where the fixed cost of one training step goes, for the frozen-feature linear
 * head (the step a head on precomputed features repeats thousands of times). Each row times one part of
 * the step alone (median of many runs, warm), on the backend given by `--backend` (default wasm), and the
 * table is written to docs/benchmarks.md (`--no-write` to only print).
 *
 * Parts: the whole `fit` step (sampler, gather, step, event-loop yield), `trainer.step` alone, then its
 * pieces: batch gather + label upload, forward + loss without gradients, forward + loss + backward
 * (`valueAndGrads`), the optimizer update, the finiteness probes and their read-back, one event-loop yield.
 */
import * as tf from '@tensorflow/tfjs';
import {
  classifier,
  optimizerFromConfig,
  seededRng,
  trainer,
  crossEntropyLoss,
  evaluateLoss,
  linearHead,
  useBackend,
  type BackendName,
} from '../src/index.js';
import { valueAndGrads } from '../src/advanced.js';
import { environmentLine, markdownTable, ms, timeMedian, writeBenchSection } from './util.js';

interface Shape {
  readonly name: string;
  readonly features: number;
  readonly classes: number;
  readonly batch: number;
}

const SHAPES: readonly Shape[] = [
  { name: 'tabular head 16 → 26', features: 16, classes: 26, batch: 256 },
  { name: 'embedding head 512 → 100', features: 512, classes: 100, batch: 256 },
];

const argv = process.argv.slice(2);
const backendAt = argv.indexOf('--backend');
const backend = (backendAt >= 0 ? argv[backendAt + 1] : 'wasm') as BackendName;
const write = !argv.includes('--no-write');

function setImmediatePromise(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

async function profile(shape: Shape): Promise<string[][]> {
  const rng = seededRng(0);
  const n = shape.batch * 16;
  const x = tf.tensor2d(Float32Array.from({ length: n * shape.features }, () => rng.normal()), [n, shape.features]);
  const y = Int32Array.from({ length: n }, (_, i) => i % shape.classes);
  const model = classifier({ head: linearHead({ inputDim: shape.features, numClasses: shape.classes, rng: rng.fork('head') }) });
  const loss = crossEntropyLoss();
  const optimizerSpec = { kind: 'adam' as const, learningRate: 1e-3, weightDecay: 5e-4 };
  const rows: string[][] = [];
  const add = (part: string, value: number): void => void rows.push([shape.name, part, ms(value)]);

  // The whole step as fit runs it: 16 batches per epoch, 12 epochs (the first two are warm-up).
  const epochTimes: number[] = [];
  let t0 = 0;
  const t2 = trainer({ model, loss, seed: 0, epochs: 12, batchSize: shape.batch, optimizer: optimizerSpec, progress: 'none', callbacks: [{ onEpochBegin: () => void (t0 = performance.now()), onEpochEnd: () => void epochTimes.push(performance.now() - t0) }] });
  await t2.fit({ x, y });
  t2.dispose();
  epochTimes.splice(0, 2); // warm-up epochs
  epochTimes.sort((a, b) => a - b);
  add('fit: one step (sampler, gather, step, yield)', (epochTimes[Math.floor(epochTimes.length / 2)] as number) / 16);

  const xb = tf.slice(x, 0, shape.batch);
  const yb = y.subarray(0, shape.batch);
  const t3 = trainer({ model, loss, seed: 0, epochs: 1, batchSize: shape.batch, optimizer: optimizerSpec, progress: 'none' });
  add('trainer.step alone', timeMedian(() => void t3.step(xb, yb), { warmup: 20, runs: 101 }));
  t3.dispose();

  const idx = Int32Array.from({ length: shape.batch }, (_, i) => (i * 7) % n);
  add('gather rows + upload labels', timeMedian(() => tf.tidy(() => {
    const g = tf.gather(x, tf.tensor1d(idx, 'int32'));
    tf.tensor1d(yb, 'int32');
    g.dataSync();
  }), { warmup: 20, runs: 101 }));

  const labels = tf.tensor1d(yb, 'int32');
  add('forward + loss (no gradient), one read', timeMedian(() => tf.tidy(() => {
    const logits = model.forward(xb, 'train').logits;
    evaluateLoss(loss, { logits, labels, labelValues: yb }).total.dataSync();
  }), { warmup: 20, runs: 101 }));

  const variables = model.trainableVariables;
  add('forward + loss + backward (valueAndGrads), one read', timeMedian(() => tf.tidy(() => {
    const { value } = valueAndGrads(() => evaluateLoss(loss, { logits: model.forward(xb, 'train').logits, labels, labelValues: yb }).total, variables);
    value.dataSync();
  }), { warmup: 20, runs: 101 }));

  const grads = variables.map((v) => tf.randomNormal(v.shape, 0, 1e-3, 'float32', 1));
  const optimizer = optimizerFromConfig(optimizerSpec);
  add('optimizer update (Adam, L2), one read', timeMedian(() => {
    optimizer.apply(variables, grads, 1e-3);
    (variables[0] as tf.Variable).dataSync();
  }, { warmup: 20, runs: 101 }));
  optimizer.dispose();

  add('finiteness probes of every gradient, one read', timeMedian(() => tf.tidy(() => {
    tf.concat(grads.map((g) => tf.reshape(tf.sum(g), [1]))).dataSync();
  }), { warmup: 20, runs: 101 }));

  const yields: number[] = [];
  for (let i = 0; i < 200; i++) {
    const s = performance.now();
    await setImmediatePromise();
    yields.push(performance.now() - s);
  }
  yields.sort((a, b) => a - b);
  add('one event-loop yield (setImmediate)', yields[100] as number);

  tf.dispose([x, xb, labels, ...grads]);
  model.dispose();
  return rows;
}

async function main(): Promise<void> {
  await useBackend(backend);
  const rows: string[][] = [];
  for (const shape of SHAPES) rows.push(...(await profile(shape)));
  const text = [
    `${environmentLine()}, backend ${backend}; batch 256, library cross-entropy, Adam with L2 5e-4; medians of warm runs (ms).`,
    '',
    markdownTable(['step', 'part', 'ms'], rows),
    '',
    'The parts overlap (the step contains the others); the gap between `trainer.step alone` and the sum of',
    'its pieces is the trainer\'s own bookkeeping (label checks, tidy scopes, batch-norm snapshots).',
  ].join('\n');
  console.log(text);
  if (write) writeBenchSection('step-profile', `### Fixed cost of a training step (bench:step)\n\n${text}`);
}

void main();
