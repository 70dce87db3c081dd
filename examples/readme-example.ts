/**
 * The README's example, kept here so `npm test` type-checks it (test/examples checks it matches README.md).
 * Needs Debian's dataset-fashion-mnist (or pass `dir` to loadFashionMnist).
 */
import { createClassifier, createRng, createTrainer, formatReport, fromArrays, linearHead,
  loadFashionMnist, logitAdjustedLoss, mlpBackbone, useBackend } from '../src/index.js';

await useBackend('wasm'); // fast on CPU, no native binary
const load = async (split: 'train' | 'test') => fromArrays({ ...(await loadFashionMnist({ split })), sampleShape: [784] }, { scale: 1 / 255 });
const train = await load('train'); // your long-tailed data
const test = await load('test');
const rng = createRng(0);
const model = createClassifier({
  backbone: mlpBackbone({ inputDim: 784, hiddenSizes: [256], rng: rng.fork('backbone') }),
  head: linearHead({ inputDim: 256, numClasses: 10, rng: rng.fork('head') }),
});
const trainer = createTrainer({ model, loss: logitAdjustedLoss(), seed: 0, epochs: 30, batchSize: 256 });
await trainer.fit(train);
console.log(formatReport(trainer.evaluate(test))); // top-1, balanced, per-class, many/medium/few, ECE
