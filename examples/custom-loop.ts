/**
 * A custom training loop with a single library loss, on the shipped long-tailed Fashion-MNIST subset
 * (1,485 training images, imbalance factor 100; balanced 2,000-image test set).
 *
 * Part 1: your own tfjs loop. You own the variables, the optimizer, the batching and the `tf.tidy`, and
 *   take only the loss from the library: the functional `logitAdjustedCrossEntropy` (Menon et al., ICLR
 *   2021) against plain `crossEntropy`, same seed, same everything else.
 * Part 2: your own loop around the library's Trainer, one `trainer.step(x, labels)` per batch: the
 *   trainer does the forward pass, loss, gradients and optimizer update; you choose the batches.
 *
 * Run: `npx tsx examples/custom-loop.ts`. `EXAMPLE_EPOCHS=2` shortens it.
 * In your project, import from 'longtail' instead of '../src/index.js'.
 */
import * as tf from '@tensorflow/tfjs';
import {
  classifier,
  seededRng,
  trainer,
  crossEntropy,
  evaluatePredictions,
  featureStats,
  formatReport,
  fromArrays,
  linearHead,
  loadFashionMnistLTSubset,
  logitAdjustedCrossEntropy,
  logitAdjustedLoss,
  mlpBackbone,
  permutation,
  standardizeArrays,
  useBackend,
  type LabeledData,
  type Rng,
} from '../src/index.js';

const EPOCHS = Number(process.env['EXAMPLE_EPOCHS'] ?? 15);
const BATCH = 128;
const HIDDEN = 128;
const NUM_CLASSES = 10;

await useBackend('wasm');
const subset = await loadFashionMnistLTSubset();
// Standardise with the training set's per-pixel statistics: (x/255 − μ) / (σ + 1e-3).
const stats = featureStats(subset.train, { scale: 1 / 255 });
const flat = (a: typeof subset.train) => ({ ...standardizeArrays(a, stats), sampleShape: [784] });
const train = fromArrays(flat(subset.train));
const test = fromArrays(flat(subset.test));
const classCounts = new Array<number>(NUM_CLASSES).fill(0);
for (const y of train.y) classCounts[y] = (classCounts[y] ?? 0) + 1;
console.log(`training counts per class: ${classCounts.join(', ')}`);

// ---------------------------------------------------------------------------------------------------
// Part 1: a plain tfjs loop; the library supplies one per-sample loss kernel.
// ---------------------------------------------------------------------------------------------------

/** He-normal weights from the run's Rng: the same seed gives the same network on every backend. */
function heNormal(rng: Rng, fanIn: number, fanOut: number): tf.Variable {
  const values = new Float32Array(fanIn * fanOut);
  const std = Math.sqrt(2 / fanIn);
  for (let i = 0; i < values.length; i++) values[i] = rng.normal() * std;
  // tidy frees the initial tensor and keeps the variable (variables are never tidied).
  return tf.tidy(() => tf.variable(tf.tensor2d(values, [fanIn, fanOut])));
}

type PerSampleLoss = (logits: tf.Tensor2D, labels: tf.Tensor1D) => tf.Tensor1D;

