/**
 * The README's example, kept here so `npm test` type-checks it (test/examples checks it matches README.md).
 * Needs Debian's dataset-fashion-mnist (or pass `dir` to loadFashionMnist).
 */
import { classifier, seededRng, trainer, formatReport, fromArrays, gatherBatch, linearHead, loadFashionMnist,
  logitAdjustedLoss, longTailCounts, longTailIndices, mlpBackbone, useBackend } from '../src/index.js';

await useBackend('wasm'); // fast on CPU, no native binary
const load = async (split: 'train' | 'test') => fromArrays({ ...(await loadFashionMnist({ split })), sampleShape: [784] }, { scale: 1 / 255 });
const [balanced, test] = [await load('train'), await load('test')]; // 60,000 balanced training images
const counts = longTailCounts({ profile: 'exponential', numClasses: 10, maxCount: 6000, imbalanceFactor: 100 }); // 6000 … 60
const rng = seededRng(0);
const train = gatherBatch(balanced, longTailIndices(balanced.y, { counts, rng: rng.fork('subset') })); // 14,886 images
const model = classifier({
  backbone: mlpBackbone({ inputDim: 784, hiddenSizes: [256], rng: rng.fork('backbone') }),
  head: linearHead({ inputDim: 256, numClasses: 10, rng: rng.fork('head') }),
});
const loop = trainer({ model, loss: logitAdjustedLoss(), seed: 0, epochs: 30, batchSize: 256 }); // a bar on a TTY, else a line per epoch
await loop.fit(train);
console.log(formatReport(loop.evaluate(test))); // top-1, balanced, per-class, many/medium/few, ECE
