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
import { setFusedCrossEntropy } from '../src/backends/softmax-ce.js';
import { setHostUpdates } from '../src/train/optimizers.js';
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

/** Runs `profile` with the fused kernels (fused cross-entropy, host optimizer update) on or off. */
async function profileWith(shape: Shape, fused: boolean): Promise<string[][]> {
  const ce = setFusedCrossEntropy(fused);
  const opt = setHostUpdates(fused);
  try {
    return await profile(shape);
  } finally {
    setFusedCrossEntropy(ce);
    setHostUpdates(opt);
  }
}

async function main(): Promise<void> {
  await useBackend(backend);
  const rows: string[][] = [];
  for (const shape of SHAPES) {
    // Unfused, fused, unfused, fused: the median-of-two per variant evens out machine load a little.
    const runs = [await profileWith(shape, false), await profileWith(shape, true), await profileWith(shape, false), await profileWith(shape, true)];
    const best = (a: string[][], b: string[][]) => a.map((row, i) => [row[0] as string, row[1] as string, ms(Math.min(Number(row[2]), Number((b[i] as string[])[2])))]);
    const unfused = best(runs[0] as string[][], runs[2] as string[][]);
    const fused = best(runs[1] as string[][], runs[3] as string[][]);
    unfused.forEach((row, i) => {
      const [a, b] = [Number(row[2]), Number((fused[i] as string[])[2])];
      rows.push([...row, (fused[i] as string[])[2] as string, a > 0 && b > 0 ? `${(a / b).toFixed(1)}×` : '—']);
    });
  }
  const text = [
    `${environmentLine()}, backend ${backend}; batch 256, library cross-entropy, Adam with L2 5e-4; best of two medians of warm runs (ms), per variant.`,
    '"unfused": tfjs-core\'s loss composition and one tfjs op chain per variable for Adam; "fused": the fused softmax cross-entropy kernel (one tape op) and the fused host optimizer update (one JavaScript pass per variable over its memory).',
    '',
    markdownTable(['step', 'part', 'unfused ms', 'fused ms', 'speed-up'], rows),
    '',
    'The parts overlap (the step contains the others); the gap between `trainer.step alone` and the sum of',
    'its pieces is the trainer\'s own bookkeeping (label checks, tidy scopes, batch-norm snapshots). `fit: one step`',
    'is an epoch\'s time over its 16 steps, so it also carries per-epoch work (sampler order, manifest, callbacks).',
    '',
    'Where the fixed cost went, and what is left (CPU profiles of whole `fit` runs on wasm):',
    '- The loss was ~35 tfjs kernels per step (logSoftmax, one-hot, where, sum and their gradients); the fused',
    '  softmax cross-entropy kernel is one kernel and one tape op, its cost is now the exponentials (one per',
    '  logit, `Math.exp`).',
    '- Adam was ~12 kernels per variable; the fused host update is one JavaScript pass per variable of up to',
    '  8,192 values (larger ones stay on the wasm element-wise kernels, which are faster there).',
    '- Left in `Trainer.fit` (the trainer\'s own code): copying the batch rows into a fresh array and uploading',
    '  them (for 256 × 512 features about as long as the step\'s products), the tape, the finiteness read-back,',
    '  per-epoch manifest work. The dedicated head step (src/train/head-step.ts) removes the tape, the upload and',
    '  the per-step kernels for linear heads on features: see bench:runs.',
  ].join('\n');
  console.log(text);
  if (write) writeBenchSection('step-profile', `### Fixed cost of a training step (bench:step)\n\n${text}`);
}

void main();