function trainOwnLoop(perSample: PerSampleLoss, seed: number): number {
  const rng = seededRng(seed);
  const w1 = heNormal(rng.fork('w1'), 784, HIDDEN);
  const b1 = tf.tidy(() => tf.variable(tf.zeros([HIDDEN])));
  const w2 = heNormal(rng.fork('w2'), HIDDEN, NUM_CLASSES);
  const b2 = tf.tidy(() => tf.variable(tf.zeros([NUM_CLASSES])));
  const vars = [w1, b1, w2, b2];
  const forward = (x: tf.Tensor): tf.Tensor2D => tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(x, w1), b1)), w2), b2) as tf.Tensor2D;
  const optimizer = tf.train.adam(1e-3);
  const order = rng.fork('batches');
  const n = train.y.length;
  const labels = tf.tensor1d(train.y, 'int32');

  for (let epoch = 0; epoch < EPOCHS; epoch++) {
    const perm = permutation(order, n);
    for (let start = 0; start < n; start += BATCH) {
      // Everything made in the step (batch, logits, gradients) is freed by tf.tidy; Adam's slots are
      // variables, which tidy keeps.
      tf.tidy(() => {
        const idx = tf.tensor1d(perm.subarray(start, Math.min(start + BATCH, n)), 'int32');
        const xb = tf.gather(train.x, idx);
        const yb = tf.gather(labels, idx) as tf.Tensor1D;
        const { grads } = tf.variableGrads(() => tf.mean(perSample(forward(xb), yb)) as tf.Scalar, vars);
        optimizer.applyGradients(vars.map((v) => ({ name: v.name, tensor: grads[v.name] as tf.Tensor })));
      });
    }
  }

  const predictions = tf.tidy(() => tf.argMax(forward(test.x), 1).dataSync() as Int32Array);
  const report = evaluatePredictions({ numClasses: NUM_CLASSES, trainCounts: classCounts, labels: test.y, predictions });
  optimizer.dispose();
  tf.dispose([...vars, labels]);
  return report.balancedAccuracy;
}

const before = tf.memory().numTensors;
// validate: false skips the per-call label check (one synchronous read); the labels were checked on load.
const ce = trainOwnLoop((z, y) => crossEntropy(z, y, { validate: false }), 0);
const la = trainOwnLoop((z, y) => logitAdjustedCrossEntropy(z, y, { classCounts, tau: 1, validate: false }), 0);
console.log(`own loop, ${EPOCHS} epochs: balanced accuracy  plain CE ${pct(ce)}  logit-adjusted ${pct(la)}  (${pct(la - ce, true)})`);
console.log(`tensors alive after both runs: ${tf.memory().numTensors} (before: ${before})`);

// ---------------------------------------------------------------------------------------------------
// Part 2: your loop, the library's Trainer: one trainer.step() per batch you choose.
// ---------------------------------------------------------------------------------------------------

const rng = seededRng(1);
const model = classifier({
  backbone: mlpBackbone({ inputDim: 784, hiddenSizes: [HIDDEN], rng: rng.fork('backbone') }),
  head: linearHead({ inputDim: HIDDEN, numClasses: NUM_CLASSES, rng: rng.fork('head') }),
});
// The loss gets the counts itself: outside fit() the trainer has not seen the training set.
const loop = trainer({ model, loss: logitAdjustedLoss({ classCounts }), seed: 1, epochs: EPOCHS, batchSize: BATCH, progress: 'none' });
const batchRng = rng.fork('batches');
for (let epoch = 0; epoch < EPOCHS; epoch++) {
  const perm = permutation(batchRng, train.y.length);
  let sum = 0;
  let steps = 0;
  for (let start = 0; start < perm.length; start += BATCH) {
    const idx = perm.subarray(start, Math.min(start + BATCH, perm.length));
    const batch = gatherRows(train, idx);
    sum += loop.step(batch.x, batch.y).loss; // forward, loss, gradients, Adam update
    batch.x.dispose();
    steps++;
  }
  if (epoch === 0 || epoch === EPOCHS - 1) console.log(`trainer.step loop: epoch ${epoch + 1}/${EPOCHS} mean loss ${(sum / steps).toFixed(4)}`);
}
const report = loop.evaluate(test, { trainCounts: classCounts });
console.log(`trainer.step loop: balanced accuracy ${pct(report.balancedAccuracy)}`);
console.log(formatReport(report, { perClass: false, title: 'MLP + logit-adjusted loss, custom loop around trainer.step()' }));

loop.dispose();
model.dispose();
tf.dispose([train.x, test.x]);

/** Rows `idx` of a data set as a new tensor the caller owns, with their labels. */
function gatherRows(data: LabeledData, idx: Int32Array): { x: tf.Tensor; y: Int32Array } {
  const x = tf.tidy(() => tf.gather(data.x, tf.tensor1d(idx, 'int32')));
  return { x, y: Int32Array.from(idx, (i) => data.y[i] as number) };
}

function pct(v: number, signed = false): string {
  const s = `${(100 * v).toFixed(2)}%`;
  return signed && v >= 0 ? `+${s}` : s;
}
