/**
 * Latent synthesis on features you computed elsewhere (Sharma 2025, "Efficient Long-Tail Learning in
 * Latent Space"): load a feature file, fit one Gaussian per class, top every class up to n_max with
 * synthetic features, and train a linear head on real + synthetic features — compared with the same head
 * trained on the real features alone.
 *
 * The shipped features (examples/data/fmnist-lt-features/) are 32-d penultimate features of a PyTorch MLP
 * encoder trained briefly on the long-tailed Fashion-MNIST subset, saved with numpy.save
 * (scripts/make-example-features.py; see its meta.json). Use your own: `np.save('train-features.npy', F)`
 * (float32 [N, D]) and `np.save('train-labels.npy', y)`, the same for test, or one JSON file per split
 * (`train.json`, `test.json`: `{ "features": [[...], ...], "labels": [...] }`); the library reads them with
 * `readNpyFeaturesLabels` and `loadFeatureJson` (src/data/npy.ts).
 *
 * Run: `npx tsx examples/latent-synthesis.ts [--dir DIR] [--format npy|json]` (a few seconds).
 * `EXAMPLE_EPOCHS=5` shortens it. In your project, import from 'longtail' instead of '../src/index.js'.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import {
  ClassGaussian,
  classifier,
  seededRng,
  trainer,
  crossEntropyLoss,
  featureStats,
  formatReport,
  fromArrays,
  linearHead,
  loadFeatureJson,
  readNpyFeaturesLabels,
  standardizeArrays,
  topUpRequest,
  useBackend,
  type EvaluationReport,
  type LabeledArrays,
  type SynthesisConfig,
} from '../src/index.js';

const { values: args } = parseArgs({
  options: {
    dir: { type: 'string', default: join(dirname(fileURLToPath(import.meta.url)), 'data', 'fmnist-lt-features') },
    format: { type: 'string', default: 'npy' },
  },
});
const dir = args.dir as string;
const format = args.format as string;
if (format !== 'npy' && format !== 'json') throw new Error(`expected --format npy or json. Received: ${format}`);
const EPOCHS = Number(process.env['EXAMPLE_EPOCHS'] ?? 30);
const NUM_CLASSES = 10;
const CLASS_NAMES = ['T-shirt', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

/** One split as typed arrays: x [N·D] float32, sampleShape [D], int labels. */
async function loadSplit(split: 'train' | 'test'): Promise<LabeledArrays> {
  if (format === 'json') return loadFeatureJson(join(dir, `${split}.json`));
  return readNpyFeaturesLabels({ features: join(dir, `${split}-features.npy`), labels: join(dir, `${split}-labels.npy`) });
}

await useBackend('wasm');
const [rawTrain, rawTest] = await Promise.all([loadSplit('train'), loadSplit('test')]);
const dim = rawTrain.sampleShape[0] as number;
// Standardise each feature with the training statistics (scale 1: these are features, not pixels).
const stats = featureStats(rawTrain, { scale: 1 });
const train = fromArrays(standardizeArrays(rawTrain, stats));
const test = fromArrays(standardizeArrays(rawTest, stats));

const counts = new Array<number>(NUM_CLASSES).fill(0);
for (const y of train.y) counts[y] = (counts[y] ?? 0) + 1;
console.log(`loaded ${format}: train ${train.y.length}×${dim}, test ${test.y.length}×${dim} from ${dir}`);
console.log(`real features per class:      ${counts.join(', ')}`);
console.log(`synthetic per class (to n_max): ${Array.from(topUpRequest(counts, { kind: 'toMax' })).join(', ')}`);

/** A linear head on the features (identity backbone), trained with plain cross-entropy, optionally with synthesis. */
async function trainHead(synthesis: SynthesisConfig | undefined): Promise<EvaluationReport> {
  const model = classifier({ head: linearHead({ inputDim: dim, numClasses: NUM_CLASSES, rng: seededRng(0).fork('head') }) });
  const loop = trainer({
    model,
    loss: crossEntropyLoss(),
    seed: 0,
    epochs: EPOCHS,
    batchSize: 128,
    optimizer: { kind: 'adam', learningRate: 3e-3 },
    progress: 'none',
    ...(synthesis === undefined ? {} : { synthesis }),
  });
  await loop.fit(train);
  const report = loop.evaluate(test);
  loop.dispose();
  model.dispose();
  return report;
}

const plain = await trainHead(undefined);
// ClassGaussian: per class μ_c and a Ledoit–Wolf shrunk Σ_c from the real features; synthetic features
// μ_c + L_c·z. `source: 'inputs'`: the synthesizer observes the inputs themselves (the features), since the
// identity backbone makes inputs and embeddings the same thing.
const synthesizer = new ClassGaussian({ numClasses: NUM_CLASSES, covariance: 'ledoitWolf' });
const synthesized = await trainHead({ synthesizer, source: 'inputs', topUp: { kind: 'toMax' } });
synthesizer.dispose();

console.log(formatReport(plain, { classNames: CLASS_NAMES, title: 'linear head on the real features (plain CE)' }));
console.log();
console.log(formatReport(synthesized, { classNames: CLASS_NAMES, title: 'linear head on real + ClassGaussian features topped up to n_max' }));
console.log();
const pct = (v: number) => `${(100 * v).toFixed(2)}%`;
console.log(`balanced accuracy: real only ${pct(plain.balancedAccuracy)}, with latent synthesis ${pct(synthesized.balancedAccuracy)}`);
console.log(`few-shot accuracy: real only ${pct(plain.groups?.few.accuracy ?? Number.NaN)}, with latent synthesis ${pct(synthesized.groups?.few.accuracy ?? Number.NaN)}`);
tf.dispose([train.x, test.x]);
