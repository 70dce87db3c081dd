/**
 * bench/granularity.ts (`npx tsx bench/granularity.ts`): what the granularity recipe costs on top of a
 * plain trainer, on the shipped Fashion-MNIST-LT subset split into 6 target + 4 auxiliary classes
 * (MLP 784-256, head of 10 rows, wasm):
 * - one training step with the neighbor-silencing loss vs the same step with the logit-adjusted loss
 *   (the same balanced softmax without silencing) on the same model shape and batch;
 * - the one-off prototype pass (class means of backbone features over the training set) vs one
 *   eval-mode forward pass over the same data.
 * Writes its section of docs/benchmarks.md.
 */
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../src/backends/index.js';
import { seededRng } from '../src/core/rng.js';
import { concatData, featureStats, fromArrays, loadFashionMnistLTSubset, standardizeArrays, withFlags, type LabeledArrays } from '../src/data/index.js';
import { logitAdjustedLoss } from '../src/losses/index.js';
import { auxiliaryHead, classifier, linearHead, mlpBackbone } from '../src/models/index.js';
import { classPrototypes } from '../src/models/encode.js';
import { extractFeatures } from '../src/recipes/features.js';
import { granularity, splitByClasses } from '../src/recipes/granularity.js';
import { trainer } from '../src/train/trainer.js';
import { environmentLine, markdownTable, ms, speedup, timeMedian, writeBenchSection } from './util.js';

const BATCH = 256;

async function main(): Promise<void> {
  const info = await useBackend('wasm');
  const sub = await loadFashionMnistLTSubset();
  const flat = (a: LabeledArrays): LabeledArrays => ({ ...a, sampleShape: [784] });
  const stats = featureStats(flat(sub.train), { scale: 1 / 255 });
  const tr = splitByClasses(standardizeArrays(flat(sub.train), stats));
  const train = fromArrays(tr.target);
  const auxiliary = fromArrays(tr.auxiliary);
  const all = concatData([withFlags(train, { auxiliary: false }), { x: auxiliary.x, y: Int32Array.from(auxiliary.y, (v) => v + 6) }]);
  const x = tf.slice(all.x, [0, 0], [BATCH, 784]);
  // A batch that mixes target and auxiliary samples, as instance sampling gives.
  const idx = Int32Array.from({ length: BATCH }, (_, i) => (i * 97) % all.y.length);
  const xb = tf.gather(all.x, tf.tensor1d(idx, 'int32'));
  const yb = Int32Array.from(idx, (i) => all.y[i] as number);
  x.dispose();

  const run = granularity({ seed: 0, numClasses: 6, auxiliary, epochs: 3, batchSize: BATCH, progress: 'none' });
  await run.fit(train); // 2 warm-up epochs, then neighbours and the silenced mask
  const rng = seededRng(0);
  const model = classifier({
    backbone: mlpBackbone({ inputDim: 784, hiddenSizes: [256], rng: rng.fork('backbone') }),
    head: auxiliaryHead({ head: linearHead({ inputDim: 256, numClasses: 10, rng: rng.fork('head') }), numAuxiliaryClasses: 4 }),
  });
  const plain = trainer({ model, loss: logitAdjustedLoss(), seed: 0, epochs: 1, batchSize: BATCH, optimizer: { kind: 'adam', learningRate: 1e-3, weightDecay: 5e-4 }, progress: 'none' });
  await plain.fit(all);

  const runs = { warmup: 3, runs: 15 };
  const tPlain = timeMedian(() => plain.step(xb, yb), runs);
  const tSilenced = timeMedian(() => run.trainer.step(xb, yb), runs);
  const encode = (b: tf.Tensor): tf.Tensor2D => run.model.forward(b, 'eval').embeddings;
  const tForward = timeMedian(() => {
    const z = run.trainer.logits(all.x);
    z.dataSync();
    z.dispose();
  }, { warmup: 1, runs: 7 });
  // What the recipe does once per fit: batched eval-mode features, then the class means.
  const tProto = timeMedian(() => {
    const f = extractFeatures(encode, all.x);
    classPrototypes(f, all.y, { numClasses: 10 }).means.dispose();
    f.dispose();
  }, { warmup: 1, runs: 7 });

  const rows = [
    [`train step, batch ${BATCH}`, `${ms(tPlain)} ms (logit-adjusted loss)`, `${ms(tSilenced)} ms (neighbor silencing)`, speedup(tPlain, tSilenced)],
    [`prototypes over ${all.y.length} samples (once per fit)`, `${ms(tForward)} ms (eval forward)`, `${ms(tProto)} ms (class means)`, speedup(tForward, tProto)],
  ];
  const md = [
    `${environmentLine()}, backend ${info.backend} (SIMD ${info.simd}). Median of ${runs.runs} steps / 7 passes; ratio = baseline / granularity (below 1× = slower).`,
    '',
    markdownTable(['what', 'baseline', 'granularity', 'ratio'], rows),
  ].join('\n');
  console.log(md);
  writeBenchSection('granularity', `## granularity recipe\n\n${md}`);

  run.dispose();
  plain.dispose();
  model.dispose();
  for (const t of [xb, all.x, train.x, auxiliary.x]) t.dispose();
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
