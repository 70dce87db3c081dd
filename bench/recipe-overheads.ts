/**
 * bench/recipe-overheads.ts (`npx tsx bench/recipe-overheads.ts`): what the ltls, synLt and decoupled
 * recipes cost next to plain training, on the shipped Fashion-MNIST-LT subset (1,485 images; the
 * default MLP 784-256; batch 256; wasm):
 * - ltls: a head-only step on frozen features vs a full-model step on images; the one-off class-Gaussian
 *   fit + top-up draw (4,515 features of width 256) vs one eval pass over the training images;
 * - synLt: one synthesis round with the seed hyperparameters (embeddings, 4,515 proposals, T = 5,
 *   200 Sinkhorn iterations, reservoir 512) vs one training epoch;
 * - decoupled: a stage-2 step (frozen backbone, head trainable) vs a stage-1 step; the τ-norm stage
 *   (search over 21 τ on 500 validation images, then applying τ) vs one eval pass over those images.
 * Writes its section of docs/benchmarks.md.
 */
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../src/backends/index.js';
import { seededRng } from '../src/core/rng.js';
import { featureStats, fromArrays, loadFashionMnistLTSubset, standardizeArrays, type LabeledArrays, type LabeledData } from '../src/data/index.js';
import { crossEntropyLoss } from '../src/losses/index.js';
import { classifier, linearHead, mlpBackbone } from '../src/models/index.js';
import { decoupled } from '../src/recipes/decoupled.js';
import { extractFeatures } from '../src/recipes/features.js';
import { ClassGaussian, OtDistributionMatching, topUpRequest } from '../src/synth/index.js';
import { trainer } from '../src/train/trainer.js';
import { environmentLine, markdownTable, ms, speedup, timeMedian, writeBenchSection } from './util.js';

const BATCH = 256;
const HIDDEN = 256;

