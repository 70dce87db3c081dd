/**
 * The README's 15-line example, type-checked and runnable in this repository (`npx tsx examples/quickstart.ts`).
 * Users import from 'longtail'; here the source is imported so the example checks against it.
 */
import { classifier, seededRng, trainer, formatReport, fromArrays, linearHead, loadFashionMnistLTSubset, logitAdjustedLoss, mlpBackbone, useBackend } from '../src/index.js';

await useBackend('wasm'); // fast on CPU, no native binary
const { train: rawTrain, test: rawTest } = await loadFashionMnistLTSubset(); // long-tailed, IF 100
const train = fromArrays({ ...rawTrain, sampleShape: [784] }, { scale: 1 / 255 });
const test = fromArrays({ ...rawTest, sampleShape: [784] }, { scale: 1 / 255 });
const rng = seededRng(0);
const model = classifier({
  backbone: mlpBackbone({ inputDim: 784, hiddenSizes: [256], rng: rng.fork('backbone') }),
  head: linearHead({ inputDim: 256, numClasses: 10, rng: rng.fork('head') }),
});
const loop = trainer({ model, loss: logitAdjustedLoss(), seed: 0, epochs: 20, batchSize: 128 });
await loop.fit(train);
console.log(formatReport(loop.evaluate(test), { perClass: false })); // top-1, balanced, many/medium/few, ECE