async function main(): Promise<void> {
  const info = await useBackend('wasm');
  const sub = await loadFashionMnistLTSubset();
  const flat = (a: LabeledArrays): LabeledArrays => ({ ...a, sampleShape: [784] });
  const stats = featureStats(flat(sub.train), { scale: 1 / 255 });
  const train = fromArrays(standardizeArrays(flat(sub.train), stats));
  const te = standardizeArrays(flat(sub.test), stats);
  const valRows = Array.from({ length: 500 }, (_, i) => i * 4);
  const testAll = fromArrays(te);
  const validation: LabeledData = { x: tf.tidy(() => tf.gather(testAll.x, valRows)), y: Int32Array.from(valRows, (i) => te.y[i] as number) };
  testAll.x.dispose();

  // A CE-trained MLP: the frozen encoder of ltls, the model synLt synthesises for, decoupled's stage 1.
  const rng = seededRng(0);
  const model = classifier({
    backbone: mlpBackbone({ inputDim: 784, hiddenSizes: [HIDDEN], rng: rng.fork('backbone') }),
    head: linearHead({ inputDim: HIDDEN, numClasses: 10, rng: rng.fork('head') }),
  });
  const full = trainer({ model, loss: crossEntropyLoss(), seed: 0, epochs: 3, batchSize: BATCH, progress: 'none' });
  await full.fit(train);
  const idx = Int32Array.from({ length: BATCH }, (_, i) => (i * 97) % train.y.length);
  const xb = tf.gather(train.x, tf.tensor1d(idx, 'int32'));
  const yb = Int32Array.from(idx, (i) => train.y[i] as number);
  const steps = { warmup: 3, runs: 15 };
  const tFullStep = timeMedian(() => full.step(xb, yb), steps);

  // ltls
  const features = extractFeatures(model, train.x);
  const fb = extractFeatures(model, xb);
  const head = classifier({ head: linearHead({ inputDim: HIDDEN, numClasses: 10, rng: rng.fork('ltls') }) });
  const headTrainer = trainer({ model: head, loss: crossEntropyLoss(), seed: 0, epochs: 1, batchSize: BATCH, progress: 'none' });
  const tHeadStep = timeMedian(() => headTrainer.step(fb, yb), steps);
  const tEmbed = timeMedian(() => extractFeatures(model, train.x).dispose(), { warmup: 1, runs: 7 });
  const labels = tf.tensor1d(train.y, 'int32');
  const tGaussian = timeMedian(
    () => {
      const g = new ClassGaussian({ numClasses: 10 });
      g.observe({ features, labels });
      const drawn = g.sample({ perClass: topUpRequest(g.observedCounts()) }, seededRng(1));
      drawn.features.dispose();
      drawn.labels.dispose();
      g.dispose();
    },
    { warmup: 1, runs: 5 },
  );

  // synLt: one round as the trainer runs it (embed, observe, propose, refine, accept).
  const roundRuns = 3;
  const tRound = timeMedian(
    () => {
      const m = new OtDistributionMatching({ numClasses: 10 });
      const emb = extractFeatures(model, train.x);
      m.observe({ features: emb, labels });
      emb.dispose();
      const out = m.sample({ perClass: topUpRequest(m.observedCounts()), head: (f) => model.head(f) }, seededRng(2));
      out.features.dispose();
      out.labels.dispose();
      m.dispose();
    },
    { warmup: 1, runs: roundRuns },
  );
  const tEpoch = tFullStep * Math.ceil(train.y.length / BATCH);

  // decoupled
  const crt = decoupled({ seed: 0, numClasses: 10, inputDim: 784, method: 'cRT', epochs: 1, batchSize: BATCH, stage2: { epochs: 1 }, progress: 'none' });
  await crt.fit(train);
  const stage2 = crt.classifierTrainer as NonNullable<typeof crt.classifierTrainer>;
  const tStage2Step = timeMedian(() => stage2.step(xb, yb), steps);
  const tEvalVal = timeMedian(() => full.logits(validation.x).dispose(), { warmup: 1, runs: 7 });
  // The τ-norm stage runs once per run: time it over several runs, each after its own stage 1.
  const tauTimes: number[] = [];
  for (let i = 0; i < 4; i++) {
    const run = decoupled({ seed: i, numClasses: 10, inputDim: 784, method: 'tauNorm', epochs: 1, batchSize: BATCH, progress: 'none' });
    await run.representationTrainer.fit(train);
    const t0 = performance.now();
    await run.fit(train, { validation }); // stage 1 is done: only the search and τ's application run
    tauTimes.push(performance.now() - t0);
    run.dispose();
  }
  tauTimes.sort((a, b) => a - b);
  const tTauStage = ((tauTimes[1] as number) + (tauTimes[2] as number)) / 2;

  const rows = [
    ['ltls', `train step, batch ${BATCH}`, `${ms(tFullStep)} ms (full MLP on images)`, `${ms(tHeadStep)} ms (head on frozen features)`, speedup(tFullStep, tHeadStep)],
    ['ltls', 'class Gaussians: fit + 4,515-feature top-up (once)', `${ms(tEmbed)} ms (eval pass, 1,485 images)`, `${ms(tGaussian)} ms`, speedup(tEmbed, tGaussian)],
    ['synLt', 'one synthesis round (seed hyperparameters)', `${ms(tEpoch)} ms (one epoch, ${Math.ceil(train.y.length / BATCH)} steps)`, `${ms(tRound)} ms`, speedup(tEpoch, tRound)],
    ['decoupled', `train step, batch ${BATCH}`, `${ms(tFullStep)} ms (stage 1)`, `${ms(tStage2Step)} ms (stage 2, frozen backbone)`, speedup(tFullStep, tStage2Step)],
    ['decoupled', 'τ-norm stage: 21 τ on 500 images', `${ms(tEvalVal)} ms (eval pass, 500 images)`, `${ms(tTauStage)} ms`, speedup(tEvalVal, tTauStage)],
  ];
  const md = [
    `${environmentLine()}, backend ${info.backend} (SIMD ${info.simd}), MLP 784-${HIDDEN}. Median of ${steps.runs} steps, ${roundRuns} synthesis rounds, 4 τ-norm stages; ratio = baseline / recipe (below 1× = the recipe's part is slower).`,
    '',
    markdownTable(['recipe', 'what', 'baseline', 'recipe', 'ratio'], rows),
  ].join('\n');
  console.log(md);
  writeBenchSection('recipe-overheads', `## ltls, synLt and decoupled: overheads\n\n${md}`);

  crt.dispose();
  for (const t of [features, fb, labels, xb, train.x, validation.x]) t.dispose();
  headTrainer.dispose();
  head.dispose();
  full.dispose();
  model.dispose();
}


main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
